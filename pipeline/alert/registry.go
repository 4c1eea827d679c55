package alert

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/tickrun/tickrun/pipeline/deliver"
)

// Handler delivers the events of a topic somewhere (a TCP endpoint, a
// file, a webhook). Deliver must not block the caller: handlers queue and
// deliver in their own goroutine, in the order events were published.
type Handler interface {
	// Deliver queues one event; payload is its JSON without a trailing
	// newline and is only valid during the call.
	Deliver(ev *Event, payload []byte)
	// Close waits until the queue is empty or ctx is done; then whatever
	// is still queued is counted as dropped.
	Close(ctx context.Context) error
	// Stats returns the handler's counters.
	Stats() deliver.Stats
}

// Registry holds the topics of a server (alert.md §12): any number of
// tasks publish into them, and handlers subscribe to them by name, as
// `kapacitor define-topic-handler` does. A Task compiled alone creates a
// registry of its own; tasks compiled against one registry share its
// topics. A Registry is safe for concurrent use.
type Registry struct {
	mu     sync.RWMutex
	topics map[string]*Topic
	order  []*subscription // every subscription, in subscription order
	log    func(format string, args ...any)
	// observe, if set, sees every event published to a topic, with the
	// topic's JSON of it (a server records the topics' events).
	observe func(topic string, ev *Event, payload []byte)
	// restore, if set, gives the level a previous run left of an event
	// id in a topic, for the previousLevel of the id's first event.
	restore func(topic, id string) (Level, bool)
	inhibit inhibitors // inhibit.go
}

// Topic is a named topic, or the anonymous topic of an alert node's own
// handlers ("<id>:<task>:<node>"). It remembers the last level of every
// event id, which becomes the next event's previousLevel in that topic.
type Topic struct {
	name   string
	mu     sync.Mutex
	levels map[string]Level
	subs   []*subscription
	buf    []byte
	// restore gives the level of an id this topic has not seen yet.
	restore func(id string) (Level, bool)
}

// subscription is one handler of a topic, with its optional match.
type subscription struct {
	topic string
	id    string
	match *Match
	h     Handler
}

// NewRegistry returns an empty registry; log receives one line per event
// that could not be encoded or matched (nil discards them).
func NewRegistry(log func(format string, args ...any)) *Registry {
	if log == nil {
		log = func(string, ...any) {}
	}
	return &Registry{topics: map[string]*Topic{}, log: log}
}

// NewTopic returns a topic that belongs to no registry, for a view of
// events of one's own (tickrun's --print sees every event of a task with
// the previous level of that task).
func NewTopic(name string) *Topic { return &Topic{name: name, levels: map[string]Level{}} }

// SetObserver makes fn see every event published to a topic of r, with
// the topic's JSON of it, before the topic's handlers; fn must not keep
// payload and must not publish. Set it before publishing starts.
func (r *Registry) SetObserver(fn func(topic string, ev *Event, payload []byte)) { r.observe = fn }

// SetRestore makes fn give the level a previous run left of an event id
// in a topic: the id's first event in the topic then has it as its
// previous level. Set it before publishing starts.
func (r *Registry) SetRestore(fn func(topic, id string) (Level, bool)) { r.restore = fn }

