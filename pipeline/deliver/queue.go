package deliver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Queue is the delivery machinery every handler kind shares: a bounded
// FIFO queue filled by the pipeline without blocking, and one goroutine
// that tries each item in turn, retrying a failed try with exponential
// backoff and jitter until the attempts or the time bound run out. An
// item is counted exactly once: sent, or dropped (queue full, retries
// exhausted, permanent error, drain timeout) and then logged with its id.
//
// Set the optional hooks (Begin, Finish) after NewQueue and before Start.
type Queue struct {
	name   string // kind and target, e.g. "tcp 127.0.0.1:7777"
	suffix string // appended to each payload ("\n\n" for tcp)
	opts   Options
	log    func(format string, args ...any)
	// try makes one delivery attempt; it must give up soon after ctx is
	// done. An error wrapped with Permanent is not retried.
	try TryFunc
	// Finish, if set, runs when the queue is empty and closed (persistent
	// connections close there).
	Finish func(ctx context.Context)
	// Begin, if set with Options.InFlight > 1, overlaps deliveries: it makes the
	// part of an attempt that fixes the event's place in the order (tcp:
	// the dial, as an endpoint accepts connections in the order they were
	// dialled) and returns end, which makes the rest of the attempt (tcp:
	// write, wait for the peer's confirmation). Events are begun one at a
	// time, in order, and retried in place while beginning fails; up to
	// InFlight ends run at once. An event whose end fails is retried with
	// try, after the events begun since.
	Begin func(ctx context.Context, payload []byte) (end func() error, err error)

	queue  chan queueItem
	done   chan struct{}
	ctx    context.Context // done when close gives up waiting
	cancel context.CancelFunc
	once   sync.Once
	mu     sync.RWMutex // Deliver holds it to read, Close to close queue
	closed bool

	sent, retried, dropped atomic.Int64
}

// queueItem is an item waiting in the queue, its payload with the suffix.
type queueItem struct {
	id      string
	payload []byte
}

// TryFunc makes one delivery attempt of a payload; it must give up soon
// after ctx is done. An error wrapped with Permanent is not retried.
type TryFunc func(ctx context.Context, payload []byte) error

// permanentError marks a failure no retry can fix (HTTP 400, a missing
// program).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure no retry can fix (HTTP 400, a missing
// program): the item is dropped at once.
func Permanent(err error) error { return &permanentError{err} }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// NewQueue returns a queue named name (kind and target, for statistics and
// logs) that appends suffix to every payload and delivers with try; log
// receives one line per dropped item (nil discards them). opts are taken
// with their defaults. Call Start to run it.
func NewQueue(name, suffix string, opts Options, log func(format string, args ...any), try TryFunc) *Queue {
	if log == nil {
		log = func(string, ...any) {}
	}
	opts = opts.WithDefaults()
	h := &Queue{name: name, suffix: suffix, opts: opts, log: log, try: try, done: make(chan struct{})}
	h.queue = make(chan queueItem, opts.QueueSize)
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h
}

// Start runs the delivery goroutine; call it once the hooks are set.
func (h *Queue) Start() *Queue {
	go h.run()
	return h
}

// Name returns the queue's name.
func (h *Queue) Name() string { return h.name }

// Log writes a line to the queue's log.
func (h *Queue) Log(format string, args ...any) { h.log(format, args...) }

// Deliver queues a copy of payload (and the suffix) under id without
// blocking: when the queue is full the item is dropped, counted and
// logged.
func (h *Queue) Deliver(id string, payload []byte) {
	b := make([]byte, 0, len(payload)+len(h.suffix))
	b = append(append(b, payload...), h.suffix...)
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed {
		h.dropped.Add(1)
		h.log("handler %s: closed, dropped event %q", h.name, id)
		return
	}
	select {
	case h.queue <- queueItem{id, b}:
	default:
		h.dropped.Add(1)
		h.log("handler %s: queue full (%d events), dropped event %q", h.name, cap(h.queue), id)
	}
}

// Drop counts an item that never reached the queue (its payload could not
// be built) and logs why.
func (h *Queue) Drop(id string, err error) {
	h.dropped.Add(1)
	h.log("handler %s: dropped event %q: %v", h.name, id, err)
}

func (h *Queue) run() {
	defer close(h.done)
	send, wait := h.send, func() {}
	if h.Begin != nil && h.opts.InFlight > 1 {
		send, wait = h.overlapped()
	}
	for item := range h.queue {
		if h.ctx.Err() != nil {
			h.drop(item, "not delivered before the drain timeout")
			continue
		}
		send(h.attempts(item))
	}
	wait()
	if h.Finish != nil {
		h.Finish(h.ctx)
	}
}

