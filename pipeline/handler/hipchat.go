package handler

import (
	"fmt"
	"net/url"
	"path"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// The hipchat kind posts each event's message to a HipChat room as
// Kapacitor's hipchat service does: to url/<room>/notification with the
// token in the auth_token query parameter, {color, from: "kapacitor",
// message, notify: true}, the color red, yellow or green by level.
func init() {
	register(&Kind{
		Name: "hipchat", Doc: "posts each event's message to a HipChat room",
		Property: &Property{Name: "hipChat"},
		Options: []Option{
			{Name: "room", Type: String, Doc: "the room", Default: "room of [hipchat]", Prop: "room"},
			{Name: "token", Type: String, Doc: "the room's token", Default: "token of [hipchat]", Prop: "token"},
		},
		Section: "hipchat", Global: true,
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "global": kapconf.Bool, "state-changes-only": kapconf.Bool,
			"url": kapconf.URL, "token": kapconf.Secret, "room": kapconf.String},
			Lenient: map[string]any{"url": "http://127.0.0.1/"}},
		open: webhookKind(hipChatRequest),
	})
}

func hipChatRequest(o opts, env *Env) (*webhook, error) {
	c, err := env.Config.Section("hipchat", "")
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(c.String("url"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("[hipchat] of kapacitor.conf has no url")
	}
	target := redactURL(u.String())
	room, token := o.or("room", c.String("room")), o.or("token", c.String("token"))
	u.Path = path.Join(u.Path, room, "notification")
	u.RawQuery = url.Values{"auth_token": {token}}.Encode()
	return &webhook{url: u.String(), target: target, body: func(ev *alert.Event, _ []byte) ([]byte, error) {
		color := "green"
		switch ev.Level {
		case alert.Warning:
			color = "yellow"
		case alert.Critical:
			color = "red"
		}
		return encodeJSON(map[string]any{"color": color, "from": "kapacitor", "message": ev.Message, "notify": true}, true)
	}}, nil
}
