package pipeline_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/pipeline/kapconf"
	"github.com/tickrun/tickrun/pipeline/lineproto"
)

var update = flag.Bool("update", false, "rewrite the expected files of the golden node tests")

// TestGolden runs every case of testdata/golden: script.tick over input.lp
// (written to telegraf.autogen), with the events captured in-process and
// compared with expected.jsonl; errors.txt, when present, holds what the
// nodes logged, and deliveries.txt what outputs would send and the requests
// an API got (a case's kapacitor.conf may point at $API, a local server
// answering from its api.txt). These are our own goldens, one or more per node kind;
// regenerate them with `go test ./pipeline -run TestGolden -update` and
// review the diff like code.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/golden/*")
	require.NoError(t, err)
	require.Greater(t, len(dirs), 0, "no golden case")
	for _, dir := range dirs {
		dir := dir
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			events, log, deliveries := runGolden(t, dir)
			check := func(name, got string) {
				path := filepath.Join(dir, name)
				if *update {
					if got == "" && name != "expected.jsonl" {
						os.Remove(path)
						return
					}
					require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
					return
				}
				want, _ := os.ReadFile(path)
				require.Equal(t, string(want), got, "%s differs (go test ./pipeline -run TestGolden -update rewrites it)", path)
			}
			check("expected.jsonl", events)
			check("errors.txt", log)
			check("deliveries.txt", deliveries)
		})
	}
}

// goldenAPI serves the canned answers of a case's api.txt, one line each
// (METHOD PATH STATUS BODY, matched on method and path), and records the
// requests it gets, for cases whose nodes call an API (autoscale).
type goldenAPI struct {
	*httptest.Server
	mu   sync.Mutex
	reqs bytes.Buffer
}

func startGoldenAPI(t *testing.T, spec string) *goldenAPI {
	answers := map[string][2]string{}
	for _, line := range strings.Split(strings.TrimSpace(spec), "\n") {
		f := strings.SplitN(line, " ", 4)
		require.Len(t, f, 4, "api.txt line %q: want METHOD PATH STATUS BODY", line)
		answers[f[0]+" "+f[1]] = [2]string{f[2], f[3]}
	}
	a := &goldenAPI{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		fmt.Fprintf(&a.reqs, "%s %s\n", r.Method, r.URL.RequestURI())
		for _, h := range []string{"Authorization", "Content-Type"} {
			if v := r.Header.Get(h); v != "" {
				if strings.HasPrefix(v, "AWS4-HMAC-SHA256 ") { // signed with the time of the run
					v = v[:strings.Index(v, "Signature=")] + "Signature=..."
					v = regexp.MustCompile(`/\d{8}/`).ReplaceAllString(v, "/DATE/")
				}
				fmt.Fprintf(&a.reqs, "%s: %s\n", h, v)
			}
		}
		if len(body) > 0 {
			fmt.Fprintf(&a.reqs, "%s\n", strings.TrimSuffix(string(body), "\n"))
		}
		a.mu.Unlock()
		ans, ok := answers[r.Method+" "+r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		code, _ := strconv.Atoi(ans[0])
		w.WriteHeader(code)
		io.WriteString(w, ans[1])
	}))
	t.Cleanup(a.Close)
	return a
}

func runGolden(t *testing.T, dir string) (events, log, deliveries string) {
	src, err := os.ReadFile(filepath.Join(dir, "script.tick"))
	require.NoError(t, err)
	var out, logBuf, sent bytes.Buffer
	opts := pipeline.Options{
		Log:     &logBuf,
		OnEvent: func(_ *pipeline.Event, payload []byte) { out.Write(payload); out.WriteByte('\n') },
		Server:  pipeline.ServerInfo{Hostname: "localhost", ClusterID: pipeline.NilUUID, ServerID: pipeline.NilUUID},
	}
	// What handlers and output nodes would send, captured instead.
	opts.Deliver.Capture = func(kind, target string, payload []byte) {
		fmt.Fprintf(&sent, "%s %s\n%s\n", kind, target, payload)
	}
	// A case may bring a kapacitor.conf, where $API is the URL of a server
	// answering from its api.txt; the requests go into deliveries.txt.
	var api *goldenAPI
	if spec, err := os.ReadFile(filepath.Join(dir, "api.txt")); err == nil {
		api = startGoldenAPI(t, string(spec))
	}
	if conf, err := os.ReadFile(filepath.Join(dir, "kapacitor.conf")); err == nil {
		if api != nil {
			conf = bytes.ReplaceAll(conf, []byte("$API"), []byte(api.URL))
		}
		c, err := kapconf.Parse("kapacitor.conf", conf)
		require.NoError(t, err)
		opts.Config = c
	}
	defer func() {
		if api != nil {
			api.mu.Lock()
			deliveries += api.reqs.String()
			api.mu.Unlock()
		}
	}()
	task, err := pipeline.Compile("script", "script.tick", string(src), opts)
	if err != nil {
		return "", task.ErrorText(err), ""
	}
	in, err := os.Open(filepath.Join(dir, "input.lp"))
	require.NoError(t, err)
	defer in.Close()
	_, err = task.WriteLineProtocol(in, "telegraf", "autogen", "", func(e *lineproto.LineError) { logBuf.WriteString(e.Error() + "\n") })
	require.NoError(t, err)
	require.NoError(t, task.Close(context.Background()))
	return out.String(), strings.TrimLeft(logBuf.String(), "\n"), sent.String()
}
