package handler

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/internal/testsink"
	"github.com/tickrun/tickrun/pipeline/deliver"
)

// Issue 5: HTTP 500 then 200: the event is posted again and arrives once.
func TestPost500Then200_issue5(t *testing.T) {
	srv, reqs := testsink.HTTP(t, func(n int) int {
		if n == 0 {
			return 500
		}
		return 200
	})
	h, log := testHandler(t, "post", map[string]any{"url": srv.URL + "/alerts", "headers": map[string]any{"X-Token": "s3cret"}}, fastDelivery)
	deliverN(h, 1, 2)
	closeHandler(t, h)
	want := func(id string) testsink.Request {
		return testsink.Request{Method: "POST", Path: "/alerts", ContentType: "application/json", Token: "s3cret", Body: `{"id":"` + id + `"}`}
	}
	assert.Equal(t, []testsink.Request{want("e1"), want("e1"), want("e2")}, reqs())
	assert.Equal(t, deliver.Stats{Name: "post " + srv.URL + "/alerts", Sent: 2, Retried: 1, Dropped: 0}, h.Stats())
	assert.NotContains(t, log.String(), "dropped")
}

// A 4xx answer other than 429 is not retried.
func TestPost400NotRetried(t *testing.T) {
	srv, reqs := testsink.HTTP(t, func(int) int { return 400 })
	h, log := testHandler(t, "post", map[string]any{"url": srv.URL, "capture-response": true}, fastDelivery)
	deliverN(h, 1, 1)
	closeHandler(t, h)
	assert.Len(t, reqs(), 1)
	assert.Equal(t, deliver.Stats{Name: "post " + srv.URL, Sent: 0, Retried: 0, Dropped: 1}, h.Stats())
	assert.Contains(t, log.String(), `dropped event "e1": HTTP 400 Bad Request: answer 0 (not retried)`)
}

func TestLogHandler(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.log")
	h, _ := testHandler(t, "log", map[string]any{"path": path}, fastDelivery)
	deliverN(h, 1, 3)
	closeHandler(t, h)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, strings.Join(events(1, 3, "\n"), ""), string(b))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	assert.Equal(t, deliver.Stats{Name: "log " + path, Sent: 3}, h.Stats())
}

func TestExecHandler(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	h, _ := testHandler(t, "exec", map[string]any{"prog": "/bin/sh", "args": []any{"-c", "cat >> " + out}}, fastDelivery)
	deliverN(h, 1, 3)
	closeHandler(t, h)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, strings.Join(events(1, 3, "\n"), ""), string(b))
	assert.Equal(t, int64(3), h.Stats().Sent)
}

func TestExecFailures(t *testing.T) {
	d := fastDelivery
	d.Attempts = 2
	h, log := testHandler(t, "exec", map[string]any{"prog": "/bin/sh", "args": []any{"-c", "echo oops; exit 3"}}, d)
	deliverN(h, 1, 1)
	closeHandler(t, h)
	assert.Equal(t, deliver.Stats{Name: "exec /bin/sh -c echo oops; exit 3", Retried: 1, Dropped: 1}, h.Stats())
	assert.Contains(t, log.String(), `dropped event "e1": 2 attempts failed, last: exit status 3; output: oops`)

	h, log = testHandler(t, "exec", map[string]any{"prog": "/no/such/program"}, d)
	deliverN(h, 1, 1)
	closeHandler(t, h)
	assert.Equal(t, int64(1), h.Stats().Dropped)
	assert.Contains(t, log.String(), "(not retried)")

	h, log = testHandler(t, "exec", map[string]any{"prog": "/bin/sh", "args": []any{"-c", "sleep 5"}, "timeout": "50ms"}, d)
	deliverN(h, 1, 1)
	closeHandler(t, h)
	assert.Equal(t, int64(1), h.Stats().Dropped)
	assert.Contains(t, log.String(), "timed out after 50ms")
}

