package kafkain

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkInput is the throughput of one instance owning all six
// partitions, with a sink that does nothing: b.N records of one Telegraf
// line each, produced before, read through. records/s counts from the
// first write to the last; ns/op includes joining the group. kfake runs
// in the same process, so its allocations are counted too.
func BenchmarkInput(b *testing.B) {
	c := newCluster(b)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic(testTopic), kgo.ProducerLinger(0))
	require.NoError(b, err)
	defer cl.Close()
	const chunk = 10000
	recs := make([]*kgo.Record, 0, chunk)
	bytes := 0
	for i := 0; i < b.N; {
		recs = recs[:0]
		for ; i < b.N && len(recs) < chunk; i++ {
			host := fmt.Sprintf("host%03d", i%200)
			v := fmt.Sprintf("cpu,cpu=cpu-total,host=%s usage_idle=97.%d,usage_user=1.%d,usage_system=0.%d %d", host, i%10, i%7, i%5, 1700000000000000000+int64(i))
			bytes += len(v)
			recs = append(recs, &kgo.Record{Key: []byte(host), Value: []byte(v)})
		}
		require.NoError(b, cl.ProduceSync(context.Background(), recs...).FirstErr())
	}
	sink := &countingSink{}
	b.SetBytes(int64(bytes / b.N))
	b.ResetTimer()
	n := startNodeSink(b, c, "bench", nil, sink, nil, nil)
	deadline := time.Now().Add(2 * time.Minute)
	for sink.writes.Load() < int64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d records read in 2 minutes", sink.writes.Load(), b.N)
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	if secs := time.Duration(sink.last.Load() - sink.first.Load()).Seconds(); secs > 0 {
		b.ReportMetric(float64(b.N)/secs, "records/s")
	}
	require.NoError(b, n.stop(b))
}
