package handler

import (
	"fmt"
	"strings"
	"time"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

func init() {
	register(&Kind{
		Name: "discord", Doc: "posts each event as an embed to a Discord webhook",
		Property: &Property{Name: "discord"},
		Options: []Option{
			{Name: "workspace", Type: String, Doc: "the [[discord]] workspace of kapacitor.conf", Default: "the default workspace", Prop: "workspace"},
			{Name: "username", Type: String, Doc: "the user name shown", Default: "username of [discord]", Prop: "username"},
			{Name: "avatar-url", Type: String, Doc: "the avatar shown", Default: "avatar-url of [discord]", Prop: "avatarURL"},
			{Name: "embed-title", Type: String, Doc: "the embed's title (plain text)", Prop: "embedTitle"},
		},
		Section: "discord", Global: true,
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "global": kapconf.Bool, "state-changes-only": kapconf.Bool, "default": kapconf.Bool, "workspace": kapconf.String,
			"url": kapconf.URL, "username": kapconf.String, "avatar-url": kapconf.String, "embed-title": kapconf.String, "timestamp": kapconf.Bool},
			Multi: true, NameKey: "workspace"},
		check: func(o opts) error {
			if t, _ := o.string("embed-title", false); strings.Contains(t, "{{") {
				return fmt.Errorf("embed-title: templates are not supported by tickrun; give plain text")
			}
			return nil
		},
		open: webhookKind(discordRequest),
	})
}

// discordRequest: {avatar_url, embeds: [{color, title, description,
// timestamp}], username} to the workspace's webhook URL; the color by
// level, the description the message, the timestamp (RFC 3339) only with
// timestamp = true in [discord].
func discordRequest(o opts, env *Env) (*webhook, error) {
	workspace, _ := o.string("workspace", false)
	c, err := env.Config.Section("discord", workspace)
	if err != nil {
		return nil, err
	}
	if c.String("url") == "" && !env.Config.Lenient {
		return nil, fmt.Errorf("[discord] of kapacitor.conf has no url")
	}
	username := o.or("username", c.String("username"))
	avatar := o.or("avatar-url", c.String("avatar-url"))
	title, _ := o.string("embed-title", false)
	stamp := c.Bool("timestamp")
	type embed struct {
		Color       int    `json:"color"`
		Title       string `json:"title"`
		Description string `json:"description"`
		Timestamp   string `json:"timestamp"`
	}
	return &webhook{
		url: c.String("url"), target: redactURL(c.String("url")), skipVerify: c.Bool("insecure-skip-verify"),
		body: func(ev *alert.Event, _ []byte) ([]byte, error) {
			color := 0x7A65F2
			switch ev.Level {
			case alert.Critical:
				color = 0xF95F53
			case alert.Warning:
				color = 0xF48D38
			}
			ts := ""
			if stamp {
				ts = time.Unix(0, ev.Time).UTC().Format(time.RFC3339)
			}
			return encodeJSON(map[string]any{"username": username, "avatar_url": avatar,
				"embeds": []embed{{Color: color, Title: title, Description: ev.Message, Timestamp: ts}}}, true)
		},
	}, nil
}
