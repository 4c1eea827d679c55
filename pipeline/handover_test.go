package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/pipeline"
)

// handoverScript keeps both kinds of state that are handed over: the
// points of open windows and the levels of alerts.
const handoverScript = `
stream
    |from()
        .measurement('cpu')
        .groupBy('host')
    |window()
        .period(3s)
        .every(1s)
    |mean('usage_idle')
    |alert()
        .warn(lambda: "mean" < 50)
        .crit(lambda: "mean" < 20)
        .message('{{ .ID }} {{ .Level }}')
`

// handoverPoints is 40 seconds of points of four hosts whose level
// changes often.
func handoverPoints(from, to int) []string {
	var out []string
	for s := from; s < to; s++ {
		for h := 0; h < 4; h++ {
			v := float64((s*7+h*13)%100) + 0.5
			out = append(out, fmt.Sprintf("cpu,host=h%d usage_idle=%g %d", h, v, int64(1700000000+s)*1e9))
		}
	}
	return out
}

func runLines(t *testing.T, task *pipeline.Task, lines []string) {
	t.Helper()
	_, err := task.WriteLineProtocol(strings.NewReader(strings.Join(lines, "\n")+"\n"), "telegraf", "autogen", "", nil)
	require.NoError(t, err)
}

func compileCapture(t *testing.T, events *[]string, hold *[]func()) *pipeline.Task {
	t.Helper()
	opts := pipeline.Options{OnEvent: func(ev *pipeline.Event, payload []byte) { *events = append(*events, string(payload)) }}
	if hold != nil {
		opts.DeferEvents = func(ev *pipeline.Event, publish func()) { *hold = append(*hold, publish) }
	}
	task, err := pipeline.Compile("cpu", "cpu.tick", handoverScript, opts)
	require.NoError(t, err)
	return task
}

// A group's state exported from one task and imported into another
// continues there as if the first had gone on: the events of the two,
// together, are those of one task over every point, JSON for JSON.
func TestHandoverGroups(t *testing.T) {
	var want []string
	one := compileCapture(t, &want, nil)
	runLines(t, one, handoverPoints(0, 40))
	require.NoError(t, one.Close(context.Background()))
	require.NotEmpty(t, want)

	var got []string
	a := compileCapture(t, &got, nil)
	runLines(t, a, handoverPoints(0, 20))
	onH0H1 := func(g string) bool {
		v, _ := pipeline.GroupTag(g, "host")
		return v == "h0" || v == "h1"
	}
	state, err := a.ExportGroups(onH0H1)
	require.NoError(t, err)
	a.DropGroups(onH0H1)

	b := compileCapture(t, &got, nil)
	require.NoError(t, b.ImportGroups(state))
	var rest, forA, forB []string
	rest = handoverPoints(20, 40)
	for _, l := range rest {
		if strings.Contains(l, "host=h0 ") || strings.Contains(l, "host=h1 ") {
			forB = append(forB, l)
		} else {
			forA = append(forA, l)
		}
	}
	runLines(t, a, forA)
	runLines(t, b, forB)
	require.NoError(t, a.Close(context.Background()))
	require.NoError(t, b.Close(context.Background()))
	assert.Equal(t, perID(want), perID(got))
	assert.Len(t, got, len(want))
}

// perID groups event JSON by the alert id at its start, in order.
func perID(events []string) map[string][]string {
	out := map[string][]string{}
	for _, e := range events {
		id := e[:strings.Index(e, `","message"`)]
		out[id] = append(out[id], e)
	}
	return out
}

// With DeferEvents the events wait for the caller, and come out the same.
func TestDeferEvents(t *testing.T) {
	var want, got []string
	var hold []func()
	one := compileCapture(t, &want, nil)
	two := compileCapture(t, &got, &hold)
	runLines(t, one, handoverPoints(0, 10))
	runLines(t, two, handoverPoints(0, 10))
	require.Empty(t, got)
	for _, f := range hold {
		f()
	}
	assert.Equal(t, want, got)
	one.Close(context.Background())
	two.Close(context.Background())
}

func TestSharding(t *testing.T) {
	for _, c := range []struct {
		script  string
		sharded bool
		why     string
	}{
		{`stream|from().measurement('cpu').groupBy('host')|alert().crit(lambda: "usage_idle" < 10)`, true, `every group key contains "host"`},
		{`stream|from().measurement('cpu')|groupBy('host', 'cpu')|window().period(1m)|mean('x')|alert().crit(lambda: "mean" < 10)`, true, `contains "host"`},
		{`stream|from().measurement('cpu').groupBy(*)|alert().crit(lambda: "usage_idle" < 10)`, true, `contains "host"`},
		{`stream|from().measurement('cpu')|alert().crit(lambda: "usage_idle" < 10)`, false, `alert2 (line 1) keeps state per group and its groups (no groupBy) do not contain "host"`},
		{`stream|from().measurement('cpu').groupBy('cpu')|alert().crit(lambda: "usage_idle" < 10)`, false, `groups (groupBy(cpu)) do not contain "host"`},
		{`stream|from().measurement('cpu')|where(lambda: "usage_idle" < 10)|influxDBOut().database('x')`, true, `no node keeps state per group`},
		{"stream\n|from().measurement('cpu').groupBy('host')\n|deadman(1.0, 1m)", false, `(line 3) counts the whole stream`},
	} {
		task, err := pipeline.Compile("t", "t.tick", c.script, pipeline.Options{})
		require.NoError(t, err, c.script)
		sharded, why := task.Sharding("host")
		assert.Equal(t, c.sharded, sharded, c.script)
		assert.Contains(t, why, c.why, c.script)
		task.Close(context.Background())
	}
}

func TestGroupTag(t *testing.T) {
	for _, c := range []struct{ group, want string }{
		{"host=a", "a"}, {"cpu=cpu0,host=b", "b"}, {"cpu\nhost=c,z=1", "c"}, {"", ""}, {"hostname=x", ""},
	} {
		v, _ := pipeline.GroupTag(c.group, "host")
		assert.Equal(t, c.want, v, c.group)
	}
}

var _ = time.Second

// The state of groups comes from a checkpoint in the broker: outside
// input. ImportGroups never panics, and the task still takes points
// after it, whatever it was given.
func FuzzImportGroups(f *testing.F) {
	seed, err := pipeline.Compile("cpu", "cpu.tick", handoverScript, pipeline.Options{})
	require.NoError(f, err)
	_, err = seed.WriteLineProtocol(strings.NewReader(strings.Join(handoverPoints(0, 5), "\n")), "telegraf", "autogen", "", nil)
	require.NoError(f, err)
	state, err := seed.ExportGroups(func(string) bool { return true })
	require.NoError(f, err)
	seed.Close(context.Background())
	f.Add(state)
	f.Add([]byte(`{"window2":{"host=a":{"points":[{"fields":[{"k":"x","t":9}]}]}}}`))
	f.Add([]byte(`{"alert4":{"host=a":{"state":{"history":[1,2,3],"idx":7}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		task, err := pipeline.Compile("cpu", "cpu.tick", handoverScript, pipeline.Options{})
		require.NoError(t, err)
		defer task.Close(context.Background())
		task.ImportGroups(data)
		_, err = task.WriteLineProtocol(strings.NewReader(strings.Join(handoverPoints(5, 8), "\n")), "telegraf", "autogen", "", nil)
		require.NoError(t, err)
	})
}
