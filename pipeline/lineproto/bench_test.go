package lineproto

import (
	"bytes"
	"testing"

	"github.com/tickrun/tickrun/internal/tickgen"
)

// benchPoints is the size of the benchmark data set.
const benchPoints = 100_000

// cpuData returns 100k telegraf cpu points of 100 hosts.
func cpuData(b testing.TB) []byte {
	var buf bytes.Buffer
	if err := tickgen.Generate(&buf, tickgen.Config{Points: benchPoints, Hosts: 100, Seed: 1, Start: 1700000000}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkDecode measures the decoder alone over the data set.
func BenchmarkDecode(b *testing.B) {
	data := cpuData(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		d := NewDecoder(bytes.NewReader(data))
		for {
			p, _ := d.Next()
			if p == nil {
				break
			}
		}
	}
	b.ReportMetric(float64(b.N*benchPoints)/b.Elapsed().Seconds(), "points/s")
}
