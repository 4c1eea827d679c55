package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// handler delivers alert events of a topic somewhere. deliver must not
// block the pipeline: handlers queue and deliver in their own goroutine,
// in the order events were produced.
type handler interface {
	// deliver queues one event; payload is its JSON without a trailing
	// newline and is only valid during the call.
	deliver(ev *Event, payload []byte)
	// close waits until the queue is empty or ctx is done; then whatever
	// is still queued is counted as dropped.
	close(ctx context.Context) error
	stats() HandlerStats
}

// HandlerStats counts what one handler did.
type HandlerStats struct {
	Name    string // kind and target, e.g. "tcp 127.0.0.1:7777"
	Sent    int64  // events delivered
	Retried int64  // delivery attempts that failed and were retried
	Dropped int64  // events given up on: queue full, retries exhausted, or still queued at the drain timeout
}

// DeliveryOptions tune alert delivery. Zero values take the defaults.
type DeliveryOptions struct {
	QueueSize int // events queued per handler (default 10000); handler files may set queue-size
	// InFlight bounds the events a tcp handler has handed to its endpoint
	// and still waits to see confirmed (default 32; tcp handler files may
	// set in-flight). Events are dialled one at a time, in order; 1 also
	// keeps the order of events retried after the endpoint accepted them.
	InFlight     int
	DialTimeout  time.Duration // default 5s
	WriteTimeout time.Duration // per attempt: write and wait for the peer to confirm (default 5s)
	Attempts     int           // tries per event (default 4)
	Backoff      time.Duration // first retry delay, doubled each time, with jitter (default 100ms)
	MaxBackoff   time.Duration // longest delay between two tries (default 5s)
	// RetryMaxTime bounds the time spent on one event: no retry starts
	// later than this after the first try (default 30s).
	RetryMaxTime time.Duration
	// Capture, if set, replaces every handler: each event a handler would
	// deliver is handed to it synchronously, with the handler's kind, its
	// target (a TCP address, ...) and the payload (JSON without newline).
	Capture func(kind, target string, payload []byte)
}

func (o DeliveryOptions) withDefaults() DeliveryOptions {
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
	if o.Attempts <= 0 {
		o.Attempts = 4
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

// handlerKind builds a handler from handler-file options (or the
// equivalent script property). One entry per kind, shared by the script
// properties and handler files.
type handlerKind struct {
	options []string // accepted option keys, besides commonOptions
	// check validates option values; errors name the option ("path: ...").
	check func(opts map[string]any) error
	new   func(opts map[string]any, t *Task, id string) (handler, error)
	// target names where the handler delivers, from its options (e.g. the
	// TCP address), for statistics and captured deliveries.
	target func(opts map[string]any) string
	// request, if set, makes the kind a webhook (handler_webhook.go): it
	// resolves the options against kapacitor.conf into the request each
	// event becomes; new and target are then unused.
	request func(opts map[string]any, t *Task) (*webhook, error)
}

// commonOptions are accepted by every handler kind.
var commonOptions = []string{"queue-size"}

var handlerKinds = map[string]*handlerKind{}

func registerHandler(kind string, k *handlerKind) {
	if _, dup := handlerKinds[kind]; dup {
		panic("pipeline: handler kind " + kind + " registered twice")
	}
	handlerKinds[kind] = k
}

// accepts reports whether key is an option of the kind.
func (k *handlerKind) accepts(key string) bool {
	for _, o := range k.options {
		if o == key {
			return true
		}
	}
	for _, o := range commonOptions {
		if o == key {
			return true
		}
	}
	return false
}

// validate checks option keys strictly, then option values.
func (k *handlerKind) validate(kind string, opts map[string]any) error {
	var bad []string
	for key := range opts {
		if !k.accepts(key) {
			bad = append(bad, key)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("%s handler has invalid keys: %s", kind, strings.Join(bad, ", "))
	}
	if _, err := optInt(opts, "queue-size", 0); err != nil {
		return err
	}
	if k.check != nil {
		return k.check(opts)
	}
	return nil
}

func unknownKind(kind string) error {
	var kinds []string
	for name := range handlerKinds {
		kinds = append(kinds, name)
	}
	sort.Strings(kinds)
	return fmt.Errorf("handler kind %q is not supported by tickrun (supported: %v)%s", kind, kinds, suggest(kind, kinds))
}

// newHandler checks options strictly and creates a handler.
func newHandler(kind string, opts map[string]any, t *Task, id string) (handler, error) {
	k, ok := handlerKinds[kind]
	if !ok {
		return nil, unknownKind(kind)
	}
	if err := k.validate(kind, opts); err != nil {
		return nil, err
	}
	if k.request != nil {
		return newWebhookHandler(kind, k, opts, t)
	}
	if t != nil && t.opts.Deliver.Capture != nil {
		return &captureHandler{kind: kind, target: k.target(opts), capture: t.opts.Deliver.Capture}, nil
	}
	return k.new(opts, t, id)
}

// deliveryOptions returns the task's delivery options with the handler's
// own queue-size and in-flight (tcp), if it has them.
func deliveryOptions(t *Task, opts map[string]any) DeliveryOptions {
	o := t.opts.Deliver
	if n, _ := optInt(opts, "queue-size", 0); n > 0 {
		o.QueueSize = int(n)
	}
	if n, _ := optInt(opts, "in-flight", 0); n > 0 {
		o.InFlight = int(n)
	}
	return o.withDefaults()
}

// captureHandler hands events to DeliveryOptions.Capture instead of
// delivering them (tickrun test, embedding tests).
type captureHandler struct {
	kind, target string
	capture      func(kind, target string, payload []byte)
	// build, if set, turns the event into what the kind sends (a
	// webhook's request body); events it fails on are not captured.
	build func(ev *Event, payload []byte) ([]byte, error)
	sent  int64
}

func (h *captureHandler) deliver(ev *Event, payload []byte) {
	if h.build != nil {
		b, err := h.build(ev, payload)
		if err != nil {
			return
		}
		payload = b
	}
	h.sent++
	h.capture(h.kind, h.target, payload)
}

func (h *captureHandler) close(context.Context) error { return nil }

func (h *captureHandler) stats() HandlerStats {
	return HandlerStats{Name: h.kind + " " + h.target, Sent: h.sent}
}
