package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/pipeline"
)

func cardinality(task *pipeline.Task, node string) int {
	for _, n := range task.NodeStats() {
		if n.Name == node {
			return n.Cardinality
		}
	}
	return -1
}

// Issue 17: a node's groups have a ceiling: the points of new groups
// beyond it are dropped, counted, and warned about once.
func TestMaxGroups_issue17(t *testing.T) {
	var log bytes.Buffer
	task, err := pipeline.Compile("t", "t.tick", `stream|from().groupBy('host')|alert().crit(lambda: "v" > 1).details('')`,
		pipeline.Options{MaxGroups: 3, Log: &log})
	require.NoError(t, err)
	for i := range 50 {
		require.NoError(t, task.Write("db", "rp", "cpu", map[string]string{"host": fmt.Sprintf("h%d", i%5)}, map[string]any{"v": 2.0}, time.Unix(int64(i), 0)))
	}
	require.NoError(t, task.Close(context.Background()))
	st := task.Stats()
	assert.Equal(t, int64(20), st.GroupsRefused, "2 of 5 hosts refused, 10 points each")
	assert.Equal(t, int64(30), st.Events, "3 hosts, 10 CRITICAL points each")
	assert.Equal(t, 3, cardinality(task, "alert2"))
	assert.Equal(t, 1, strings.Count(log.String(), "alert2: more than 3 groups (--max-groups): the points of new groups are dropped and counted"))
}

// Issue 17: groups idle for longer than the expiry are released (a
// window emits what it holds first); without an expiry an alert releases
// the groups whose levels are all OK, which changes nothing.
func TestGroupExpiry_issue17(t *testing.T) {
	script := `stream|from().groupBy('host')|window().period(10s).every(10s)|count('v')|alert().id('{{ index .Tags "host" }}').message('{{ index .Fields "count" }}').details('').info(lambda: TRUE)`
	var msgs []string
	task, err := pipeline.Compile("t", "t.tick", script, pipeline.Options{GroupExpiry: time.Minute,
		OnEvent: func(ev *pipeline.Event, _ []byte) { msgs = append(msgs, ev.ID+"="+ev.Message) }})
	require.NoError(t, err)
	// 1000 hosts, each with 5 points in one minute, one after the other.
	for h := range 1000 {
		for i := range 5 {
			ts := time.Unix(int64(h*60+i*2), 0)
			require.NoError(t, task.Write("db", "rp", "cpu", map[string]string{"host": fmt.Sprintf("h%d", h)}, map[string]any{"v": 1.0}, ts))
		}
	}
	assert.Less(t, cardinality(task, "window2"), 10, "idle windows released")
	assert.Less(t, cardinality(task, "alert4"), 10, "idle alert groups released")
	require.NoError(t, task.Close(context.Background()))
	assert.Greater(t, task.Stats().GroupsReleased, int64(1900))
	// Every released window emitted its points first: 5 per host (but
	// for the last hosts, not yet expired at the end of the input).
	assert.GreaterOrEqual(t, len(msgs), 990)
	assert.Equal(t, "h0=5", msgs[0])

	// Without an expiry: the all-OK alert groups of a seed script are
	// released, the windows are kept.
	task, err = pipeline.Compile("t", "t.tick", `stream|from().groupBy('host')|alert().crit(lambda: "v" > 90).details('')`, pipeline.Options{})
	require.NoError(t, err)
	for i := range 20000 {
		require.NoError(t, task.Write("db", "rp", "cpu", map[string]string{"host": fmt.Sprintf("h%d", i)}, map[string]any{"v": 1.0}, time.Unix(int64(i), 0)))
	}
	assert.Less(t, cardinality(task, "alert2"), 200, "fresh alert groups are released on the minute")
	require.NoError(t, task.Close(context.Background()))
}

// BenchmarkIdleSeries reports the heap each idle series costs: 100k
// series of one point each through the seed script grouped by host and a
// windowed script, with and without an expiry (issue 17 target: at most
// 300 B per idle series, flat with expiry).
func BenchmarkIdleSeries(b *testing.B) {
	for _, c := range []struct {
		name, script string
		expiry       time.Duration
	}{
		{"seed_by_host", `stream|from().measurement('cpu').groupBy('host')|alert().crit(lambda: "usage_idle" < 10)`, 0},
		{"window_mean_by_host", `stream|from().measurement('cpu').groupBy('host')|window().period(10s).every(10s)|mean('usage_idle')|alert().crit(lambda: "mean" < 10)`, 0},
		{"window_mean_by_host_expiry", `stream|from().measurement('cpu').groupBy('host')|window().period(10s).every(10s)|mean('usage_idle')|alert().crit(lambda: "mean" < 10)`, time.Minute},
	} {
		b.Run(c.name, func(b *testing.B) {
			const series = 100_000
			var in strings.Builder
			for i := range series {
				fmt.Fprintf(&in, "cpu,host=host%06d usage_idle=50 %d\n", i, int64(i)*1e9)
			}
			data := in.String()
			for range b.N {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				task, err := pipeline.Compile("t", "t.tick", c.script, pipeline.Options{GroupExpiry: c.expiry})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := task.WriteLineProtocol(strings.NewReader(data), "telegraf", "autogen", "", nil); err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/series, "B/series")
				task.Close(context.Background())
			}
		})
	}
}
