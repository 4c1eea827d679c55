package server_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tickrun/tickrun/internal/tickgen"
)

// serveBatches is the telegraf cpu data set cut into gzip batches of
// 5,000 lines, as Telegraf's outputs.influxdb sends them. With
// measurements > 0, line j is renamed m<j % measurements>.
func serveBatches(b testing.TB, points, measurements int) [][]byte {
	var all bytes.Buffer
	if err := tickgen.Generate(&all, tickgen.Config{Points: points, Hosts: 100, Seed: 1, Start: 1700000000}); err != nil {
		b.Fatal(err)
	}
	lines := bytes.SplitAfter(bytes.TrimSuffix(all.Bytes(), []byte("\n")), []byte("\n"))
	if measurements > 0 {
		for j, l := range lines {
			lines[j] = append([]byte(fmt.Sprintf("m%d", j%measurements)), bytes.TrimPrefix(l, []byte("cpu"))...)
		}
	}
	var out [][]byte
	for i := 0; i < len(lines); i += 5000 {
		out = append(out, gzippedB(bytes.Join(lines[i:min(i+5000, len(lines))], nil)))
	}
	return out
}

const benchSeed = `stream|from().measurement('MEASUREMENT')|alert().crit(lambda: "usage_idle" < 10).message('Hey, check your CPU')`

// BenchmarkServeWrite posts gzip batches of 5,000 telegraf cpu lines
// (no alert fires) to a real server on loopback, two requests in
// flight. One op is one batch. Cases: the seed script alone; 100 tasks
// each on its own measurement (the points spread over the 100); 100
// copies of the seed script, all on cpu. Besides points/s it reports
// the CPU time of client and server per point, steadier on a shared
// machine.
func BenchmarkServeWrite(b *testing.B) {
	for _, bc := range []struct {
		name         string
		tasks        int
		measurements int // 0: all cpu
	}{
		{"seed", 1, 0},
		{"separate100", 100, 100},
		{"shared100", 100, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ts := startServer(b, b.TempDir(), nil)
			for i := range bc.tasks {
				m := "cpu"
				if bc.measurements > 0 {
					m = fmt.Sprintf("m%d", i)
				}
				script := strings.ReplaceAll(strings.Replace(benchSeed, "MEASUREMENT", m, 1), `"`, `\"`)
				body := fmt.Sprintf(`{"id":"t%d","status":"enabled","dbrps":[{"db":"telegraf","rp":"autogen"}],"script":"%s"}`, i, script)
				resp, err := http.Post(ts.url+"/kapacitor/v1/tasks", "application/json", strings.NewReader(body))
				if err != nil || resp.StatusCode != 200 {
					b.Fatal(err, resp)
				}
				resp.Body.Close()
			}
			batches := serveBatches(b, 100_000, bc.measurements)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2, DisableCompression: true}}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			work := make(chan []byte)
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() {
					for data := range work {
						req, _ := http.NewRequest("POST", ts.url+"/write?db=telegraf&rp=autogen", bytes.NewReader(data))
						req.Header.Set("Content-Encoding", "gzip")
						resp, err := client.Do(req)
						if err != nil || resp.StatusCode != http.StatusNoContent {
							b.Error(err, resp)
							return
						}
						resp.Body.Close()
					}
				})
			}
			for i := 0; i < b.N; i++ {
				work <- batches[i%len(batches)]
			}
			close(work)
			wg.Wait()
			b.ReportMetric(float64(b.N*5000)/b.Elapsed().Seconds(), "points/s")
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*5000), "cpu-ns/point")
		})
	}
}

// cpuTime is the CPU time this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func gzippedB(data []byte) []byte {
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	gz.Write(data)
	gz.Close()
	return b.Bytes()
}
