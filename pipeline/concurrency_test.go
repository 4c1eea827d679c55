package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline"
)

// Issue 17: a server writes into a task from many HTTP requests at once.
// Writers in several goroutines (Write, WritePoint through
// WriteLineProtocol, WritePoints) go through the nodes one point at a time: nothing
// races (run with -race), no point is lost, and what the nodes compute
// does not depend on the interleaving when the input is per writer.
func TestConcurrentWriters_issue17(t *testing.T) {
	script := `stream|from().measurement('cpu').groupBy('host')
	|window().period(10s).every(10s)
	|count('v')
	|alert().id('{{ index .Tags "host" }}').message('{{ index .Fields "count" }}').details('').info(lambda: TRUE)`
	var mu sync.Mutex
	counts := map[string]int{}
	task, err := pipeline.Compile("t", "t.tick", script, pipeline.Options{OnEvent: func(ev *pipeline.Event, _ []byte) {
		mu.Lock()
		defer mu.Unlock()
		var n int
		fmt.Sscan(ev.Message, &n)
		counts[ev.ID] += n
	}})
	require.NoError(t, err)
	const writers, perWriter = 8, 2000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			host := fmt.Sprintf("h%d", w)
			if w%4 == 3 {
				var ps []pipeline.Point
				for i := range perWriter {
					ps = append(ps, pipeline.Point{Name: "cpu", Database: "telegraf", RP: "autogen", Timestamp: int64(i) * 1e9,
						Tags: []pipeline.Tag{{Key: "host", Value: host}}, Fields: []pipeline.Field{{Key: "v", Value: eval.FloatValue(1)}}})
				}
				for i := 0; i < len(ps); i += 64 {
					require.NoError(t, task.WritePoints(ps[i:min(i+64, len(ps))]))
				}
				return
			}
			if w%2 == 0 {
				for i := range perWriter {
					require.NoError(t, task.Write("telegraf", "autogen", "cpu", map[string]string{"host": host},
						map[string]any{"v": 1.0}, time.Unix(int64(i), 0)))
				}
				return
			}
			var b strings.Builder
			for i := range perWriter {
				fmt.Fprintf(&b, "cpu,host=%s v=1 %d\n", host, int64(i)*1e9)
			}
			bad, err := task.WriteLineProtocol(strings.NewReader(b.String()), "telegraf", "autogen", "", nil)
			require.NoError(t, err)
			require.Zero(t, bad)
		})
	}
	wg.Wait()
	require.NoError(t, task.Close(context.Background()))
	assert.Equal(t, int64(writers*perWriter), task.Stats().Points)
	for w := range writers {
		// Every full 10 s window of the host was counted: the last,
		// incomplete one is never emitted.
		assert.Equal(t, perWriter-10, counts[fmt.Sprintf("h%d", w)], "host h%d", w)
	}
	require.ErrorIs(t, task.Write("telegraf", "autogen", "cpu", nil, map[string]any{"v": 1.0}, time.Unix(0, 0)), pipeline.ErrClosed)
	require.ErrorIs(t, task.WritePoints([]pipeline.Point{{Name: "cpu"}}), pipeline.ErrClosed)
}

// WritePoints skips the points of a database and retention policy the
// task does not read, as WritePoint does, and counts the others.
func TestWritePointsDBRP(t *testing.T) {
	task, err := pipeline.Compile("t", "t.tick", "dbrp \"telegraf\".\"autogen\"\nstream|from()", pipeline.Options{})
	require.NoError(t, err)
	ps := []pipeline.Point{
		{Name: "cpu", Database: "telegraf", RP: "autogen", Timestamp: 1},
		{Name: "cpu", Database: "other", RP: "autogen", Timestamp: 2},
		{Name: "cpu", Database: "telegraf", RP: "autogen", Timestamp: 3},
	}
	require.NoError(t, task.WritePoints(ps))
	assert.Equal(t, int64(2), task.Stats().Points)
}