// Script properties .log(), .mode(), .post(), .header(), .timeout(),
// .exec() deliver through the node's anonymous topic.
func TestHandlerFileOptionErrors(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"id: a\ntopic: t\nkind: log\noptions:\n  path: rel.log\n", "h.yaml:5: options.path: log path must be absolute, got \"rel.log\""},
		{"id: a\ntopic: t\nkind: log\noptions:\n  path: /x\n  mode: nope\n", "h.yaml:6: options.mode: want an integer, got nope"},
		{"id: a\ntopic: t\nkind: tcp\noptions:\n  address: h:1\n  persistent: 3\n", "h.yaml:6: options.persistent: want true or false, got 3"},
		{"id: a\ntopic: t\nkind: tcp\noptions:\n  address: h:1\n  in-flight: 0\n", "h.yaml:6: options.in-flight: want a positive integer, got 0"},
		{"id: a\ntopic: t\nkind: tcp\noptions:\n  address: h:1\n  queue-size: x\n", "h.yaml:6: options.queue-size: want an integer, got x"},
		{"id: a\ntopic: t\nkind: post\noptions:\n  url: http://h\n  timeout: 5 minutes\n", "h.yaml:6: options.timeout: want a duration such as 10s, got \"5 minutes\""},
		// An endpoint and a url: the url is the fallback (Kapacitor's httppost Handler), so it must be one.
		{"id: a\ntopic: t\nkind: post\noptions:\n  endpoint: ep\n  url: ftp://h\n", `options.url: want an http:// or https:// URL, got "ftp://h"`},
		{"id: a\ntopic: t\nkind: post\noptions:\n  timeout: 1s\n", "h.yaml:4: options: url: missing (give the url, or the endpoint of an [[httppost]] section of kapacitor.conf)"},
		{"id: a\ntopic: t\nkind: exec\noptions:\n  args: [a]\n", "h.yaml:4: options: prog: missing"},
		{"id: a\ntopic: t\nkind: exec\noptions:\n  prog: /bin/true\n  env: x\n", "h.yaml:4: options: exec handler has invalid keys: env"},
		{"id: a\ntopic: t\nkind: jira\n", `h.yaml:3: kind: handler kind "jira" is not supported by tickrun`},
	} {
		_, err := ParseFile("h.yaml", []byte(tc.file))
		require.Error(t, err, tc.file)
		assert.Contains(t, err.Error(), tc.want, tc.file)
	}
	s, err := ParseFile("h.yaml", []byte("id: a\ntopic: t\nkind: tcp\noptions:\n  address: h:1\n  persistent: true\n  queue-size: 7\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"address": "h:1", "persistent": true, "queue-size": 7}, s.Options)
}

// Issue 17: .log() on a FIFO with no reader used to block in open() and
// lose the events uncounted. The open fails at once and is retried; then
// the events are dropped and counted, and sent + dropped is every event.
func TestLogFIFOWithoutReader_issue17(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	d := fastDelivery
	d.RetryMaxTime = 100 * time.Millisecond
	h, log := testHandler(t, "log", map[string]any{"path": path}, d)
	deliverN(h, 1, 3)
	done := make(chan struct{})
	go func() { closeHandler(t, h); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("close blocked on a FIFO without reader")
	}
	st := h.Stats()
	assert.Equal(t, int64(3), st.Dropped, "%+v", st)
	assert.Equal(t, int64(0), st.Sent)
	assert.Contains(t, log.String(), "is a FIFO with no reader")
}

// Issue 17: .log() does not follow symbolic links (the error names the
// path and is not retried) and cleans its path.
func TestLogNoFollowAndClean_issue17(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	link := filepath.Join(dir, "link")
	require.NoError(t, os.Symlink(target, link))
	h, log := testHandler(t, "log", map[string]any{"path": link}, fastDelivery)
	deliverN(h, 1, 1)
	closeHandler(t, h)
	assert.Equal(t, deliver.Stats{Name: "log " + link, Dropped: 1}, h.Stats())
	assert.Contains(t, log.String(), link+" is a symbolic link: .log() does not follow links (not retried)")
	_, err := os.Stat(target)
	assert.True(t, os.IsNotExist(err), "nothing was written through the link")

	unclean := dir + "/sub/../alerts.log"
	h, _ = testHandler(t, "log", map[string]any{"path": unclean}, fastDelivery)
	deliverN(h, 1, 1)
	closeHandler(t, h)
	assert.Equal(t, "log "+filepath.Join(dir, "alerts.log"), h.Stats().Name)
	_, err = os.Stat(filepath.Join(dir, "alerts.log"))
	assert.NoError(t, err)
}
