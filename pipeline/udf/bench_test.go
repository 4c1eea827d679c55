package udf

import (
	"sync/atomic"
	"testing"
)

// BenchmarkMirror pushes points through the mirror UDF (a process on
// Kapacitor's Go agent) and waits for every one to come back: the
// round-trip throughput of a process UDF, reported as points/s.
func BenchmarkMirror(b *testing.B) {
	b.Run("stream", func(b *testing.B) {
		var got atomic.Int64
		done := make(chan struct{})
		want := int64(0)
		c, err := Start("mirror", procConfig(b, "mirror"), Options{
			OnPoint: func(*Point) {
				if got.Add(1) == atomic.LoadInt64(&want) {
					close(done)
				}
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Abort()
		if err := c.Init("", "", nil); err != nil {
			b.Fatal(err)
		}
		p := pt(1, "host=a,region=eu", []Tag{{"cpu", "cpu0"}, {"host", "a"}, {"region", "eu"}},
			f("usage_idle", DoubleValue(97.5)), f("usage_user", DoubleValue(1.5)), f("count", IntValue(12)))
		atomic.StoreInt64(&want, int64(b.N))
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			p.Timestamp = int64(i)
			if err := c.WritePoint(p); err != nil {
				b.Fatal(err)
			}
		}
		<-done
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "points/s")
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkCodec measures the host's own share of a point's round trip:
// encoding a stream point as a request, and decoding a point response.
func BenchmarkCodec(b *testing.B) {
	p := pt(1, "host=a,region=eu", []Tag{{"cpu", "cpu0"}, {"host", "a"}, {"region", "eu"}},
		f("usage_idle", DoubleValue(97.5)), f("usage_user", DoubleValue(1.5)), f("count", IntValue(12)))
	b.Run("encode", func(b *testing.B) {
		enc := newEncoder()
		var buf []byte
		b.ReportAllocs()
		for range b.N {
			var err error
			if buf, err = enc.appendPoint(buf[:0], p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		frame, err := newEncoder().appendPoint(nil, p)
		if err != nil {
			b.Fatal(err)
		}
		stream := &repeatReader{frame: frame}
		d := newDecoder(stream)
		b.ReportAllocs()
		for range b.N {
			if _, err := d.next(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// repeatReader reads the same frame over and over.
type repeatReader struct {
	frame []byte
	off   int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.frame[r.off:])
		n += c
		r.off = (r.off + c) % len(r.frame)
	}
	return n, nil
}
