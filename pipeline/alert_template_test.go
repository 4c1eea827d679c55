package pipeline_test

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/pipeline"
)

// Issue 16: a point with usage_idle=-Inf used to stop the whole task (the
// default details cannot encode it). Line protocol rejects -Inf now, but
// the Go API still takes it: the event whose template fails costs that
// event only: logged with the node, the alert id and the time, counted,
// and the task goes on.
func TestFailedEventCostsOnlyItself_issue16(t *testing.T) {
	var log bytes.Buffer
	var sent []string
	task, err := pipeline.Compile("t", "t.tick", `stream|from().measurement('cpu').groupBy('host')|alert().crit(lambda: "usage_idle" < 10)`,
		pipeline.Options{Log: &log, OnEvent: func(ev *pipeline.Event, _ []byte) { sent = append(sent, ev.ID+" "+ev.Level.String()) }})
	require.NoError(t, err)
	write := func(host string, idle float64, sec int64) {
		require.NoError(t, task.Write("telegraf", "autogen", "cpu", map[string]string{"host": host}, map[string]any{"usage_idle": idle}, time.Unix(sec, 0)))
	}
	write("a", math.Inf(-1), 1)
	write("b", 5, 2)
	write("a", 50, 3)
	require.NoError(t, task.Close(context.Background()))
	assert.Equal(t, []string{"cpu:host=b CRITICAL", "cpu:host=a OK"}, sent)
	assert.Equal(t, int64(1), task.Stats().NodeErrors)
	assert.Contains(t, log.String(), `alert2: event not sent: alert "cpu:host=a": details template:`)
	assert.Contains(t, log.String(), "-Inf")
	assert.Contains(t, log.String(), "time=1970-01-01T00:00:01Z")
}

// Issue 16: a template that calls itself is a compile error at its
// position, not a task stopped 100,000 levels deep at the first event.
func TestRecursiveTemplateIsCompileError_issue16(t *testing.T) {
	src := "stream|from()\n    |alert().message('{{define \"x\"}}{{template \"x\"}}{{end}}{{template \"x\"}}').crit(lambda: TRUE)\n"
	task, err := pipeline.Compile("t", "t.tick", src, pipeline.Options{})
	require.Error(t, err)
	assert.Equal(t, `t.tick:2:22: template "x" calls itself: it would recurse without end
 |     |alert().message('{{define "x"}}{{template "x"}}{{end}}{{template "x"}}').crit(lambda: TRUE)
 |                      ^
`, task.ErrorText(err))
}
