package handler

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tickrun/tickrun/internal/testsink"
	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/deliver"
)

// BenchmarkDelivery pushes b.N events through a tcp handler to a local
// sink that reads every connection to EOF, and reports delivered events
// per second, the drain at the end included. conn_floor is what the
// kernel allows a connection per event without tickrun: the same sink,
// connections dialled in order, 32 written and awaited at once.
func BenchmarkDelivery(b *testing.B) {
	b.Run("conn_floor", func(b *testing.B) {
		addr := testsink.Discard(b)
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
			addr := testsink.Discard(b)
			h, err := New("tcp", map[string]any{"address": addr, "persistent": persistent}, &Env{Deliver: deliver.Options{QueueSize: b.N + 1}})
			if err != nil {
				b.Fatal(err)
			}
			ev := &alert.Event{ID: "cpu:nil"}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				h.Deliver(ev, benchPayload)
			}
			enqueued := time.Since(start)
			if err := h.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			if st := h.Stats(); st.Sent != int64(b.N) {
				b.Fatalf("sent %d of %d: %+v", st.Sent, b.N, st)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(enqueued.Nanoseconds())/float64(b.N), "ns-enqueue/op")
		})
	}
}

var benchPayload = []byte(`{"id":"cpu:nil","message":"cpu:nil is CRITICAL","details":"","time":"2026-01-01T00:00:00Z","duration":0,"level":"CRITICAL","data":{"series":[{"name":"cpu","columns":["time","usage_idle"],"values":[["2026-01-01T00:00:00Z",5]]}]},"previousLevel":"OK","recoverable":true}`)
