package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/server/store"
)

// replayRecorded sends the recorded requests of one CLI command
// (testdata/api/NAME.jsonl) and checks the statuses; the TCP handler's
// address is the sink's.
func replayRecorded(t *testing.T, ts *testServer, name, sinkAddr string) {
	t.Helper()
	for _, x := range readExchanges(t, "testdata/api/"+name+".jsonl") {
		body := strings.ReplaceAll(x.Request.Body, recordedSinkAddr, sinkAddr)
		status, _, resp := ts.do(x.Request.Method, x.Request.Path, nil, []byte(body))
		require.Equal(t, x.Response.Status, status, "%s %s: %s", name, x.Request.Path, resp)
	}
}

// TestSeedPage runs the seed page over real sockets: define cpu_alert
// with -dbrp, enable it, define the topic handler, write the seed input
// to /write, and the TCP listener receives exactly the bytes of the
// seed_topic_handler conformance case. That case ran as task "script";
// here the task is cpu_alert, as on the page, so {{.TaskName}} in the
// default details reads cpu_alert.
func TestSeedPage(t *testing.T) {
	sink := newSink(t)
	ts := startServer(t, t.TempDir(), nil)
	replayRecorded(t, ts, "01_define_cpu_alert_dbrp_flag", sink.addr)
	replayRecorded(t, ts, "02_enable_cpu_alert", sink.addr)
	replayRecorded(t, ts, "03_define_topic_handler", sink.addr)
	input := readFile(t, "testdata/seed_topic_handler/input.lp")
	status, _, body := ts.do("POST", "/write?db=telegraf&rp=autogen", [][2]string{{"Content-Type", "text/plain; charset=utf-8"}}, []byte(input))
	require.Equal(t, http.StatusNoContent, status, body)
	ts.stop() // SIGTERM's path: the handler queues drain before it returns
	want := readLines(t, "testdata/seed_topic_handler/expected.jsonl")
	got := sink.close()
	require.Len(t, got, len(want), "%q", got)
	for i, w := range want {
		w = strings.ReplaceAll(w, `TaskName\u0026#34;:\u0026#34;script\u0026#34;`, `TaskName\u0026#34;:\u0026#34;cpu_alert\u0026#34;`)
		assert.Equal(t, w+"\n\n", got[i], "message %d", i)
	}
}

// TestRestart stops a server and starts another on the same data dir:
// tasks with their status, templates, handlers and the last state of
// every alert that was not OK survive, and enabled tasks run again.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	sink := newSink(t)
	ts := startServer(t, dir, nil)
	defineSeedTask(t, ts, "cpu_alert")
	replayRecorded(t, ts, "03_define_topic_handler", sink.addr)
	replayRecorded(t, ts, "20_define_template", sink.addr)
	replayRecorded(t, ts, "21_define_from_template", sink.addr)
	// Two CRITICAL points: the episode starts at the first.
	lines := "cpu,host=serverA,cpu=cpu-total usage_idle=5 1700000000000000000\ncpu,host=serverA,cpu=cpu-total usage_idle=3 1700000010000000000\n"
	status, _, body := ts.do("POST", "/write?db=telegraf&rp=autogen", nil, []byte(lines))
	require.Equal(t, http.StatusNoContent, status, body)
	_, _, before := ts.do("GET", "/kapacitor/v1/tasks?fields=status&fields=executing&fields=dbrps&fields=type&fields=template-id&fields=vars", nil, nil)
	ts.stop()

	st, err := store.Open(filepath.Join(dir, "kapacitor.db"))
	require.NoError(t, err)
	a, ok, err := st.AlertState("cpu", "cpu:nil")
	require.NoError(t, err)
	require.True(t, ok, "the CRITICAL alert was not kept")
	assert.Equal(t, "CRITICAL", a.Level)
	assert.Equal(t, time.Unix(1700000000, 0).UTC(), a.EpisodeStart.UTC())
	assert.Equal(t, time.Unix(1700000010, 0).UTC(), a.Time.UTC())
	var ev map[string]any
	require.NoError(t, json.Unmarshal(a.Event, &ev))
	assert.Equal(t, "CRITICAL", ev["level"])
	require.NoError(t, st.Close())

	ts = startServer(t, dir, nil)
	_, _, after := ts.do("GET", "/kapacitor/v1/tasks?fields=status&fields=executing&fields=dbrps&fields=type&fields=template-id&fields=vars", nil, nil)
	assert.JSONEq(t, before, after)
	assert.Contains(t, after, `"executing": true`)
	status, _, hs := ts.do("GET", "/kapacitor/v1/alerts/topics/cpu/handlers", nil, nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, hs, `"id": "tcp-cpu-alert"`)
	status, _, evs := ts.do("GET", "/kapacitor/v1/alerts/topics/cpu/events/cpu:nil", nil, nil)
	require.Equal(t, http.StatusOK, status, evs)
	assert.Contains(t, evs, `"level": "CRITICAL"`)
	assert.Contains(t, evs, `"duration": "10s"`)
	status, _, _ = ts.do("GET", "/kapacitor/v1/templates/t", nil, nil)
	assert.Equal(t, http.StatusOK, status)
	// The restarted task receives points and alerts again.
	status, _, body = ts.do("POST", "/write?db=telegraf&rp=autogen", nil, []byte("cpu,host=serverB usage_idle=1 1700000020000000000\n"))
	require.Equal(t, http.StatusNoContent, status, body)
	assert.Equal(t, int64(1), nodeStat(t, ts, "cpu_alert", "alert2", "crits_triggered"))
}

