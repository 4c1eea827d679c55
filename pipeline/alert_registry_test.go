package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/internal/testsink"
	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/handler"
)

// Issue 11: topics are server-wide. Two tasks compiled against one alert
// registry publish into the same topic "cpu", and one tcp handler file
// subscribed to it receives both tasks' events, in the order they were
// raised, each with the previous level of its own id in that topic.
func TestTwoTasksShareATopic_issue11(t *testing.T) {
	sink := testsink.Start(t, "", nil)
	reg := alert.NewRegistry(nil)
	spec, err := handler.ParseFile("tcp_cpu_handler.yaml", []byte(fmt.Sprintf("id: tcp-cpu-alert\ntopic: cpu\nkind: tcp\noptions:\n  address: %s\n", sink.Addr())))
	require.NoError(t, err)
	_, err = handler.Subscribe(reg, spec, &handler.Env{})
	require.NoError(t, err)
	compile := func(name string) *pipeline.Task {
		script := `stream|from().measurement('cpu')|alert().id('` + name + `').details('').crit(lambda: "usage_idle" < 10).topic('cpu')`
		task, err := pipeline.Compile(name, name+".tick", script, pipeline.Options{Alerts: reg})
		require.NoError(t, err, "%v", err)
		return task
	}
	a, b := compile("task_a"), compile("task_b")
	write := func(task *pipeline.Task, idle float64, sec int64) {
		require.NoError(t, task.Write("telegraf", "autogen", "cpu", nil, map[string]any{"usage_idle": idle}, time.Unix(sec, 0)))
	}
	write(a, 5, 1)  // task_a CRITICAL
	write(b, 50, 2) // task_b OK, unchanged: nothing
	write(b, 5, 3)  // task_b CRITICAL
	write(a, 50, 4) // task_a OK
	write(b, 50, 5) // task_b OK
	require.NoError(t, a.Close(context.Background()))
	require.NoError(t, b.Close(context.Background()))
	require.NoError(t, reg.Close(context.Background()))

	type ev struct{ ID, Level, PreviousLevel, Time string }
	var got []ev
	for _, m := range sink.Close() {
		var e ev
		require.NoError(t, json.Unmarshal([]byte(m), &e), m)
		assert.Equal(t, "\n\n", m[len(m)-2:], "Kapacitor's framing")
		got = append(got, e)
	}
	assert.Equal(t, []ev{
		{"task_a", "CRITICAL", "OK", "1970-01-01T00:00:01Z"},
		{"task_b", "CRITICAL", "OK", "1970-01-01T00:00:03Z"},
		{"task_a", "OK", "CRITICAL", "1970-01-01T00:00:04Z"},
		{"task_b", "OK", "CRITICAL", "1970-01-01T00:00:05Z"},
	}, got)
	st := reg.Stats()
	require.Len(t, st, 1, "one subscription: the handler file")
	assert.Equal(t, int64(4), st[0].Sent)
	assert.Empty(t, a.HandlerStats(), "the handler belongs to the registry, not to a task")
}
