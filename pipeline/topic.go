package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/tickrun/tickrun/eval"
)

// topics routes alert events to handlers (alert.md §12). Each topic
// remembers the last level per event id, which becomes the next event's
// previousLevel in that topic.
type topics struct {
	task     *Task
	byName   map[string]*topic
	all      *topic // every event, for Options.OnEvent
	handlers []handler
	buf      []byte
}

// topic is a named or anonymous topic.
type topic struct {
	name   string
	levels map[string]Level
	subs   []*subscription
}

// subscription is one handler of a topic, with its optional match.
type subscription struct {
	spec  *HandlerSpec
	match *eval.Expr
	h     handler
}

func newTopics(t *Task) *topics {
	return &topics{task: t, byName: map[string]*topic{}, all: &topic{levels: map[string]Level{}}}
}

func (ts *topics) get(name string) *topic {
	tp, ok := ts.byName[name]
	if !ok {
		tp = &topic{name: name, levels: map[string]Level{}}
		ts.byName[name] = tp
	}
	return tp
}

// anonymous returns the topic of an alert node's own handlers.
func (ts *topics) anonymous(n *nodeBase) *topic {
	return ts.get(ts.task.opts.KapacitorID + ":" + ts.task.name + ":" + n.name)
}

// add subscribes h to tp.
func (ts *topics) add(tp *topic, spec *HandlerSpec, match *eval.Expr, h handler) {
	tp.subs = append(tp.subs, &subscription{spec: spec, match: match, h: h})
	ts.handlers = append(ts.handlers, h)
}

// subscribe creates the handlers of handler files.
func (ts *topics) subscribe(specs []*HandlerSpec) error {
	for _, s := range specs {
		match, err := s.compileMatch()
		if err != nil {
			return err
		}
		h, err := newHandler(s.Kind, s.Options, ts.task, s.ID)
		if err != nil {
			return s.errorf("%v", err)
		}
		ts.add(ts.get(s.Topic), s, match, h)
	}
	return nil
}

// publish sends ev to the topics named (nil entries are skipped).
func (ts *topics) publish(ev *Event, targets ...*topic) {
	if ts.task.opts.OnEvent != nil {
		if payload, ok := ts.encode(ts.all, ev); ok {
			ts.task.opts.OnEvent(ev, payload)
		}
	}
	for _, tp := range targets {
		if tp == nil {
			continue
		}
		payload, ok := ts.encode(tp, ev)
		if !ok {
			continue
		}
		for _, s := range tp.subs {
			if s.match != nil {
				ok, err := s.match.EvalBool(&matchScope{ev: ev})
				if err != nil {
					ts.task.logf("handler %s of topic %s: failed to evaluate match expression: %v", s.spec.ID, tp.name, err)
					continue
				}
				if !ok {
					continue
				}
			}
			s.h.deliver(ev, payload)
		}
	}
}

// encode sets the topic's view of ev (previous level, changed) and returns
// its JSON, valid until the next call.
func (ts *topics) encode(tp *topic, ev *Event) ([]byte, bool) {
	prev := tp.levels[ev.ID]
	ev.PreviousLevel = prev
	ev.Changed = prev != ev.Level
	tp.levels[ev.ID] = ev.Level
	b, err := ev.AppendJSON(ts.buf[:0])
	ts.buf = b
	if err != nil {
		ts.task.logf("%s: alert %q: %v", ev.Node, ev.ID, err)
		return nil, false
	}
	return b, true
}

// close drains every handler.
func (ts *topics) close(ctx context.Context) error {
	var errs []error
	for _, h := range ts.handlers {
		if err := h.close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (ts *topics) stats() []HandlerStats {
	out := make([]HandlerStats, len(ts.handlers))
	for i, h := range ts.handlers {
		out[i] = h.stats()
	}
	return out
}

// matchScope is what a topic handler's match expression sees: the event's
// tags as references, and the event through the match functions.
type matchScope struct{ ev *Event }

func (s *matchScope) Lookup(name string) (eval.Value, error) {
	if v, ok := s.ev.Tag(name); ok {
		return eval.StringValue(v), nil
	}
	return eval.Value{}, fmt.Errorf("no tag exists for %s", name)
}

// LookupHint implements eval.Scope; events have no field order to hint.
func (s *matchScope) LookupHint(name string, _ *int) (eval.Value, error) { return s.Lookup(name) }

// LookupField implements eval.Scope: events have no fields.
func (s *matchScope) LookupField(string, *int) *eval.Value { return nil }

func (s *matchScope) Time() int64 { return s.ev.Time }
