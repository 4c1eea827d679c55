package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/server"
	"github.com/tickrun/tickrun/server/config"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// records returns the JSON log records written so far.
func (s *syncBuffer) records(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	return out
}

// TestRequestLog: with [http] log-enabled every request is one
// structured record (JSON here) with its method, URI (credentials
// redacted), status and duration; `kapacitor level error` (POST
// /kapacitor/v1/loglevel) silences them from then on.
func TestRequestLog(t *testing.T) {
	cfg := config.Local()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.LogEnabled = true
	cfg.Resolve()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var buf syncBuffer
	level := new(slog.LevelVar)
	srv, err := server.New(server.Options{Config: cfg, Listener: ln, LogLevel: level,
		Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level}))})
	require.NoError(t, err)
	ts := &testServer{t: t, srv: srv, url: "http://" + ln.Addr().String(), errc: make(chan error, 1)}
	go func() { ts.errc <- srv.Serve() }()
	t.Cleanup(func() { ts.stop() })

	requests := []struct {
		method, path, body string
		status             int
		uri                string
	}{
		{"GET", "/kapacitor/v1/ping", "", 204, "/kapacitor/v1/ping"},
		{"POST", "/write?db=telegraf&u=telegraf&p=s3cret", "cpu v=1 1\n", 204, "/write?db=telegraf&p=%5BREDACTED%5D&u=telegraf"},
		{"GET", "/kapacitor/v1/tasks/nope", "", 404, "/kapacitor/v1/tasks/nope"},
		{"POST", "/kapacitor/v1/loglevel", `{"level":"error"}`, 204, "/kapacitor/v1/loglevel"},
	}
	for _, r := range requests {
		status, _, body := ts.do(r.method, r.path, nil, []byte(r.body))
		require.Equal(t, r.status, status, body)
	}
	// After `level error`: not logged.
	status, _, _ := ts.do("GET", "/kapacitor/v1/ping", nil, nil)
	require.Equal(t, 204, status)
	status, _, body := ts.do("POST", "/kapacitor/v1/loglevel", nil, []byte(`{"level":"loud"}`))
	assert.Equal(t, 400, status, body)

	deadline := time.Now().Add(10 * time.Second)
	var logged []map[string]any
	for {
		logged = nil
		for _, m := range buf.records(t) {
			if m["msg"] == "http request" {
				logged = append(logged, m)
			}
		}
		// A request is logged after its answer is sent: wait for the last.
		if len(logged) >= len(requests)-1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The level request itself is answered at the new level: not logged.
	require.Len(t, logged, len(requests)-1, "one record per request until the level changed")
	for i, r := range requests[:len(requests)-1] {
		m := logged[i]
		assert.Equal(t, "INFO", m["level"])
		assert.Equal(t, r.method, m["method"])
		assert.Equal(t, r.uri, m["uri"])
		assert.Equal(t, float64(r.status), m["status"])
		assert.Contains(t, m, "duration")
		assert.Contains(t, m, "request_id")
		assert.NotContains(t, m["uri"], "s3cret")
	}
	require.NoError(t, srv.Shutdown(context.Background()))
	require.NoError(t, <-ts.errc)
	ts.down = true
}
