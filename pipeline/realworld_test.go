package pipeline

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// Issue 13, the rest of the real-world rejections. Chronograf writes
// `.post('url').endpoint('name')`: as in Kapacitor, the endpoint of
// kapacitor.conf is used when it is defined, the url otherwise.
func TestIssue13PostURLAndEndpoint(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
	}))
	defer srv.Close()
	script := alertScript + "\t\t.post('" + srv.URL + "/from-url').endpoint('ops')\n"

	// The endpoint is defined: it wins.
	runWithConfig(t, script, "[[httppost]]\nendpoint = \"ops\"\nurl = \"$SERVER/from-endpoint\"\n", srv.URL, 2)
	// It is not: the url.
	runWithConfig(t, script, "[[httppost]]\nendpoint = \"dev\"\nurl = \"$SERVER/dev\"\n", srv.URL, 2)
	assert.Equal(t, []string{"/from-endpoint", "/from-url"}, paths)

	// tickrun check (no kapacitor.conf) accepts it too; an endpoint
	// without url still needs the section.
	_, err := Compile("t", "t.tick", script, Options{Config: &kapconf.Config{Lenient: true}})
	assert.NoError(t, err)
	c, err := kapconf.Parse("k.conf", []byte("[[httppost]]\nendpoint = \"dev\"\nurl = \"http://127.0.0.1:9/\"\n"))
	require.NoError(t, err)
	_, err = Compile("t", "t.tick", `stream|from()|alert().post().endpoint('ops')`, Options{Config: c})
	assert.ErrorContains(t, err, `endpoint "ops" is not defined by a [[httppost]] section of k.conf`)
	_, err = Compile("t", "t.tick", `stream|from()|alert().post('ftp://x').endpoint('ops')`, Options{Config: c})
	assert.ErrorContains(t, err, `url: want an http:// or https:// URL, got "ftp://x"`)
}

// .inhibit(category, tags...) holds back, per group, the events of
// .category(category) nodes with the group's tag values while the group
// is not OK (alert.md §11); the held-back node's later events go out once
// the inhibitor is OK again. Inhibitors span the tasks of one registry and leave with
// their task.
func TestIssue13Inhibit(t *testing.T) {
	const hostDown = `stream|from().measurement('host').groupBy('host')
	|alert().id('down:{{ index .Tags "host" }}').crit(lambda: "up" == 0).inhibit('cpu', 'host').details('')`
	const cpuHigh = `stream|from().measurement('cpu').groupBy('host')
	|alert().id('cpu:{{ index .Tags "host" }}').category('cpu').crit(lambda: "usage" > 90).details('')`
	reg := alert.NewRegistry(nil)
	var mu sync.Mutex
	var events []string
	onEvent := func(ev *Event, _ []byte) {
		mu.Lock()
		events = append(events, ev.ID+" "+ev.Level.String())
		mu.Unlock()
	}
	down, err := Compile("down", "down.tick", hostDown, Options{Alerts: reg, OnEvent: onEvent})
	require.NoError(t, err)
	cpu, err := Compile("cpu", "cpu.tick", cpuHigh, Options{Alerts: reg, OnEvent: onEvent})
	require.NoError(t, err)
	write := func(task *Task, m, host string, f string, v float64, sec int64) {
		require.NoError(t, task.Write("telegraf", "autogen", m, map[string]string{"host": host}, map[string]any{f: v}, time.Unix(sec, 0)))
	}
	write(down, "host", "a", "up", 0, 1) // a is down
	write(cpu, "cpu", "a", "usage", 95, 2)
	write(cpu, "cpu", "b", "usage", 95, 2)
	write(down, "host", "a", "up", 1, 3) // a is back
	write(cpu, "cpu", "a", "usage", 96, 4)
	write(down, "host", "b", "up", 0, 5) // b is down
	write(cpu, "cpu", "b", "usage", 97, 6)
	require.NoError(t, down.Close(context.Background())) // its inhibitors go
	write(cpu, "cpu", "b", "usage", 98, 7)
	require.NoError(t, cpu.Close(context.Background()))
	assert.Equal(t, []string{
		"down:a CRITICAL",
		"cpu:b CRITICAL", // cpu:a is held back
		"down:a OK",
		"cpu:a CRITICAL",
		"down:b CRITICAL",
		"cpu:b CRITICAL", // after down's task stopped
	}, events)
	assert.Equal(t, int64(3), down.Stats().Events)
	assert.Equal(t, int64(3), cpu.Stats().Events, "held-back events are not sent")
}

// The properties bind as Kapacitor's do, with errors for bad arguments.
func TestIssue13InhibitBind(t *testing.T) {
	for _, src := range []string{
		`stream|from()|alert().category('c')`,
		`stream|from()|alert().inhibit('c')`,
		`stream|from()|alert().inhibit('c', 'host', 'dc').inhibit('d', 'host')`,
	} {
		_, err := Compile("t", "t.tick", src, Options{})
		assert.NoError(t, err, src)
	}
	_, err := Compile("t", "t.tick", `stream|from()|alert().inhibit()`, Options{})
	assert.ErrorContains(t, err, "not enough arguments to .inhibit()")
	_, err = Compile("t", "t.tick", `stream|from()|alert().category(1)`, Options{})
	assert.ErrorContains(t, err, "argument 1 of .category() must be a string")
	assert.False(t, strings.Contains(err.Error(), "not supported"))
}
