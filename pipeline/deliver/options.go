package deliver

import (
	"context"
	"time"
)

// Sink is where a handler hands its items: a Queue, or a Capture in
// tests. Deliver must not block the caller and must not keep payload past
// the call.
type Sink interface {
	// Deliver queues one item, for an event of time t (ns since the
	// epoch, 0 if none: for logs); payload is only valid during the call.
	Deliver(id string, t int64, payload []byte)
	// Close waits until every queued item was delivered or dropped, or
	// ctx is done; then whatever is still queued is counted as dropped.
	Close(ctx context.Context) error
	// Stats returns the counters.
	Stats() Stats
}

// Stats counts what one handler did. Every item handed to a handler ends
// counted once, as sent or as dropped.
type Stats struct {
	Name    string // kind and target, e.g. "tcp 127.0.0.1:7777"
	Sent    int64  // items delivered
	Retried int64  // delivery attempts that failed and were retried
	Dropped int64  // items given up on: queue full, retries exhausted, or still queued at the drain timeout
}

// Options tune delivery. Zero values take the defaults.
type Options struct {
	QueueSize int // items queued per handler (default 10000); handler files may set queue-size
	// InFlight bounds the items a handler with a Begin hook (tcp) has
	// handed to its endpoint and still waits to see confirmed (default
	// 32; tcp handler files may set in-flight). Items are begun one at a
	// time, in order; 1 also keeps the order of items retried after the
	// endpoint accepted them.
	InFlight     int
	DialTimeout  time.Duration // default 5s
	WriteTimeout time.Duration // per attempt: write and wait for the peer to confirm (default 5s)
	// Attempts caps the tries per item; 0 (the default) means no cap:
	// an item is tried until RetryMaxTime has passed.
	Attempts   int
	Backoff    time.Duration // first retry delay, doubled each time, with jitter (default 100ms)
	MaxBackoff time.Duration // longest delay between two tries (default 5s)
	// RetryMaxTime bounds the time spent on one item: no retry starts
	// later than this after the first try (default 30s).
	RetryMaxTime time.Duration
	// Capture, if set, replaces every handler: each item a handler would
	// deliver is handed to it synchronously, with the handler's kind, its
	// target (a TCP address, ...) and the payload (JSON without newline).
	Capture func(kind, target string, payload []byte)
}

// WithDefaults returns o with every zero value replaced by its default.
func (o Options) WithDefaults() Options {
	if o.QueueSize <= 0 {
		o.QueueSize = 10000
	}
	if o.InFlight <= 0 {
		o.InFlight = 32
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.Attempts < 0 {
		o.Attempts = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = 100 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	if o.MaxBackoff < o.Backoff {
		o.MaxBackoff = o.Backoff
	}
	if o.RetryMaxTime <= 0 {
		o.RetryMaxTime = 30 * time.Second
	}
	return o
}

// Capture hands every item to a function synchronously instead of
// delivering it (tickrun test, embedding tests): nothing is queued,
// nothing fails.
type Capture struct {
	Kind, Target string
	Fn           func(kind, target string, payload []byte)
	sent         int64
}

// Deliver hands the item to Fn.
func (c *Capture) Deliver(_ string, _ int64, payload []byte) {
	c.sent++
	c.Fn(c.Kind, c.Target, payload)
}

// Close does nothing: captured items are delivered at once.
func (c *Capture) Close(context.Context) error { return nil }

// Stats counts the captured items as sent.
func (c *Capture) Stats() Stats { return Stats{Name: c.Kind + " " + c.Target, Sent: c.sent} }

var _ Sink = (*Capture)(nil)
