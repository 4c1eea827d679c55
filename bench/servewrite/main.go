// Command servewrite is the client of the `tickrun serve` benchmarks
// (bench/serve.sh): it defines the workload's tasks through the API,
// then writes the telegraf cpu data set of internal/tickgen as Telegraf's
// outputs.influxdb does, in gzip batches of -batch lines over -conns
// connections, and prints the points per second from the first request to
// the last answer, with the server's peak RSS (-pid) and the points its
// tasks received (from /metrics, to check that nothing was lost).
//
// The batches are compressed before the clock starts: Telegraf spends
// that time on its own side. -gzip-in-loop counts it too.
//
// Workloads:
//
//	seed      the seed script on cpu (one task)
//	separate  -tasks tasks, task i on measurement m<i>; point j is renamed m<j % tasks>
//	shared    -tasks copies of the seed script, all on cpu
//
//	go run ./bench/servewrite -url http://127.0.0.1:19092 -workload seed -n 1000000
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tickrun/tickrun/internal/tickgen"
)

const seedScript = `stream
    |from()
        .measurement('MEASUREMENT')
    |alert()
        .crit(lambda: "usage_idle" < 10)
        .message('Hey, check your CPU')
`

func main() {
	url := flag.String("url", "http://127.0.0.1:19092", "the server")
	workload := flag.String("workload", "seed", "seed, separate or shared")
	tasks := flag.Int("tasks", 100, "tasks of the separate and shared workloads")
	n := flag.Int("n", 1_000_000, "points")
	batch := flag.Int("batch", 5000, "lines per request")
	conns := flag.Int("conns", 2, "requests in flight")
	pid := flag.Int("pid", 0, "the server's process id, for its peak RSS")
	gzipInLoop := flag.Bool("gzip-in-loop", false, "compress each batch inside the timed loop")
	flag.Parse()

	ids := define(*url, *workload, *tasks)
	batches := makeBatches(*n, *batch, *workload, *tasks, !*gzipInLoop)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conns, DisableCompression: true}}
	work := make(chan []byte)
	var wg sync.WaitGroup
	cpu0 := cpuSeconds(*pid)
	start := time.Now()
	for range *conns {
		wg.Go(func() {
			for b := range work {
				if *gzipInLoop {
					b = compress(b)
				}
				post(client, *url+"/write?db=telegraf&rp=autogen", b)
			}
		})
	}
	for _, b := range batches {
		work <- b
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuSeconds(*pid) - cpu0
	got := received(*url, ids)
	fmt.Printf("workload=%s tasks=%d points=%d batch=%d conns=%d seconds=%.3f points_per_s=%.0f task_points=%d peak_rss_mib=%.1f server_cpu_ns_per_point=%.0f server_cores=%.2f\n",
		*workload, len(ids), *n, *batch, *conns, elapsed.Seconds(), float64(*n)/elapsed.Seconds(), got, peakRSS(*pid),
		cpu*1e9/float64(*n), cpu/elapsed.Seconds())
}

// define creates the workload's tasks, enabled, and returns their ids.
func define(url, workload string, tasks int) []string {
	var ids []string
	add := func(id, measurement string) {
		body, _ := json.Marshal(map[string]any{"id": id, "status": "enabled", "dbrps": []map[string]string{{"db": "telegraf", "rp": "autogen"}},
			"script": strings.Replace(seedScript, "MEASUREMENT", measurement, 1)})
		resp, err := http.Post(url+"/kapacitor/v1/tasks", "application/json", bytes.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			log.Fatalf("define %s: %d %s", id, resp.StatusCode, b)
		}
		ids = append(ids, id)
	}
	switch workload {
	case "seed":
		add("cpu_alert", "cpu")
	case "separate":
		for i := range tasks {
			add("m"+strconv.Itoa(i), "m"+strconv.Itoa(i))
		}
	case "shared":
		for i := range tasks {
			add("cpu"+strconv.Itoa(i), "cpu")
		}
	default:
		log.Fatalf("unknown workload %q", workload)
	}
	return ids
}

// makeBatches generates the data set and cuts it into batches of lines,
// compressed when gz is set.
func makeBatches(n, size int, workload string, tasks int, gz bool) [][]byte {
	var all bytes.Buffer
	if err := tickgen.Generate(&all, tickgen.Config{Points: n, Hosts: 100, Seed: 1, Start: 1700000000}); err != nil {
		log.Fatal(err)
	}
	var out [][]byte
	var cur bytes.Buffer
	lines := 0
	sc := bufio.NewScanner(&all)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	j := 0
	for sc.Scan() {
		line := sc.Bytes()
		if workload == "separate" {
			// cpu,... -> m<j % tasks>,...
			cur.WriteString("m" + strconv.Itoa(j%tasks))
			line = line[len("cpu"):]
		}
		cur.Write(line)
		cur.WriteByte('\n')
		j++
		if lines++; lines == size {
			out = append(out, finish(&cur, gz))
			lines = 0
		}
	}
	if cur.Len() > 0 {
		out = append(out, finish(&cur, gz))
	}
	return out
}

func finish(cur *bytes.Buffer, gz bool) []byte {
	b := append([]byte(nil), cur.Bytes()...)
	cur.Reset()
	if gz {
		return compress(b)
	}
	return b
}

func compress(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func post(client *http.Client, url string, body []byte) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("User-Agent", "Telegraf")
	resp, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		log.Fatalf("write: status %d", resp.StatusCode)
	}
}

// received sums the points the tasks received, from /metrics.
func received(url string, ids []string) int64 {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	want := map[string]bool{}
	for _, id := range ids {
		want[`tickrun_task_points_received_total{task="`+id+`"}`] = true
	}
	var total int64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && want[k] {
			f, _ := strconv.ParseFloat(v, 64)
			total += int64(f)
		}
	}
	return total
}

// procFile reads /proc/PID/name of the server; false without a pid or
// when it cannot be read.
func procFile(pid int, name string) (string, bool) {
	if pid == 0 {
		return "", false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + name)
	return string(b), err == nil
}

// cpuSeconds is the CPU time the process pid used so far (user and
// system, from /proc/PID/stat, in clock ticks of 10 ms); 0 without one.
func cpuSeconds(pid int) float64 {
	stat, ok := procFile(pid, "stat")
	if !ok {
		return 0
	}
	// The fields after the command name, which is in parentheses:
	// utime and stime are the 12th and 13th of them.
	f := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100
}

// peakRSS reads VmHWM of a process, in MiB.
func peakRSS(pid int) float64 {
	status, _ := procFile(pid, "status")
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
