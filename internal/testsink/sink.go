// Package testsink is the TCP receiver of tickrun's tests and benchmarks:
// a real listener on 127.0.0.1 that records what each connection sent, in
// accept order, as a Kapacitor tcp endpoint's reader would see it.
//
// testsink imports only the standard library; only tests import it.
package testsink

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Sink records the bytes of each accepted connection, in accept order.
type Sink struct {
	ln       net.Listener
	mu       sync.Mutex
	conns    []*bytes.Buffer
	accepted chan struct{}
	wg       sync.WaitGroup
	done     chan struct{}
	once     sync.Once
	out      []string
}

// Start listens on addr ("" for a free port of 127.0.0.1) and records
// every connection until the test ends. behave, if set, handles the n-th
// connection (from 0) instead of reading it to EOF and returns what it
// read (nil: go on reading to EOF); the connection is closed after it.
func Start(tb testing.TB, addr string, behave func(n int, c *net.TCPConn) []byte) *Sink {
	tb.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	s := &Sink{ln: ln, accepted: make(chan struct{}, 1<<16), done: make(chan struct{})}
	tb.Cleanup(func() { ln.Close(); <-s.done; s.wg.Wait() })
	go s.serve(behave)
	return s
}

func (s *Sink) serve(behave func(n int, c *net.TCPConn) []byte) {
	defer close(s.done)
	for n := 0; ; n++ {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		buf := &bytes.Buffer{}
		s.mu.Lock()
		s.conns = append(s.conns, buf)
		s.mu.Unlock()
		select {
		case s.accepted <- struct{}{}:
		default:
		}
		s.wg.Add(1)
		go func(n int) {
			defer s.wg.Done()
			defer conn.Close()
			if behave != nil {
				if b := behave(n, conn.(*net.TCPConn)); b != nil {
					s.mu.Lock()
					buf.Write(b)
					s.mu.Unlock()
					return
				}
			}
			b, _ := io.ReadAll(conn)
			s.mu.Lock()
			buf.Write(b)
			s.mu.Unlock()
		}(n)
	}
}

// Addr returns the address the sink listens on.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Accepted receives a value per accepted connection.
func (s *Sink) Accepted() <-chan struct{} { return s.accepted }

// Received returns what each connection sent so far, in accept order.
func (s *Sink) Received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.conns))
	for i, b := range s.conns {
		out[i] = b.String()
	}
	return out
}

// Close stops the sink and returns what each connection sent. Every
// sender should have finished; a connection still in the accept backlog
// is accepted first (the sink accepts for another 200 ms).
func (s *Sink) Close() []string {
	s.once.Do(func() {
		s.ln.(*net.TCPListener).SetDeadline(time.Now().Add(200 * time.Millisecond))
		<-s.done
		s.ln.Close()
		s.wg.Wait()
		s.out = s.Received()
	})
	return s.out
}

// Discard starts a sink that reads every connection to EOF and keeps
// nothing (for benchmarks); it returns the address.
func Discard(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// FreeAddr returns a local address nobody listens on (for now).
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Buffer is a log that delivery goroutines may write to while a test
// reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
