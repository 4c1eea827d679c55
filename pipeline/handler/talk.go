package handler

import (
	"fmt"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// The talk kind posts each event to a Talk incoming webhook as Kapacitor's
// talk service does: {authorName, text, title}, the title the event's id,
// the text its message, the author from [talk].
func init() {
	register(&Kind{
		Name: "talk", Doc: "posts each event's id and message to a Talk webhook",
		Property: &Property{Name: "talk"},
		Section:  "talk",
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "url": kapconf.URL, "author_name": kapconf.String},
			Lenient: map[string]any{"url": "http://127.0.0.1/"}},
		open: webhookKind(talkRequest),
	})
}

func talkRequest(_ opts, env *Env) (*webhook, error) {
	c, err := env.Config.Section("talk", "")
	if err != nil {
		return nil, err
	}
	u := c.String("url")
	if u == "" {
		return nil, fmt.Errorf("[talk] of kapacitor.conf has no url")
	}
	author := c.String("author_name")
	return &webhook{url: u, target: redactURL(u), body: func(ev *alert.Event, _ []byte) ([]byte, error) {
		return encodeJSON(map[string]any{"authorName": author, "text": ev.Message, "title": ev.ID}, true)
	}}, nil
}
