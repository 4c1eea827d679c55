package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// tcpHandler sends each event as Kapacitor does (alert.md §13.1): a new
// connection per event, the JSON followed by "\n\n", then close. Unlike
// Kapacitor it delivers from a queue in its own goroutine, so a slow or
// dead endpoint never stalls the pipeline, uses dial and write timeouts,
// and retries a failed delivery with exponential backoff before counting it
// as dropped.
type tcpHandler struct {
	addr  string
	opts  DeliveryOptions
	log   func(format string, args ...any)
	queue chan tcpItem
	done  chan struct{}
	once  sync.Once

	sent, retried, dropped atomic.Int64
}

type tcpItem struct {
	id      string
	payload []byte
}

func init() {
	registerHandler("tcp", &handlerKind{
		options: []string{"address"},
		new: func(opts map[string]any, t *Task, id string) (handler, error) {
			addr, ok := opts["address"].(string)
			if !ok || addr == "" {
				return nil, errors.New("tcp handler needs options.address (host:port)")
			}
			return newTCPHandler(addr, t), nil
		},
		target: func(opts map[string]any) string { s, _ := opts["address"].(string); return s },
	})
}

func newTCPHandler(addr string, t *Task) *tcpHandler {
	h := &tcpHandler{addr: addr, opts: t.opts.Deliver.withDefaults(), log: t.logf, done: make(chan struct{})}
	h.queue = make(chan tcpItem, h.opts.QueueSize)
	go h.run()
	return h
}

func (h *tcpHandler) deliver(ev *Event, payload []byte) {
	b := make([]byte, 0, len(payload)+2)
	b = append(append(b, payload...), '\n', '\n')
	select {
	case h.queue <- tcpItem{ev.ID, b}:
	default:
		h.dropped.Add(1)
		h.log("tcp handler %s: queue full, dropped event %q", h.addr, ev.ID)
	}
}

func (h *tcpHandler) run() {
	defer close(h.done)
	for item := range h.queue {
		h.send(item)
	}
}

// send delivers one event, retrying with exponential backoff.
func (h *tcpHandler) send(item tcpItem) {
	delay := h.opts.Backoff
	var err error
	for attempt := 1; attempt <= h.opts.Attempts; attempt++ {
		if err = h.write(item.payload); err == nil {
			h.sent.Add(1)
			return
		}
		if attempt < h.opts.Attempts {
			h.retried.Add(1)
			time.Sleep(delay)
			delay *= 2
		}
	}
	h.dropped.Add(1)
	h.log("tcp handler failed to deliver event %q to %s after %d attempts: %v", item.id, h.addr, h.opts.Attempts, err)
}

func (h *tcpHandler) write(payload []byte) error {
	conn, err := net.DialTimeout("tcp", h.addr, h.opts.DialTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout)); err != nil {
		return err
	}
	_, err = conn.Write(payload)
	return err
}

func (h *tcpHandler) close(ctx context.Context) error {
	h.once.Do(func() { close(h.queue) })
	select {
	case <-h.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("tcp handler %s: %d events still queued: %w", h.addr, len(h.queue), ctx.Err())
	}
}

func (h *tcpHandler) stats() HandlerStats {
	return HandlerStats{Name: "tcp " + h.addr, Sent: h.sent.Load(), Retried: h.retried.Load(), Dropped: h.dropped.Load()}
}
