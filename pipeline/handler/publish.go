package handler

import (
	"strings"

	"github.com/tickrun/tickrun/pipeline/alert"
)

// The publish kind hands each event on to other topics, as Kapacitor's
// publish handler does (alert.md §14): each topic sees the event as if
// an alert node had published it there, with its own previous level, and
// its handlers and their match expressions apply. Handler files only.
// Events are handed on from the handler's queue, so topics that publish
// into each other loop (as in Kapacitor) but do not deadlock.
func init() {
	register(&Kind{
		Name: "publish", Doc: "publishes each event to other topics",
		Options: []Option{
			{Name: "topics", Type: Strings, Doc: "the topics to publish to"},
		},
		check: func(o opts) error {
			topics, _ := o.strings("topics")
			if len(topics) == 0 {
				return errorf("topics", "give at least one topic")
			}
			for _, t := range topics {
				if !handlerTopicChars.MatchString(t) {
					return errorf("topics", "invalid topic %q: letters, digits, '-', ':', '.' and '_' only", t)
				}
			}
			return nil
		},
		open: func(o opts, env *Env) (*endpoint, error) {
			if env.Alerts == nil {
				return nil, errNoRegistry("publish")
			}
			names, _ := o.strings("topics")
			targets := make([]*alert.Topic, len(names))
			for i, n := range names {
				targets[i] = env.Alerts.Topic(n)
			}
			r := env.Alerts
			return &endpoint{target: "topics " + strings.Join(names, ", "), event: func(ev *alert.Event) error {
				r.Publish(ev, targets...)
				return nil
			}}, nil
		},
	})
}
