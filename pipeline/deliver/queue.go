package deliver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
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

	// The ledger: every item handed to Deliver ends counted once, as sent
	// or dropped. cmu guards it; once abandoned (a try outlived the drain
	// deadline), late outcomes are not counted: the items still in hand
	// were counted as dropped.
	cmu                    sync.Mutex
	accepted               int64 // items that entered the queue
	settled                int64 // of those, sent or dropped
	sent, retried, dropped int64
	logged, unlogged       int64 // drops logged, and dropped silently past maxLoggedDrops
	abandoned              bool
}

// maxLoggedDrops is how many drops a queue logs one by one; the rest are
// counted and summed up in one line at Close, so a dead endpoint cannot
// flood the log.
const maxLoggedDrops = 20

// queueItem is an item waiting in the queue, its payload with the suffix.
type queueItem struct {
	id      string
	time    int64 // of the event, ns since the epoch (0: none), for logs
	payload []byte
}

// label names an item in logs: its id and, if known, its time.
func (it queueItem) label() string {
	if it.time == 0 {
		return strconv.Quote(it.id)
	}
	return strconv.Quote(it.id) + " of " + time.Unix(0, it.time).UTC().Format(time.RFC3339Nano)
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

// Deliver queues a copy of payload (and the suffix) under id, for an
// event of time t (ns since the epoch, 0 if none), without blocking: when
// the queue is full or closed the item is dropped, counted and logged.
func (h *Queue) Deliver(id string, t int64, payload []byte) {
	item := queueItem{id: id, time: t}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed {
		h.drop(item, false, "the handler is closed")
		return
	}
	b := make([]byte, 0, len(payload)+len(h.suffix))
	item.payload = append(append(b, payload...), h.suffix...)
	h.cmu.Lock()
	h.accepted++
	h.cmu.Unlock()
	select {
	case h.queue <- item:
	default:
		h.drop(item, true, "queue full (%d events)", cap(h.queue))
	}
}

// Drop counts an item that never reached the queue (its payload could not
// be built) and logs why.
func (h *Queue) Drop(id string, t int64, err error) {
	h.drop(queueItem{id: id, time: t}, false, "%v", err)
}

// drop counts item as dropped and logs why; accepted says whether it had
// entered the queue.
func (h *Queue) drop(item queueItem, accepted bool, why string, args ...any) {
	h.cmu.Lock()
	if h.abandoned && accepted {
		h.cmu.Unlock()
		return
	}
	if accepted {
		h.settled++
	}
	h.dropped++
	log := h.logged < maxLoggedDrops
	if log {
		h.logged++
	} else {
		h.unlogged++
	}
	last := h.logged == maxLoggedDrops && log
	h.cmu.Unlock()
	if log {
		line := fmt.Sprintf("handler %s: dropped event %s: %s", h.name, item.label(), fmt.Sprintf(why, args...))
		if last {
			line += " (further drops of this handler are counted, and summed up at the end)"
		}
		h.log("%s", line)
	}
}

// delivered counts an accepted item as sent.
func (h *Queue) delivered() {
	h.cmu.Lock()
	if !h.abandoned {
		h.settled++
		h.sent++
	}
	h.cmu.Unlock()
}

func (h *Queue) retry() {
	h.cmu.Lock()
	if !h.abandoned {
		h.retried++
	}
	h.cmu.Unlock()
}

func (h *Queue) run() {
	defer close(h.done)
	send, wait := h.send, func() {}
	if h.Begin != nil && h.opts.InFlight > 1 {
		send, wait = h.overlapped()
	}
	for item := range h.queue {
		if h.ctx.Err() != nil {
			h.drop(item, true, "not delivered before the drain timeout")
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
					h.delivered()
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
			h.delivered()
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
		h.drop(a.item, true, "not delivered before the drain timeout: %v", err)
		return false
	case errors.As(err, &perm):
		h.drop(a.item, true, "%v (not retried)", err)
		return false
	case h.opts.Attempts > 0 && a.n >= h.opts.Attempts:
		h.drop(a.item, true, "%d attempts failed, last: %v", a.n, err)
		return false
	}
	// Equal jitter: half the delay fixed, half random, so handlers that
	// failed together do not retry in lockstep.
	wait := a.delay/2 + rand.N(a.delay/2+1)
	if time.Since(a.start)+wait > h.opts.RetryMaxTime {
		h.drop(a.item, true, "%d attempts failed in %v (retry bound %v), last: %v", a.n, time.Since(a.start).Round(time.Millisecond), h.opts.RetryMaxTime, err)
		return false
	}
	h.retry()
	timer := time.NewTimer(wait)
	select {
	case <-timer.C:
	case <-h.ctx.Done():
		timer.Stop()
		h.drop(a.item, true, "not delivered before the drain timeout: %v", err)
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
		h.summarize()
		return nil
	case <-ctx.Done():
	}
	h.cmu.Lock()
	before := h.dropped
	h.cmu.Unlock()
	h.cancel()
	// Tries honour the context, so this is quick; the bound guards
	// against a try that does not (a blocked open or write): the items
	// still in hand are then counted as dropped, and whatever the try
	// does later is not counted.
	select {
	case <-h.done:
	case <-time.After(2 * time.Second):
		h.cmu.Lock()
		h.abandoned = true
		lost := h.accepted - h.settled
		h.dropped += lost
		h.unlogged += lost
		h.cmu.Unlock()
	}
	h.summarize()
	h.cmu.Lock()
	n := h.dropped - before
	h.cmu.Unlock()
	return fmt.Errorf("handler %s: %d events not delivered before the drain timeout: %w", h.name, n, ctx.Err())
}

// summarize logs how many drops were not logged one by one, once.
func (h *Queue) summarize() {
	h.cmu.Lock()
	n := h.unlogged
	h.unlogged = 0
	h.cmu.Unlock()
	if n > 0 {
		h.log("handler %s: %d more events dropped (not logged one by one)", h.name, n)
	}
}

// Stats returns the queue's counters.
func (h *Queue) Stats() Stats {
	h.cmu.Lock()
	defer h.cmu.Unlock()
	return Stats{Name: h.name, Sent: h.sent, Retried: h.retried, Dropped: h.dropped}
}

var _ Sink = (*Queue)(nil)
