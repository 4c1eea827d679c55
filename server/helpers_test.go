package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/internal/testsink"
	"github.com/tickrun/tickrun/server"
	"github.com/tickrun/tickrun/server/config"
)

// The identity of the recorded server (testdata/api/README.md).
const (
	recordedClusterID = "00000000-0000-0000-0000-000000000001"
	recordedServerID  = "00000000-0000-0000-0000-000000000002"
	recordedSinkAddr  = "127.0.0.1:7777"
)

// testServer is a real server on a free port of 127.0.0.1.
type testServer struct {
	t    testing.TB
	srv  *server.Server
	url  string
	dir  string
	errc chan error
	down bool
}

// startServer starts a server whose data_dir is dir, with the recorded
// identity unless dir already has one. configure may change the
// configuration first.
func startServer(t testing.TB, dir string, configure func(*config.Config)) *testServer {
	t.Helper()
	for name, id := range map[string]string{config.ClusterIDFile: recordedClusterID, config.ServerIDFile: recordedServerID} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); os.IsNotExist(err) {
			require.NoError(t, os.MkdirAll(dir, 0o755))
			require.NoError(t, os.WriteFile(p, []byte(id), 0o644))
		}
	}
	cfg := config.Local()
	cfg.DataDir = dir
	cfg.Hostname = "localhost"
	cfg.HTTP.LogEnabled = false
	if configure != nil {
		configure(cfg)
	}
	cfg.Resolve()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv, err := server.New(server.Options{Config: cfg, Listener: ln, Logger: testLogger(t), DrainTimeout: 10 * time.Second})
	require.NoError(t, err)
	ts := &testServer{t: t, srv: srv, url: "http://" + ln.Addr().String(), dir: dir, errc: make(chan error, 1)}
	go func() { ts.errc <- srv.Serve() }()
	t.Cleanup(func() { ts.stop() })
	return ts
}

// stop shuts the server down as SIGTERM does and waits for Serve.
func (ts *testServer) stop() {
	if ts.down {
		return
	}
	ts.down = true
	require.NoError(ts.t, ts.srv.Shutdown(context.Background()))
	require.NoError(ts.t, <-ts.errc)
}

// do sends a request and returns the status, headers and the decoded
// body (gunzipped when the server compressed it).
func (ts *testServer) do(method, path string, headers [][2]string, body []byte) (int, http.Header, string) {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.url+path, bytes.NewReader(body))
	require.NoError(ts.t, err)
	for _, h := range headers {
		req.Header.Set(h[0], h[1])
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	require.NoError(ts.t, err)
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" && resp.StatusCode != http.StatusNoContent {
		gz, err := gzip.NewReader(resp.Body)
		require.NoError(ts.t, err)
		r = gz
	}
	data, err := io.ReadAll(r)
	require.NoError(ts.t, err)
	return resp.StatusCode, resp.Header, string(data)
}

// sink is the TCP endpoint of these tests: internal/testsink, which
// records each connection's bytes in accept order (Kapacitor opens one
// connection per event).
type sink struct {
	*testsink.Sink
	addr string
}

func newSink(t *testing.T) *sink {
	s := testsink.Start(t, "", nil)
	return &sink{s, s.Addr()}
}

// close returns what each connection sent, after the senders finished.
func (s *sink) close() []string { return s.Close() }

// count returns how many connections were accepted so far.
func (s *sink) count() int { return len(s.Received()) }

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// exchange is one recorded HTTP exchange of testdata/api.
type exchange struct {
	Seq     int    `json:"seq"`
	Label   string `json:"label"`
	Request struct {
		Method  string      `json:"method"`
		Path    string      `json:"path"`
		Headers [][2]string `json:"headers"`
		Body    string      `json:"body"`
	} `json:"request"`
	Response struct {
		Status  int         `json:"status"`
		Headers [][2]string `json:"headers"`
		Body    string      `json:"body"`
	} `json:"response"`
}

func readExchanges(t *testing.T, path string) []exchange {
	t.Helper()
	var out []exchange
	for _, l := range readLines(t, path) {
		var x exchange
		require.NoError(t, json.Unmarshal([]byte(l), &x), path)
		out = append(out, x)
	}
	return out
}

func header(hs [][2]string, name string) (string, bool) {
	for _, h := range hs {
		if strings.EqualFold(h[0], name) {
			return h[1], true
		}
	}
	return "", false
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
