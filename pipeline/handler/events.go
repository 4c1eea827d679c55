package handler

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/deliver"
)

// eventHandler is the alert.Handler of the kinds that take events rather
// than payloads (publish, aggregate): they hand events on to topics, so
// what they queue is the event itself. The delivery machinery is still
// deliver.Queue's (bounded queue, one goroutine, counters, drain at
// close): the queue carries a sequence number per event, and the event
// waits in pending until the queue's goroutine takes it. Handing events on
// from that goroutine, not from Deliver, matters: Deliver runs under the
// lock of the topic the event came from, and publishing from there into a
// topic that leads back to it would deadlock.
//
// With Deliver.Capture set (tickrun test) there is no queue: events are
// handed on at once, so captures stay synchronous; a handler entered
// again while it hands an event on is a loop of publish handlers, and
// that event is dropped.
type eventHandler struct {
	sink  deliver.Sink
	event func(ev *alert.Event) error

	mu      sync.Mutex
	seq     uint64                  // last sequence number given
	low     uint64                  // no pending event has a lower number
	pending map[uint64]*alert.Event // queued events by sequence number

	direct *directSink // with Capture: no queue
}

func newEventHandler(kind string, ep *endpoint, env *Env, o opts) *eventHandler {
	h := &eventHandler{event: ep.event, pending: map[uint64]*alert.Event{}, low: 1}
	if env.Deliver.Capture != nil {
		h.direct = &directSink{name: kind + " " + ep.target, log: env.log, finish: ep.finish}
		h.sink = h.direct
		return h
	}
	q := deliver.NewQueue(kind+" "+ep.target, "", deliveryOptions(env, o), env.Log, h.try)
	q.Finish = func(ctx context.Context) {
		h.mu.Lock()
		h.pending = map[uint64]*alert.Event{} // what is left was dropped
		h.mu.Unlock()
		if ep.finish != nil {
			ep.finish(ctx)
		}
	}
	h.sink = q.Start()
	return h
}

// Deliver queues a copy of ev; payload is not used.
func (h *eventHandler) Deliver(ev *alert.Event, _ []byte) {
	cp := *ev
	if h.direct != nil {
		h.direct.hand(&cp, h.event)
		return
	}
	h.mu.Lock()
	h.seq++
	seq := h.seq
	h.pending[seq] = &cp
	h.mu.Unlock()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	h.sink.Deliver(ev.ID, ev.Time, b[:])
}

// try hands on the event a sequence number names. The queue tries items
// in order, so events with lower numbers still pending were dropped
// (queue full) and are forgotten.
func (h *eventHandler) try(_ context.Context, payload []byte) error {
	if len(payload) != 8 {
		return deliver.Permanent(errors.New("corrupt event reference"))
	}
	seq := binary.BigEndian.Uint64(payload)
	h.mu.Lock()
	ev := h.pending[seq]
	for ; h.low <= seq; h.low++ {
		delete(h.pending, h.low)
	}
	h.mu.Unlock()
	if ev == nil {
		return deliver.Permanent(errors.New("event no longer queued"))
	}
	if err := h.event(ev); err != nil {
		return deliver.Permanent(err)
	}
	return nil
}

func (h *eventHandler) Close(ctx context.Context) error { return h.sink.Close(ctx) }
func (h *eventHandler) Stats() deliver.Stats            { return h.sink.Stats() }

var _ alert.Handler = (*eventHandler)(nil)

// directSink hands events on at once (Deliver.Capture), counting them.
type directSink struct {
	name          string
	log           func(format string, args ...any)
	finish        func(ctx context.Context)
	busy          atomic.Bool
	sent, dropped atomic.Int64
	closed        atomic.Bool
}

// hand hands ev to event, unless the handler is already doing so (a loop).
func (d *directSink) hand(ev *alert.Event, event func(*alert.Event) error) {
	if d.closed.Load() {
		d.drop(ev, errors.New("the handler is closed"))
		return
	}
	if !d.busy.CompareAndSwap(false, true) {
		d.drop(ev, errors.New("publish loop: the event came back to the handler that published it"))
		return
	}
	defer d.busy.Store(false)
	if err := event(ev); err != nil {
		d.drop(ev, err)
		return
	}
	d.sent.Add(1)
}

func (d *directSink) drop(ev *alert.Event, err error) {
	d.dropped.Add(1)
	d.log("handler %s: dropped event %q: %v", d.name, ev.ID, err)
}

func (d *directSink) Deliver(string, int64, []byte) {} // unused: hand is called instead

func (d *directSink) Close(ctx context.Context) error {
	if d.closed.CompareAndSwap(false, true) && d.finish != nil {
		d.finish(ctx)
	}
	return nil
}

func (d *directSink) Stats() deliver.Stats {
	return deliver.Stats{Name: d.name, Sent: d.sent.Load(), Dropped: d.dropped.Load()}
}

var _ deliver.Sink = (*directSink)(nil)

// errNoRegistry is the error of a topic kind built without a registry.
func errNoRegistry(kind string) error {
	return fmt.Errorf("%s handler needs the topics of a task or server", kind)
}
