package server

import (
	"fmt"
	"testing"

	"github.com/tickrun/tickrun/server/api"
	"github.com/tickrun/tickrun/server/cluster"
	"github.com/tickrun/tickrun/server/store"
)

// BenchmarkScaleWrite is the engine's side of a broker input: one
// message of one line (Telegraf's outputs.nats with a subject per host)
// into the seed script grouped by host, with a cut every 1,000 messages.
func BenchmarkScaleWrite(b *testing.B) {
	e := scaleEngine(b, "stream|from().measurement('cpu').groupBy('host')|alert().crit(lambda: \"usage_idle\" < 10).message('Hey, check your CPU')")
	msgs := make([][]byte, 1000)
	for i := range msgs {
		msgs[i] = []byte(fmt.Sprintf("cpu,host=host%03d,cpu=cpu-total usage_idle=%d.5,usage_user=3.25,usage_system=1.5 %d\n", i%100, 20+i%70, int64(1700000000+i)*1e9))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.scale.Write(0, 0, int64(i+1), msgs[i%len(msgs)])
		if i%1000 == 999 {
			_, release := e.scale.Cut([]int32{0})
			release()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkScaleCut is the checkpoint of one shard holding 10,000 groups
// of a window (3 points each) and an alert: the cost every
// checkpoint-interval, and the size stored in the broker.
func BenchmarkScaleCut(b *testing.B) {
	e := scaleEngine(b, "stream|from().measurement('cpu').groupBy('host')|window().period(3s).every(1s)|mean('usage_idle')|alert().crit(lambda: \"mean\" < 10)")
	const hosts = 10000
	off := int64(0)
	for s := 0; s < 3; s++ {
		for h := 0; h < hosts; h++ {
			off++
			e.scale.Write(0, 0, off, []byte(fmt.Sprintf("cpu,host=h%05d usage_idle=%d.5 %d", h, 20+h%70, int64(1700000000+s)*1e9)))
		}
	}
	var size int
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cps, release := e.scale.Cut([]int32{0})
		raw, err := cluster.Encode(cps[0])
		if err != nil {
			b.Fatal(err)
		}
		size = len(raw)
		release()
	}
	b.ReportMetric(float64(size), "bytes/checkpoint")
}

// scaleEngine is an engine with a broker input's side, running script as
// task t and owning shard 0.
func scaleEngine(b *testing.B, script string) *engine {
	st, err := store.Open(b.TempDir() + "/k.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	e := newEngine(engineOptions{Store: st})
	e.scale = newScaleOut(e, "host", "telegraf", "autogen", "bench")
	if err := e.Start(api.TaskSpec{ID: "t", Type: "stream", Script: script, DBRPs: []store.DBRP{{DB: "telegraf", RP: "autogen"}}}); err != nil {
		b.Fatal(err)
	}
	if err := e.scale.Restore(0, nil); err != nil {
		b.Fatal(err)
	}
	return e
}
