package handler

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

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
// Deliver.Capture (tickrun test) does not apply: these kinds deliver
// nothing outside, and the events they hand on reach the topics' handlers,
// which capture them. Handing on synchronously from Deliver could deadlock
// (above), so they keep their queue.
type eventHandler struct {
	sink  deliver.Sink
	event func(ev *alert.Event) error

	mu      sync.Mutex
	seq     uint64                  // last sequence number given
	low     uint64                  // no pending event has a lower number
	pending map[uint64]*alert.Event // queued events by sequence number
}

func newEventHandler(kind string, ep *endpoint, env *Env, o opts) *eventHandler {
	h := &eventHandler{event: ep.event, pending: map[uint64]*alert.Event{}, low: 1}
	d := deliveryOptions(env, o)
	d.Capture = nil
	q := deliver.NewQueue(kind+" "+ep.target, "", d, env.Log, h.try)
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

// errNoRegistry is the error of a topic kind built without a registry.
func errNoRegistry(kind string) error {
	return fmt.Errorf("%s handler needs the topics of a task or server", kind)
}
