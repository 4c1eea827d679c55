package server

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/tickrun/tickrun/server/api"
	"github.com/tickrun/tickrun/server/store"
)

// timeDuration formats nanoseconds as Kapacitor's DOT shows them ("0s").
type timeDuration int64

func (d timeDuration) String() string { return time.Duration(d).String() }

// eventState is the last event of an alert id in a topic.
type eventState struct {
	Level    string
	Message  string
	Details  string
	Time     time.Time
	Duration time.Duration
}

// topicRegistry is the server's view of alert topics, fed with the
// events of every task (ENGINE: the engine's shared topic registry
// will hold this). It keeps every alert id's last event in memory, and
// the non-OK ones in the store, written in the background so that a
// write never waits for the disk.
type topicRegistry struct {
	st *store.Store

	mu      sync.Mutex
	topics  map[string]*topicState
	pending map[pendingKey]*store.AlertState // nil value: delete
	done    chan struct{}
	flushed chan struct{}
}

type topicState struct {
	collected int64
	events    map[string]eventState
}

type pendingKey struct{ topic, id string }

// flushInterval is how often pending alert states are written.
const flushInterval = 100 * time.Millisecond

func newTopicRegistry(st *store.Store) *topicRegistry {
	r := &topicRegistry{st: st, topics: map[string]*topicState{}, pending: map[pendingKey]*store.AlertState{},
		done: make(chan struct{}), flushed: make(chan struct{})}
	r.load()
	go r.persist()
	return r
}

// load reads the alert states of the store: events that were not OK when
// the server stopped are listed again.
func (r *topicRegistry) load() {
	topics, err := r.st.AlertTopics()
	if err != nil {
		return
	}
	for _, t := range topics {
		states, err := r.st.AlertStates(t)
		if err != nil {
			continue
		}
		ts := r.topic(t)
		for id, s := range states {
			ts.events[id] = eventState{Level: s.Level, Message: s.Message, Details: s.Details, Time: s.Time, Duration: s.Time.Sub(s.EpisodeStart)}
		}
	}
}

func (r *topicRegistry) topic(name string) *topicState {
	ts := r.topics[name]
	if ts == nil {
		ts = &topicState{events: map[string]eventState{}}
		r.topics[name] = ts
	}
	return ts
}

// last returns the last event of alert id in topic, if there was one
// (since the start, or before it: load reads the store's non-OK states).
func (r *topicRegistry) last(topic, id string) (eventState, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ts := r.topics[topic]
	if ts == nil {
		return eventState{}, false
	}
	ev, ok := ts.events[id]
	return ev, ok
}

// record notes an event of alert id ev in topic.
func (r *topicRegistry) record(topic, task, node string, ev eventState, payload []byte) {
	id := eventID(payload)
	r.mu.Lock()
	ts := r.topic(topic)
	ts.collected++
	ts.events[id] = ev
	k := pendingKey{topic, id}
	if ev.Level == "OK" {
		r.pending[k] = nil
	} else {
		r.pending[k] = &store.AlertState{Level: ev.Level, Time: ev.Time, EpisodeStart: ev.Time.Add(-ev.Duration),
			Message: ev.Message, Details: ev.Details, Event: append(json.RawMessage(nil), payload...), Task: task, Node: node}
	}
	r.mu.Unlock()
}

// eventID reads the id of an event from its JSON.
func eventID(payload []byte) string {
	var ev struct {
		ID string `json:"id"`
	}
	json.Unmarshal(payload, &ev)
	return ev.ID
}

// persist writes pending states every flushInterval until flush closes it.
func (r *topicRegistry) persist() {
	defer close(r.flushed)
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			r.write()
			return
		case <-t.C:
			r.write()
		}
	}
}

func (r *topicRegistry) write() {
	r.mu.Lock()
	pending := r.pending
	r.pending = map[pendingKey]*store.AlertState{}
	r.mu.Unlock()
	for k, st := range pending {
		if st == nil {
			r.st.DeleteAlertState(k.topic, k.id)
			continue
		}
		r.st.PutAlertState(k.topic, k.id, *st)
	}
}

// flush writes what is pending and stops the background writer.
func (r *topicRegistry) flush() error {
	select {
	case <-r.done:
	default:
		close(r.done)
	}
	<-r.flushed
	return nil
}

func (r *topicRegistry) states() map[string]api.TopicState {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]api.TopicState{}
	for name, ts := range r.topics {
		level := "OK"
		for _, ev := range ts.events {
			if levelRank(ev.Level) > levelRank(level) {
				level = ev.Level
			}
		}
		out[name] = api.TopicState{Level: level, Collected: ts.collected}
	}
	return out
}

func (r *topicRegistry) events(topic string) (map[string]api.EventState, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ts := r.topics[topic]
	if ts == nil {
		return nil, false
	}
	out := map[string]api.EventState{}
	for id, ev := range ts.events {
		out[id] = api.EventState{Message: ev.Message, Details: ev.Details, Time: ev.Time, Duration: ev.Duration, Level: ev.Level}
	}
	return out, true
}

func (r *topicRegistry) delete(topic string) error {
	r.mu.Lock()
	delete(r.topics, topic)
	for k := range r.pending {
		if k.topic == topic {
			delete(r.pending, k)
		}
	}
	r.mu.Unlock()
	return r.st.DeleteTopic(topic)
}

// levelRank orders level names.
func levelRank(l string) int {
	switch l {
	case "INFO":
		return 1
	case "WARNING":
		return 2
	case "CRITICAL":
		return 3
	}
	return 0
}
