package pipeline_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/pipeline"
)

// TestDeadmanGraph checks that deadman builds stats → derivative → alert
// on the watched node, with Kapacitor's node names, and that its extra
// lambdas and later alert properties apply.
func TestDeadmanGraph(t *testing.T) {
	var events []string
	task, err := pipeline.Compile("t", "script.tick", `
stream
    |from()
        .measurement('cpu')
    |where(lambda: "host" == 'a')
    |deadman(0.0, 10s, lambda: "emitted" < 100)
        .id('dead {{ .Group }}')
        .stateChangesOnly()
        .details('')
    |log()
`, pipeline.Options{OnEvent: func(ev *pipeline.Event, _ []byte) {
		events = append(events, ev.ID+" "+ev.Level.String()+" "+ev.Message)
	}})
	require.NoError(t, err)
	var dot bytes.Buffer
	require.NoError(t, task.WriteDOT(&dot))
	require.Contains(t, dot.String(), "where2 -> stats3;\nstats3 -> derivative4;\nderivative4 -> alert5;\nalert5 -> log6;\n")
	require.Contains(t, dot.String(), "stream0 -> stats3;\nstream0 -> from1;\n")

	in := `cpu,host=a v=1 1700000000000000000
cpu,host=b v=1 1700000010000000000
cpu,host=b v=1 1700000020000000000
cpu,host=b v=1 1700000030000000000
cpu,host=a v=1 1700000031000000000
cpu,host=a v=1 1700000040000000000
`
	_, err = task.WriteLineProtocol(strings.NewReader(in), "db", "rp", "", nil)
	require.NoError(t, err)
	require.NoError(t, task.Close(context.Background()))
	require.Equal(t, []string{
		"dead nil CRITICAL dead nil is dead: 0.000 points/10s.",
		"dead nil OK dead nil is alive: 1.000 points/10s.",
	}, events)
}

func TestDeadmanErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`stream|from()|deadman(1, 10s)`, "argument 1 of deadman() must be a float"},
		{`stream|from()|deadman(1.0, 0s)`, "stats interval must be positive"},
		{`stream|from()|stats(10s).crit(lambda: TRUE)`, `no method or property "crit" on stats`},
	} {
		task, err := pipeline.Compile("t", "script.tick", tc.src, pipeline.Options{})
		require.Error(t, err, tc.src)
		require.Contains(t, task.ErrorText(err), tc.want, tc.src)
	}
}

// TestStatsWallClock: with Options.WallClock the points' times no longer
// move the stats clock; Task.Tick does, and a deadman fires on a stream
// that went silent. Tick says when the next boundary is due.
func TestStatsWallClock(t *testing.T) {
	var events []string
	task, err := pipeline.Compile("t", "script.tick", `
stream
    |from()
        .measurement('cpu')
    |deadman(0.0, 10s)
`, pipeline.Options{WallClock: true, OnEvent: func(ev *pipeline.Event, _ []byte) {
		events = append(events, ev.Level.String()+" "+ev.Message)
	}})
	require.NoError(t, err)
	start := time.Date(2026, 1, 1, 0, 0, 3, 0, time.UTC)
	next := task.Tick(start)
	require.Equal(t, start.Truncate(10*time.Second).Add(10*time.Second), next, "aligned, as deadman's stats are")
	// Points a day apart in data time report nothing: only Tick does.
	_, err = task.WriteLineProtocol(strings.NewReader("cpu v=1 1700000000000000000\ncpu v=1 1700086400000000000\n"), "db", "rp", "", nil)
	require.NoError(t, err)
	require.Empty(t, events)
	next = task.Tick(next) // first report: the baseline
	require.Equal(t, start.Add(17*time.Second), next)
	require.Empty(t, events)
	next = task.Tick(next.Add(5 * time.Second)) // silent: 0 points in the interval
	require.Equal(t, start.Add(27*time.Second), next)
	require.Equal(t, []string{"CRITICAL nil:from1 for task 't' is dead: 0.000 points/10s."}, events)
	require.NoError(t, task.Close(context.Background()))
	require.True(t, task.Tick(next).IsZero(), "a closed task has no next tick")

	// Without WallClock Tick does nothing and says so.
	plain, err := pipeline.Compile("t", "script.tick", "stream|from()|deadman(0.0, 10s)", pipeline.Options{})
	require.NoError(t, err)
	require.True(t, plain.Tick(start).IsZero())
	require.NoError(t, plain.Close(context.Background()))
}
