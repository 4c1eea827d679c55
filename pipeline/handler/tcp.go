package handler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/tickrun/tickrun/pipeline/deliver"
)

// The tcp kind sends each event as Kapacitor does (alert.md §13.1): a new
// connection per event, the JSON followed by "\n\n", then close. Unlike
// Kapacitor it delivers from a queue beside the pipeline, with dial and
// write timeouts and retries (queueHandler), and it only counts an event
// as sent once the peer has confirmed it: after writing, tickrun
// half-closes the connection and waits for the peer to close its side.
// A peer that resets the connection, or never reads and so never closes,
// fails the attempt, which is retried; a Kapacitor sink reads to EOF and
// closes, so it confirms every event.
//
// Waiting for each confirmation before the next dial would cap delivery
// at one round trip per event, so deliveries overlap: events are dialled
// one at a time, in order (the endpoint accepts them in that order), and
// up to in-flight of them (DeliveryOptions.InFlight) are written and wait
// for their confirmation at once. An event whose connection fails after
// it was accepted is retried after the events dialled since; with
// in-flight: 1 it is retried before them.
//
// With the option persistent: true the handler keeps one connection and
// writes newline-delimited JSON, reconnecting on error. That is much
// faster but has no per-event confirmation: events already in the kernel's
// buffers when a connection breaks may be lost (the end of the stream is
// still confirmed at close, and a failure there is logged).
func init() {
	register(&Kind{
		Name: "tcp", Doc: "sends each event's JSON to a TCP address, one connection per event (Kapacitor's bytes)",
		Property: &Property{Name: "tcp", Args: []string{"address"}},
		Options: []Option{
			{Name: "address", Type: String, Doc: "host:port to connect to"},
			{Name: "persistent", Type: Bool, Doc: "keep one connection and send newline-delimited JSON", Default: "false"},
			{Name: "in-flight", Type: Int, Doc: "events written and awaiting their endpoint's confirmation at once", Default: "32 (--in-flight)"},
		},
		check: func(o opts) error {
			addr, err := o.string("address", true)
			if err != nil {
				return err
			}
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return fmt.Errorf("address: want host:port, got %q", addr)
			}
			if n, err := o.int("in-flight", 1); err != nil || n < 1 {
				return fmt.Errorf("in-flight: want a positive integer, got %v", o["in-flight"])
			}
			return nil
		},
		open: func(o opts, env *Env) (*endpoint, error) {
			addr, _ := o.string("address", true)
			persistent, _ := o.bool("persistent")
			d := deliveryOptions(env, o)
			if persistent {
				c := &tcpStream{addr: addr, opts: d, log: env.log}
				return &endpoint{target: addr, suffix: "\n", try: c.try, finish: c.finish}, nil
			}
			c := &tcpPerEvent{addr: addr, opts: d}
			return &endpoint{target: addr, suffix: "\n\n", try: c.try, begin: c.begin}, nil
		},
	})
}

// tcpPerEvent delivers one event per connection.
type tcpPerEvent struct {
	addr string
	opts deliver.Options
}

func (c *tcpPerEvent) try(ctx context.Context, payload []byte) error {
	wait, err := c.begin(ctx, payload)
	if err != nil {
		return err
	}
	return wait()
}

// begin dials; end writes the event, half-closes the connection and
// waits (up to the write timeout) for the peer to close its side: the
// peer has then read everything. Bytes the peer sends are ignored.
func (c *tcpPerEvent) begin(ctx context.Context, payload []byte) (end func() error, err error) {
	// No keep-alive: the connection carries one event.
	d := net.Dialer{Timeout: c.opts.DialTimeout, KeepAlive: -1}
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, err
	}
	return func() error {
		defer conn.Close()
		stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
		defer stop()
		if err := conn.SetDeadline(time.Now().Add(c.opts.WriteTimeout)); err != nil {
			return err
		}
		if ctx.Err() != nil { // the deadline just set may have replaced the AfterFunc's
			return ctx.Err()
		}
		if _, err := conn.Write(payload); err != nil {
			return err
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			if err := tc.CloseWrite(); err != nil {
				return err
			}
		}
		if _, err := io.Copy(io.Discard, conn); err != nil {
			return fmt.Errorf("the peer did not confirm the event: %w", err)
		}
		return nil
	}, nil
}

// tcpStream delivers events as newline-delimited JSON over one
// connection, opened on first use and reopened after an error. Only the
// delivery goroutine uses it.
type tcpStream struct {
	addr    string
	opts    deliver.Options
	log     func(format string, args ...any)
	conn    net.Conn
	written int64         // events written on conn
	closed  chan struct{} // closed when the peer closes or resets conn
	mu      sync.Mutex
	readErr error
}

func (c *tcpStream) try(ctx context.Context, payload []byte) error {
	if c.conn != nil {
		select {
		case <-c.closed: // the peer went away: do not write into the void
			c.drop()
		default:
		}
	}
	if c.conn == nil {
		d := net.Dialer{Timeout: c.opts.DialTimeout}
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return err
		}
		c.conn, c.written, c.closed, c.readErr = conn, 0, make(chan struct{}), nil
		// Read (and discard) what the peer sends, to learn at once when
		// it closes or resets the connection.
		go func(conn net.Conn, closed chan struct{}) {
			_, err := io.Copy(io.Discard, conn)
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			close(closed)
		}(conn, c.closed)
	}
	conn := c.conn
	stop := context.AfterFunc(ctx, func() { conn.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	conn.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	if _, err := conn.Write(payload); err != nil {
		c.drop()
		return err
	}
	c.written++
	return nil
}

// drop closes a broken connection; the next try reconnects.
func (c *tcpStream) drop() {
	c.conn.Close()
	<-c.closed
	c.conn = nil
}

// finish ends the stream: half-close, then wait for the peer to close,
// which confirms it read every event.
func (c *tcpStream) finish(ctx context.Context) {
	if c.conn == nil {
		return
	}
	defer c.drop()
	var err error
	if tc, ok := c.conn.(*net.TCPConn); ok {
		err = tc.CloseWrite()
	}
	if err == nil {
		select {
		case <-c.closed:
			c.mu.Lock()
			err = c.readErr
			c.mu.Unlock()
		case <-time.After(c.opts.WriteTimeout):
			err = errors.New("the peer did not close the connection")
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		c.log("tcp handler %s: end of stream not confirmed, %d events written on the last connection may be lost: %v", c.addr, c.written, err)
	}
}