// TestShutdownDrains: while the server drains its handler queues at
// shutdown, writes answer 503 (Telegraf keeps the batch), and the event
// still queued is delivered before Shutdown returns.
func TestShutdownDrains(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var got []string
	arrived := make(chan struct{}, 10)
	hook := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		arrived <- struct{}{}
		<-release // the endpoint is slow: the handler's delivery waits
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go hook.Serve(ln)
	defer hook.Close()

	ts := startServer(t, t.TempDir(), nil)
	defineSeedTask(t, ts, "cpu_alert")
	h := `{"id":"slow","kind":"post","options":{"url":"http://` + ln.Addr().String() + `/alert"}}`
	status, _, body := ts.do("POST", "/kapacitor/v1/alerts/topics/cpu/handlers", nil, []byte(h))
	require.Equal(t, http.StatusOK, status, body)
	status, _, body = ts.do("POST", "/write?db=telegraf&rp=autogen", nil, []byte("cpu,host=a usage_idle=1 1700000000000000000\n"))
	require.Equal(t, http.StatusNoContent, status, body)
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the event never reached the endpoint")
	}
	// The endpoint holds the first event: a write that raises more
	// events still returns at once (a slow handler never slows a write).
	for i := 0; i < 3; i++ {
		status, _, body = ts.do("POST", "/write?db=telegraf&rp=autogen", nil, []byte(fmt.Sprintf("cpu,host=b%d usage_idle=1 1700000000000000000\n", i)))
		require.Equal(t, http.StatusNoContent, status, body)
	}
	done := make(chan error, 1)
	go func() { done <- ts.srv.Shutdown(context.Background()) }()
	// Writes now answer 503 until the server is gone.
	deadline := time.Now().Add(10 * time.Second)
	accepted := 0 // writes that came in before draining began, each an event
	for {
		status, _, body = ts.do("POST", "/write?db=telegraf&rp=autogen", nil, []byte("cpu,host=a usage_idle=2 1700000001000000000\n"))
		if status == http.StatusServiceUnavailable {
			break
		}
		require.Equal(t, http.StatusNoContent, status, body)
		accepted++
		require.True(t, time.Now().Before(deadline), "writes never answered 503")
		time.Sleep(10 * time.Millisecond)
	}
	assert.JSONEq(t, `{"error":"the server is shutting down"}`, body)
	select {
	case <-done:
		t.Fatal("Shutdown returned before the queued event was delivered")
	default:
	}
	close(release)
	for range 3 + accepted {
		<-arrived // the other events, delivered during the drain
	}
	require.NoError(t, <-done)
	require.NoError(t, <-ts.errc)
	ts.down = true
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 4+accepted, "every queued event was delivered before Shutdown returned")
	for _, g := range got {
		assert.Contains(t, g, `"level":"CRITICAL"`)
	}
}
