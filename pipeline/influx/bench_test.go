package influx_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickrun/tickrun/pipeline/influx"
)

// answer builds an InfluxDB answer to `SELECT usage_idle FROM cpu GROUP BY
// host` over hosts series of rows 10 s points, as InfluxDB 1.6 prints it.
func answer(hosts, rows int) []byte {
	var b strings.Builder
	b.WriteString(`{"results":[{"statement_id":0,"series":[`)
	start := time.Date(2023, 11, 14, 0, 0, 0, 0, time.UTC)
	for h := range hosts {
		if h > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"cpu","tags":{"host":"host%03d"},"columns":["time","usage_idle"],"values":[`, h)
		for r := range rows {
			if r > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`["`)
			b.WriteString(start.Add(time.Duration(r) * 10 * time.Second).Format(time.RFC3339))
			b.WriteString(`",`)
			b.WriteString(strconv.FormatFloat(float64((h*7919+r*104729)%10000)/100, 'f', -1, 64))
			b.WriteString(`]`)
		}
		b.WriteString(`]}`)
	}
	b.WriteString("]}]}\n")
	return []byte(b.String())
}

// BenchmarkDecode decodes query answers: a typical batch (100 hosts, a 5 m
// window of 10 s points) and a large one (100 hosts, a day of 10 s points,
// 864,000 rows, as a backtest's raw SELECT returns). "reference" is
// encoding/json into Kapacitor's structs with UseNumber, what Kapacitor
// does, for comparison.
func BenchmarkDecode(b *testing.B) {
	for _, size := range []struct {
		name        string
		hosts, rows int
	}{{"100x30", 100, 30}, {"100x8640", 100, 8640}} {
		body := answer(size.hosts, size.rows)
		b.Run(size.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				r, err := influx.DecodeResponse(body)
				if err != nil || len(r.Results[0].Series) != size.hosts {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size.hosts*size.rows), "ns/row")
		})
		b.Run(size.name+"/reference", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := referenceDecode(body); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size.hosts*size.rows), "ns/row")
		})
	}
}
