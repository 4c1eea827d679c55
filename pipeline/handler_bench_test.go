package pipeline

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// BenchmarkDelivery pushes b.N events through a tcp handler to a local
// sink that reads every connection to EOF, and reports delivered events
// per second, the drain at the end included.
func BenchmarkDelivery(b *testing.B) {
	for _, persistent := range []bool{false, true} {
		name := "per_event"
		if persistent {
			name = "persistent"
		}
		b.Run(name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() { io.Copy(io.Discard, c); c.Close() }()
				}
			}()
			task := &Task{opts: Options{Deliver: DeliveryOptions{QueueSize: b.N + 1}}}
			h, err := newHandler("tcp", map[string]any{"address": ln.Addr().String(), "persistent": persistent}, task, "bench")
			if err != nil {
				b.Fatal(err)
			}
			payload := []byte(`{"id":"cpu:nil","message":"cpu:nil is CRITICAL","details":"","time":"2026-01-01T00:00:00Z","duration":0,"level":"CRITICAL","data":{"series":[{"name":"cpu","columns":["time","usage_idle"],"values":[["2026-01-01T00:00:00Z",5]]}]},"previousLevel":"OK","recoverable":true}`)
			ev := &Event{ID: "cpu:nil"}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				h.deliver(ev, payload)
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
