package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/pipeline"
)

// With Options.WallClock the barrier runs on the wall clock a server
// drives with Task.Tick: an idle group gets its barrier (stamped last
// point + idle) once Tick reaches idle past its last point's arrival, and
// the window below closes; the end of the input emits nothing more.
func TestBarrierWallClock(t *testing.T) {
	ev := &events{}
	task, err := pipeline.Compile("script", "script.tick", `stream
    |from()
        .measurement('cpu')
    |barrier()
        .idle(2s)
    |window()
        .period(5s)
        .every(5s)
    |count('v')
    |alert()
        .crit(lambda: TRUE)
        .message('{{ .Time.Unix }} {{ index .Fields "count" }}')
`, pipeline.Options{WallClock: true, OnEvent: ev.on})
	require.NoError(t, err)
	start := time.Now()
	assert.True(t, task.Tick(start).IsZero(), "nothing is due before a point")
	writeLines(t, task, "cpu v=1 1000000000", "cpu v=2 2000000000", "cpu v=3 6000000000", "cpu v=4 7000000000")
	require.Equal(t, []string{"6 2"}, ev.messages(), "the window [1s,6s) closed on the point at 6s")
	// Not yet idle: the next barrier is due 2s after the last point came.
	next := task.Tick(time.Now())
	require.False(t, next.IsZero())
	task.Tick(next.Add(-time.Millisecond))
	assert.Equal(t, []string{"6 2"}, ev.messages())
	// Idle: barriers at 9s (7s + 2s) and, one idle period later, 11s,
	// which closes the window [6s,11s).
	next = task.Tick(next)
	assert.Equal(t, []string{"6 2"}, ev.messages(), "the barrier at 9s is before the window's end")
	task.Tick(next)
	assert.Equal(t, []string{"6 2", "11 2"}, ev.messages())
	require.NoError(t, task.Close(context.Background()))
	assert.Equal(t, []string{"6 2", "11 2"}, ev.messages())
}

// The barrier's properties are checked as Kapacitor checks them.
func TestBarrierErrors(t *testing.T) {
	for src, want := range map[string]string{
		"stream|from()|barrier()":                        "1:15: idle must be greater than zero",
		"stream|from()|barrier().idle(1s).period(1s)":    "1:15: cannot specify both idle and period",
		"stream|from()|barrier().period(-1s)":            "1:15: period must be greater than zero",
		"stream|from()|barrier().idle(1s).delete('yes')": "argument 1 of .delete() must be a boolean, got a string",
	} {
		_, err := pipeline.Compile("t", "t.tick", src, pipeline.Options{})
		require.Error(t, err, src)
		assert.Contains(t, err.Error(), want, src)
	}
}
