package handler

import (
	"fmt"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

func init() {
	register(&Kind{
		Name: "slack", Doc: "posts each event's message to a Slack webhook",
		Property: &Property{Name: "slack"},
		Options: []Option{
			{Name: "workspace", Type: String, Doc: "the [[slack]] workspace of kapacitor.conf", Default: "the default workspace", Prop: "workspace"},
			{Name: "channel", Type: String, Doc: "the channel", Default: "channel of [slack]", Prop: "channel"},
			{Name: "username", Type: String, Doc: "the user name shown", Default: "username of [slack]", Prop: "username"},
			{Name: "icon-emoji", Type: String, Doc: "the icon emoji", Default: "icon-emoji of [slack]", Prop: "iconEmoji"},
		},
		Section: "slack", Global: true,
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "global": kapconf.Bool, "state-changes-only": kapconf.Bool, "default": kapconf.Bool, "workspace": kapconf.String,
			"url": kapconf.URL, "channel": kapconf.String, "username": kapconf.String, "icon-emoji": kapconf.String, "insecure-skip-verify": kapconf.Bool},
			Defaults: map[string]any{"username": "kapacitor"}, Multi: true, NameKey: "workspace"},
		open: webhookKind(slackRequest),
	})
}

// slackRequest: Kapacitor's slack service posts to the workspace's webhook
// URL {as_user: false, attachments: [{fallback, color, text, mrkdwn_in}],
// channel, icon_emoji, text: "", username}, the color good, warning or
// danger by level, the attachment text the message.
func slackRequest(o opts, env *Env) (*webhook, error) {
	workspace, _ := o.string("workspace", false)
	c, err := env.Config.Section("slack", workspace)
	if err != nil {
		return nil, err
	}
	if c.String("url") == "" && !env.Config.Lenient {
		return nil, fmt.Errorf("[slack] of kapacitor.conf has no url")
	}
	channel := o.or("channel", c.String("channel"))
	username := o.or("username", c.String("username"))
	emoji := o.or("icon-emoji", c.String("icon-emoji"))
	type attachment struct {
		Fallback string   `json:"fallback"`
		Color    string   `json:"color"`
		Text     string   `json:"text"`
		MrkdwnIn []string `json:"mrkdwn_in"`
	}
	return &webhook{
		url: c.String("url"), target: redactURL(c.String("url")), skipVerify: c.Bool("insecure-skip-verify"),
		body: func(ev *alert.Event, _ []byte) ([]byte, error) {
			color := "good"
			switch ev.Level {
			case alert.Warning:
				color = "warning"
			case alert.Critical:
				color = "danger"
			}
			return encodeJSON(map[string]any{
				"as_user": false, "channel": channel, "text": "", "username": username, "icon_emoji": emoji,
				"attachments": []attachment{{Fallback: ev.Message, Color: color, Text: ev.Message, MrkdwnIn: []string{"text"}}},
			}, true)
		},
	}, nil
}