// Topic returns the topic called name, creating it if need be.
func (r *Registry) Topic(name string) *Topic {
	r.mu.RLock()
	tp := r.topics[name]
	r.mu.RUnlock()
	if tp != nil {
		return tp
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if tp = r.topics[name]; tp == nil {
		tp = NewTopic(name)
		if r.restore != nil {
			restore := r.restore
			tp.restore = func(id string) (Level, bool) { return restore(name, id) }
		}
		r.topics[name] = tp
	}
	return tp
}

// Topics returns the names of the topics, sorted.
func (r *Registry) Topics() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.topics))
	for n := range r.topics {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ErrDuplicateHandler is returned by Subscribe for an id the topic has.
var ErrDuplicateHandler = errors.New("a handler with this id already exists in the topic")

// Subscribe makes h receive the events of topic that match (every event
// when match is nil). The id names the handler within the topic.
func (r *Registry) Subscribe(topic, id string, match *Match, h Handler) error {
	tp := r.Topic(topic)
	tp.mu.Lock()
	defer tp.mu.Unlock()
	for _, s := range tp.subs {
		if s.id == id {
			return fmt.Errorf("topic %s: handler %s: %w", topic, id, ErrDuplicateHandler)
		}
	}
	s := &subscription{topic: topic, id: id, match: match, h: h}
	tp.subs = append(tp.subs, s)
	r.mu.Lock()
	r.order = append(r.order, s)
	r.mu.Unlock()
	return nil
}

// Unsubscribe removes the handler id of topic and returns it (nil if
// there is none); the caller closes it, which lets it drain its queue.
// Once Unsubscribe returns, no publish reaches the handler.
func (r *Registry) Unsubscribe(topic, id string) Handler {
	r.mu.RLock()
	tp := r.topics[topic]
	r.mu.RUnlock()
	if tp == nil {
		return nil
	}
	tp.mu.Lock()
	var gone *subscription
	for i, s := range tp.subs {
		if s.id == id {
			gone = s
			tp.subs = append(tp.subs[:i:i], tp.subs[i+1:]...)
			break
		}
	}
	tp.mu.Unlock()
	if gone == nil {
		return nil
	}
	r.mu.Lock()
	for i, s := range r.order {
		if s == gone {
			r.order = append(r.order[:i:i], r.order[i+1:]...)
			break
		}
	}
	r.mu.Unlock()
	return gone.h
}

// Handlers returns the ids of the handlers subscribed to topic, in
// subscription order.
func (r *Registry) Handlers(topic string) []string {
	r.mu.RLock()
	tp := r.topics[topic]
	r.mu.RUnlock()
	if tp == nil {
		return nil
	}
	tp.mu.Lock()
	defer tp.mu.Unlock()
	ids := make([]string, len(tp.subs))
	for i, s := range tp.subs {
		ids[i] = s.id
	}
	return ids
}

// Publish sends ev to the topics given (nil entries are skipped): each
// topic sets the event's previous level from its own memory, encodes it
// and hands it to its matching handlers, in subscription order. Events
// published to one topic reach its handlers in the order of the calls.
// It returns how many handlers the topics have, whether or not their
// match expressions took the event: 0 means no handler listens.
func (r *Registry) Publish(ev *Event, targets ...*Topic) int {
	n := 0
	for _, tp := range targets {
		if tp != nil {
			n += tp.publish(r, ev)
		}
	}
	return n
}

func (tp *Topic) publish(r *Registry, ev *Event) int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	b, err := tp.encode(ev, tp.buf[:0])
	tp.buf = b
	if err != nil {
		r.log("%s: alert %q: %v", ev.Node, ev.ID, err)
		return 0
	}
	if r.observe != nil {
		r.observe(tp.name, ev, b)
	}
	for _, s := range tp.subs {
		if s.match != nil {
			ok, err := s.match.Eval(ev)
			if err != nil {
				r.log("handler %s of topic %s: failed to evaluate match expression: %v", s.id, tp.name, err)
				continue
			}
			if !ok {
				continue
			}
		}
		s.h.Deliver(ev, b)
	}
	return len(tp.subs)
}

// Name returns the topic's name.
func (tp *Topic) Name() string { return tp.name }

// Encode sets the topic's view of ev (its previous level and whether the
// level changed), remembers the event's level and appends its JSON to b.
func (tp *Topic) Encode(ev *Event, b []byte) ([]byte, error) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.encode(ev, b)
}

func (tp *Topic) encode(ev *Event, b []byte) ([]byte, error) {
	prev, seen := tp.levels[ev.ID]
	if !seen && tp.restore != nil {
		prev, _ = tp.restore(ev.ID)
	}
	ev.PreviousLevel = prev
	ev.Changed = prev != ev.Level
	tp.levels[ev.ID] = ev.Level
	return ev.AppendJSON(b)
}

// Close drains every subscribed handler within ctx.
func (r *Registry) Close(ctx context.Context) error {
	r.mu.RLock()
	subs := append([]*subscription(nil), r.order...)
	r.mu.RUnlock()
	var errs []error
	for _, s := range subs {
		if err := s.h.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Stats returns the counters of every subscribed handler, in
// subscription order.
func (r *Registry) Stats() []deliver.Stats {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]deliver.Stats, len(r.order))
	for i, s := range r.order {
		out[i] = s.h.Stats()
	}
	return out
}

// SeedLevel sets the level the topic last saw for an alert id, as when a
// scaled-out server takes a group over from another instance: the id's
// next event reports it as its previous level.
func (tp *Topic) SeedLevel(id string, l Level) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.levels[id] = l
}