// overlapped starts inFlight goroutines that end attempts, and returns
// send, which begins an event (retrying in place while beginning fails)
// and hands the rest of the attempt to them, and wait, which waits for
// them once every event has been sent.
func (h *Queue) overlapped() (send func(*attempts), wait func()) {
	type begun struct {
		a   *attempts
		end func() error
	}
	ends := make(chan begun)
	var wg sync.WaitGroup
	for range h.opts.InFlight {
		wg.Go(func() {
			for b := range ends {
				err := b.end()
				if err == nil {
					h.sent.Add(1)
				} else if b.a.failed(err) {
					h.send(b.a)
				}
			}
		})
	}
	send = func(a *attempts) {
		for {
			end, err := h.Begin(h.ctx, a.item.payload)
			if err == nil {
				ends <- begun{a, end}
				return
			}
			if !a.failed(err) {
				return
			}
		}
	}
	wait = func() {
		close(ends)
		wg.Wait()
	}
	return send, wait
}

func (h *Queue) drop(item queueItem, why string, args ...any) {
	h.dropped.Add(1)
	h.log("handler %s: dropped event %q: %s", h.name, item.id, fmt.Sprintf(why, args...))
}

// attempts tracks the tries of one event against the retry bounds.
type attempts struct {
	h     *Queue
	item  queueItem
	start time.Time
	delay time.Duration
	n     int // the attempt being made, from 1
}

func (h *Queue) attempts(item queueItem) *attempts {
	return &attempts{h: h, item: item, start: time.Now(), delay: h.opts.Backoff, n: 1}
}

// send tries the event until it is sent or dropped.
func (h *Queue) send(a *attempts) {
	for {
		err := h.try(h.ctx, a.item.payload)
		if err == nil {
			h.sent.Add(1)
			return
		}
		if !a.failed(err) {
			return
		}
	}
}

// failed accounts for the failure of the current attempt. It returns true
// once the backoff (exponential, with jitter) has passed and another
// attempt should be made, false when the event was dropped.
func (a *attempts) failed(err error) bool {
	h := a.h
	var perm *permanentError
	switch {
	case h.ctx.Err() != nil:
		h.drop(a.item, "not delivered before the drain timeout: %v", err)
		return false
	case errors.As(err, &perm):
		h.drop(a.item, "%v (not retried)", err)
		return false
	case a.n >= h.opts.Attempts:
		h.drop(a.item, "%d attempts failed, last: %v", a.n, err)
		return false
	}
	// Equal jitter: half the delay fixed, half random, so handlers that
	// failed together do not retry in lockstep.
	wait := a.delay/2 + rand.N(a.delay/2+1)
	if time.Since(a.start)+wait > h.opts.RetryMaxTime {
		h.drop(a.item, "%d attempts failed in %v (retry bound %v), last: %v", a.n, time.Since(a.start).Round(time.Millisecond), h.opts.RetryMaxTime, err)
		return false
	}
	h.retried.Add(1)
	timer := time.NewTimer(wait)
	select {
	case <-timer.C:
	case <-h.ctx.Done():
		timer.Stop()
		h.drop(a.item, "not delivered before the drain timeout: %v", err)
		return false
	}
	a.delay = min(a.delay*2, h.opts.MaxBackoff)
	a.n++
	return true
}

// Close waits for the queue to empty. When ctx is done first, the
// remaining items are dropped (and counted) and Close returns an error.
// Close may be called more than once.
func (h *Queue) Close(ctx context.Context) error {
	h.once.Do(func() {
		h.mu.Lock()
		h.closed = true
		close(h.queue)
		h.mu.Unlock()
	})
	select {
	case <-h.done:
		return nil
	case <-ctx.Done():
	}
	before := h.dropped.Load()
	h.cancel()
	// Tries honour the context, so this is quick; the bound guards
	// against a try that does not.
	select {
	case <-h.done:
	case <-time.After(2 * time.Second):
	}
	return fmt.Errorf("handler %s: %d events not delivered before the drain timeout: %w", h.name, h.dropped.Load()-before, ctx.Err())
}

// Stats returns the queue's counters.
func (h *Queue) Stats() Stats {
	return Stats{Name: h.name, Sent: h.sent.Load(), Retried: h.retried.Load(), Dropped: h.dropped.Load()}
}

var _ Sink = (*Queue)(nil)
