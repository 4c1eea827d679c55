package pipeline

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// BenchmarkDelivery pushes b.N events through a tcp handler to a local
// sink that reads every connection to EOF, and reports delivered events
// per second, the drain at the end included. conn_floor is what the
// kernel allows a connection per event without tickrun: the same sink,
// connections dialled in order, 32 written and awaited at once.
func BenchmarkDelivery(b *testing.B) {
	b.Run("conn_floor", func(b *testing.B) {
		addr := startBenchSink(b)
		conns := make(chan net.Conn)
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				for c := range conns {
					c.Write(benchPayload)
					c.(*net.TCPConn).CloseWrite()
					io.Copy(io.Discard, c)
					c.Close()
				}
			})
		}
		d := net.Dialer{KeepAlive: -1}
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			c, err := d.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			conns <- c
		}
		close(conns)
		wg.Wait()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	})
	for _, persistent := range []bool{false, true} {
		name := "per_event"
		if persistent {
			name = "persistent"
		}
		b.Run(name, func(b *testing.B) {
			addr := startBenchSink(b)
			task := &Task{opts: Options{Deliver: DeliveryOptions{QueueSize: b.N + 1}}}
			h, err := newHandler("tcp", map[string]any{"address": addr, "persistent": persistent}, task, "bench")
			if err != nil {
				b.Fatal(err)
			}
			ev := &Event{ID: "cpu:nil"}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				h.deliver(ev, benchPayload)
			}
			enqueued := time.Since(start)
			if err := h.close(context.Background()); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			if st := h.stats(); st.Sent != int64(b.N) {
				b.Fatalf("sent %d of %d: %+v", st.Sent, b.N, st)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(enqueued.Nanoseconds())/float64(b.N), "ns-enqueue/op")
		})
	}
}

var benchPayload = []byte(`{"id":"cpu:nil","message":"cpu:nil is CRITICAL","details":"","time":"2026-01-01T00:00:00Z","duration":0,"level":"CRITICAL","data":{"series":[{"name":"cpu","columns":["time","usage_idle"],"values":[["2026-01-01T00:00:00Z",5]]}]},"previousLevel":"OK","recoverable":true}`)

// startBenchSink listens on a local port, reads every connection to EOF
// and closes it; it returns the address.
func startBenchSink(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
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
