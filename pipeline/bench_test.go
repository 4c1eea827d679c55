package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/internal/testsink"
	"github.com/tickrun/tickrun/internal/tickgen"
	"github.com/tickrun/tickrun/parser"
	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/pipeline/deliver"
	"github.com/tickrun/tickrun/pipeline/handler"
	"github.com/tickrun/tickrun/pipeline/lineproto"
)

// The scripts of the speed targets (issue 6).
var benchScripts = map[string]string{
	"seed": `stream
    |from()
        .measurement('cpu')
    |alert()
        .crit(lambda: "usage_idle" < 10)
        .message('Hey, check your CPU')`,
	"window_mean": `stream
    |from()
        .measurement('cpu')
    |window()
        .period(10s)
        .every(10s)
    |mean('usage_idle')
    |alert()
        .crit(lambda: "mean" < 10)`,
	"window_mean_by_host": `stream
    |from()
        .measurement('cpu')
        .groupBy('host')
    |window()
        .period(10s)
        .every(10s)
    |mean('usage_idle')
    |alert()
        .crit(lambda: "mean" < 10)`,
}

var (
	benchDataMu sync.Mutex
	benchData   = map[float64][]byte{}
)

// cpuData returns 100k points of the benchmark data set (100 hosts) with
// the given share of critical points.
func cpuData(b testing.TB, crit float64) []byte {
	benchDataMu.Lock()
	defer benchDataMu.Unlock()
	if d, ok := benchData[crit]; ok {
		return d
	}
	var buf bytes.Buffer
	if err := tickgen.Generate(&buf, tickgen.Config{Points: 100_000, Hosts: 100, Crit: crit, Seed: 1, Start: 1700000000}); err != nil {
		b.Fatal(err)
	}
	benchData[crit] = buf.Bytes()
	return buf.Bytes()
}

const benchPoints = 100_000

// BenchmarkPipeline runs decode -> task over 100k points per op.
func BenchmarkPipeline(b *testing.B) {
	cases := []struct {
		name   string
		script string
		crit   float64
	}{
		{"seed_no_alert", "seed", 0},
		{"seed_alerts", "seed", 0.1},
		{"window_mean", "window_mean", 0},
		{"window_mean_by_host", "window_mean_by_host", 0},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			data := cpuData(b, c.crit)
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			var events int64
			for i := 0; i < b.N; i++ {
				task, err := pipeline.Compile("bench", "bench.tick", benchScripts[c.script], pipeline.Options{
					OnEvent: func(*pipeline.Event, []byte) { events++ },
				})
				if err != nil {
					b.Fatal(task.ErrorText(err))
				}
				if _, err := task.WriteLineProtocol(bytes.NewReader(data), "telegraf", "autogen", "", nil); err != nil {
					b.Fatal(err)
				}
				task.Close(context.Background())
			}
			b.ReportMetric(float64(b.N*benchPoints)/b.Elapsed().Seconds(), "points/s")
			b.ReportMetric(float64(events)/float64(b.N), "events/op")
		})
	}
}

// BenchmarkPipelineTCP is the delivery row of issue 6: the seed script
// over 100k points of which 18,820 raise an event, each sent over TCP to a
// local sink that reads every connection to EOF — one connection per event
// (Kapacitor's framing) or one persistent connection — the drain at the
// end included.
func BenchmarkPipelineTCP(b *testing.B) {
	for _, persistent := range []bool{false, true} {
		name := "per_event"
		if persistent {
			name = "persistent"
		}
		b.Run(name, func(b *testing.B) {
			addr := testsink.Discard(b)
			spec, err := handler.ParseFile("h.yaml", []byte(fmt.Sprintf(
				"id: h\ntopic: cpu\nkind: tcp\noptions:\n  address: %s\n  persistent: %v\n", addr, persistent)))
			if err != nil {
				b.Fatal(err)
			}
			data := cpuData(b, 0.1)
			b.ReportAllocs()
			var sent int64
			for i := 0; i < b.N; i++ {
				task, err := pipeline.Compile("bench", "bench.tick", benchScripts["seed"]+".topic('cpu')", pipeline.Options{
					Handlers: []*handler.Spec{spec},
					Deliver:  deliver.Options{QueueSize: 2 * benchPoints},
				})
				if err != nil {
					b.Fatal(task.ErrorText(err))
				}
				if _, err := task.WriteLineProtocol(bytes.NewReader(data), "telegraf", "autogen", "", nil); err != nil {
					b.Fatal(err)
				}
				if err := task.Close(context.Background()); err != nil {
					b.Fatal(err)
				}
				for _, st := range task.HandlerStats() {
					if st.Dropped > 0 {
						b.Fatalf("dropped: %+v", st)
					}
					sent += st.Sent
				}
			}
			b.ReportMetric(float64(b.N*benchPoints)/b.Elapsed().Seconds(), "points/s")
			b.ReportMetric(float64(sent)/float64(b.N), "events/op")
		})
	}
}

// BenchmarkWritePoint measures the task alone (no decoding) on a point
// that raises no event: from -> alert with "usage_idle" < 10 false.
func BenchmarkWritePoint(b *testing.B) {
	task, p := seedTask(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		task.WritePoint(p)
	}
}

func seedTask(tb testing.TB) (*pipeline.Task, *pipeline.Point) {
	task, err := pipeline.Compile("bench", "bench.tick", benchScripts["seed"], pipeline.Options{})
	if err != nil {
		tb.Fatal(task.ErrorText(err))
	}
	d := lineproto.NewDecoder(bytes.NewReader(cpuData(tb, 0)))
	d.Database, d.RP = "telegraf", "autogen"
	p, err := d.Next()
	if err != nil || p == nil {
		tb.Fatal("no point", err)
	}
	return task, p
}

// The hot path allocates nothing: a point through from -> alert that
// raises no event.
func TestWritePointAllocations(t *testing.T) {
	task, p := seedTask(t)
	allocs := testing.AllocsPerRun(1000, func() { task.WritePoint(p) })
	if allocs != 0 {
		t.Fatalf("WritePoint allocates %.1f times per point, want 0", allocs)
	}
}

// BenchmarkLambda is `"usage_idle" < 10` on one decoded telegraf point (10
// fields, 2 tags): the lambda target of issue 6.
func BenchmarkLambda(b *testing.B) {
	_, p := seedTask(b)
	x, err := parser.ParseExpr("lambda", `"usage_idle" < 10`)
	if err != nil {
		b.Fatal(err)
	}
	l, probs := eval.Compile(x, &eval.Env{}, eval.Bool)
	if len(probs) > 0 {
		b.Fatal(probs)
	}
	e := l.New()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.EvalBool(p); err != nil {
			b.Fatal(err)
		}
	}
}
