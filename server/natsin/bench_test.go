package natsin

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/server/cluster"
)

// countSink counts points (lines) and does nothing else.
type countSink struct {
	points      atomic.Int64
	msgs        atomic.Int64
	first, last atomic.Int64 // unix nanos
}

func (s *countSink) Restore(int32, *cluster.Checkpoint) error { return nil }
func (s *countSink) Drop([]int32)                             {}

func (s *countSink) Write(shard, _ int32, _ int64, body []byte) {
	if shard == cluster.Global {
		return // counted once, by its partition
	}
	n := int64(0)
	for _, c := range body {
		if c == '\n' {
			n++
		}
	}
	now := time.Now().UnixNano()
	s.first.CompareAndSwap(0, now)
	s.last.Store(now)
	s.points.Add(n)
	s.msgs.Add(1)
}

func (s *countSink) Cut(shards []int32) (map[int32]*cluster.Checkpoint, func()) {
	cps := make(map[int32]*cluster.Checkpoint, len(shards))
	for _, sh := range shards {
		cps[sh] = &cluster.Checkpoint{}
	}
	return cps, func() {}
}

// BenchmarkInput measures one instance owning all six partitions (and
// Global, which reads every message a second time) with a sink that only
// counts: b.N messages of ten points each, published beforehand to an
// embedded server in the same process (whose allocations count too).
// points/s is from the first message written to the last.
func BenchmarkInput(b *testing.B) {
	s := startNATS(b)
	js := connect(b, s)
	ctx := context.Background()
	cfg := Config{LeaseTTL: Duration(300 * time.Millisecond), URLs: []string{s.ClientURL()}, Instance: "bench"}.WithDefaults()
	body := make([]byte, 0, 1024)
	for i := range 10 {
		body = fmt.Appendf(body, "cpu,host=h01,cpu=cpu%d usage_idle=%d.5,usage_user=1.25 1700000000000000000\n", i, i)
	}
	// The stream with its transform, made by a first Run.
	in, err := New(cfg, WithLog(func(string, ...any) {}))
	require.NoError(b, err)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- in.Run(rctx, &countSink{}) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(in.Owned()) != 7 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	require.NoError(b, <-done)

	st, err := js.Stream(ctx, cfg.Stream)
	require.NoError(b, err)
	require.NoError(b, st.Purge(ctx))
	kv, err := js.KeyValue(ctx, cfg.Bucket+"-checkpoints")
	require.NoError(b, err)
	for p := int32(0); p < int32(cfg.Partitions); p++ {
		_ = kv.Purge(ctx, partKey(p))
	}
	_ = kv.Purge(ctx, globalKey)
	var futures []jetstream.PubAckFuture
	for i := range b.N {
		f, err := js.PublishAsync(fmt.Sprintf("telegraf.host%03d.cpu", i%100), body)
		require.NoError(b, err)
		futures = append(futures, f)
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("publish did not complete")
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			b.Fatal(err)
		}
	}

	sink := &countSink{}
	in, err = New(cfg, WithLog(func(string, ...any) {}))
	require.NoError(b, err)
	rctx, cancel = context.WithCancel(ctx)
	defer cancel()
	b.ReportAllocs()
	b.ResetTimer()
	go func() { done <- in.Run(rctx, sink) }()
	for sink.msgs.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cancel()
	require.NoError(b, <-done)
	if d := time.Duration(sink.last.Load() - sink.first.Load()); d > 0 {
		b.ReportMetric(float64(sink.points.Load())/d.Seconds(), "points/s")
	}
}
