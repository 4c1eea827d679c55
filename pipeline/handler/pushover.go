package handler

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// The pushover kind sends each event's message with the Pushover API as
// Kapacitor's pushover service does: a form (token, user, message,
// priority, and device, title, url, url_title, sound when set), the
// priority -2, -1, 0 or 1 for OK, INFO, WARNING and CRITICAL.
func init() {
	register(&Kind{
		Name: "pushover", Doc: "sends each event's message as a Pushover notification",
		Property: &Property{Name: "pushover"},
		Options: []Option{
			{Name: "user-key", Type: String, Doc: "the user or group to notify", Default: "user-key of [pushover]", Prop: "userKey"},
			{Name: "device", Type: String, Doc: "the devices (comma separated) instead of all the user's", Prop: "device"},
			{Name: "title", Type: String, Doc: "the title (else the app's name)", Prop: "title"},
			{Name: "url", Type: String, Doc: "a URL shown with the message", Prop: "uRL"},
			{Name: "url-title", Type: String, Doc: "the title of that URL", Prop: "uRLTitle"},
			{Name: "sound", Type: String, Doc: "the sound to play", Prop: "sound"},
		},
		Section: "pushover",
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "token": kapconf.Secret, "user-key": kapconf.Secret, "url": kapconf.String},
			Defaults: map[string]any{"url": "https://api.pushover.net/1/messages.json"}},
		open: webhookKind(pushoverRequest),
	})
}

func pushoverRequest(o opts, env *Env) (*webhook, error) {
	c, err := env.Config.Section("pushover", "")
	if err != nil {
		return nil, err
	}
	u := c.String("url")
	if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") {
		return nil, fmt.Errorf("[pushover] url: want an http:// or https:// URL")
	}
	token, user := c.String("token"), o.or("user-key", c.String("user-key"))
	optional := map[string]string{}
	for key, field := range map[string]string{"device": "device", "title": "title", "url": "url", "url-title": "url_title", "sound": "sound"} {
		if v, _ := o.string(key, false); v != "" {
			optional[field] = v
		}
	}
	return &webhook{url: u, target: redactURL(u),
		headers: [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}},
		body: func(ev *alert.Event, _ []byte) ([]byte, error) {
			priority := map[alert.Level]int{alert.OK: -2, alert.Info: -1, alert.Warning: 0, alert.Critical: 1}[ev.Level]
			v := url.Values{"token": {token}, "user": {user}, "message": {ev.Message}, "priority": {strconv.Itoa(priority)}}
			for k, x := range optional {
				v.Set(k, x)
			}
			return []byte(v.Encode()), nil
		}}, nil
}
