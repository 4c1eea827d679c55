package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/internal/influxtest"
)

// batchCasesDir holds the batch cases recorded from Kapacitor 1.8.3
// replaying batch tasks against InfluxDB 1.6.7 (copied verbatim from
// shared/batch-cases).
const batchCasesDir = "../../testdata/batch-cases"

// recordedRequest is one line of a case's queries.jsonl or writes.jsonl.
type recordedRequest struct {
	Method   string `json:"method"`
	Path     string `json:"path"`
	Q        string `json:"q"`
	Status   int    `json:"status"`
	Response string `json:"response"`
	Body     string `json:"body"`
}

func readRequests(t *testing.T, path string) []recordedRequest {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []recordedRequest
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var r recordedRequest
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), path)
		out = append(out, r)
	}
	require.NoError(t, sc.Err())
	return out
}

// fromClause keys a query by what it reads: the queries of one query()
// node keep their order, those of several nodes (batch_join) interleave
// in either order in Kapacitor.
var fromClause = regexp.MustCompile(` FROM (\S+)`)

func byFrom(qs []string) map[string][]string {
	out := map[string][]string{}
	for _, q := range qs {
		m := fromClause.FindStringSubmatch(q)
		key := ""
		if m != nil {
			key = m[1]
		}
		out[key] = append(out[key], q)
	}
	return out
}

// TestBatchCases runs every recorded batch case end to end: a real
// influxd holds the case's input in db telegraf, `tickrun run --influxdb
// URL --start --stop script.tick` backtests the script through a logging
// proxy, and a real TCP listener stands in for 127.0.0.1:7777. What
// arrives must be Kapacitor's alerts byte for byte (each line plus
// "\n\n"), every query sent must be the one Kapacitor sent with the same
// answer from InfluxDB, the writes of batch_influxdbout must be
// Kapacitor's and leave the same data; a case whose replay failed must
// fail with exit 1 and InfluxDB's message after the first query.
func TestBatchCases(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(batchCasesDir, "*", "script.tick"))
	require.NoError(t, err)
	require.Greater(t, len(dirs), 0, "no batch case in %s", batchCasesDir)
	srv := influxtest.Start(t, influxtest.Options{})
	rec := srv.Recorder(t)
	for _, script := range dirs {
		dir := filepath.Dir(script)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			srv.ResetDatabase(t, "telegraf")
			srv.ResetDatabase(t, "out")
			if b, err := os.ReadFile(filepath.Join(dir, "dbs")); err == nil {
				for _, db := range strings.Fields(string(b)) {
					srv.ResetDatabase(t, db)
				}
			}
			srv.Write(t, "telegraf", []byte(readFile(t, filepath.Join(dir, "input.lp"))))
			rec.Reset()

			rng := strings.Fields(readFile(t, filepath.Join(dir, "range")))
			require.Len(t, rng, 2)
			sink := newSink(t)
			tmp := t.TempDir()
			path := filepath.Join(tmp, "script.tick")
			require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(readFile(t, script), "127.0.0.1:7777", sink.addr)), 0o644))
			var stdout, stderr bytes.Buffer
			code := run([]string{"run", "--influxdb", rec.URL, "--start", rng[0], "--stop", rng[1], path}, strings.NewReader(""), &stdout, &stderr)
			received := sink.close()

			var queries, writes []string
			var sent []recordedRequestSeen
			for _, r := range rec.Requests() {
				switch {
				case r.Method == "POST" && strings.HasPrefix(r.Path, "/query?"):
					queries = append(queries, r.Params.Get("q"))
					sent = append(sent, recordedRequestSeen{path: r.Path, status: r.Status, response: string(r.Response)})
				case r.Method == "POST" && strings.HasPrefix(r.Path, "/write?"):
					writes = append(writes, r.Path+"\n"+string(r.Body))
				default:
					t.Errorf("unexpected request %s %s", r.Method, r.Path)
				}
			}

			// The queries: the same, with the same answers.
			want := readRequests(t, filepath.Join(dir, "queries.jsonl"))
			var wantQ []string
			byQ := map[string]recordedRequest{}
			for _, w := range want {
				wantQ = append(wantQ, w.Q)
				byQ[w.Q] = w
			}
			assert.Equal(t, byFrom(wantQ), byFrom(queries), "queries sent, per FROM")
			for _, s := range sent {
				q := s.path[strings.Index(s.path, "&q=")+3:]
				w, ok := byQ[q]
				if !assert.True(t, ok, "query %q was not sent by Kapacitor", q) {
					continue
				}
				assert.Equal(t, w.Path, s.path)
				assert.Equal(t, w.Status, s.status)
				assert.Equal(t, w.Response, s.response, "InfluxDB's answer to %s", q)
			}

			if b, err := os.ReadFile(filepath.Join(dir, "replay.txt")); err == nil {
				// Kapacitor's replay failed at its first query: so does the backtest.
				var msg string
				for _, line := range strings.Split(string(b), "\n") {
					if m, ok := strings.CutPrefix(line, "Error: running replay: "); ok {
						msg = m
					}
				}
				require.NotEmpty(t, msg)
				assert.Equal(t, exitFailed, code, "exit code; stderr:\n%s", stderr.String())
				assert.Contains(t, stderr.String(), "tickrun: backtest stopped: query1: influxdb query ")
				assert.Contains(t, stderr.String(), msg)
				assert.Contains(t, stderr.String(), want[0].Q, "the log names the query")
				assert.Contains(t, stderr.String(), "task=script", "the log names the task")
				assert.Empty(t, received, "no alert")
				return
			}
			require.Equal(t, exitOK, code, "exit code; stderr:\n%s", stderr.String())

			// The alerts, byte for byte.
			expected := readLines(t, filepath.Join(dir, "expected.jsonl"))
			if !assert.Equal(t, len(expected), len(received), "number of alerts; stderr:\n%s", stderr.String()) {
				for i, g := range received {
					t.Logf("got %d: %s", i, g)
				}
			}
			for i := 0; i < len(expected) && i < len(received); i++ {
				assert.Equal(t, expected[i]+"\n\n", received[i], "alert %d", i)
			}

			// The writes, and what InfluxDB holds afterwards.
			if _, err := os.Stat(filepath.Join(dir, "writes.jsonl")); err != nil {
				assert.Empty(t, writes)
				return
			}
			var wantW []string
			for _, w := range readRequests(t, filepath.Join(dir, "writes.jsonl")) {
				wantW = append(wantW, w.Path+"\n"+w.Body)
			}
			assert.Equal(t, wantW, writes)
			var after struct {
				Response json.RawMessage `json:"response"`
			}
			require.NoError(t, json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "influx_after.json"))), &after))
			got := srv.Query(t, strings.TrimSpace(readFile(t, filepath.Join(dir, "after_query"))))
			assert.JSONEq(t, string(after.Response), string(got))
		})
	}
}

// recordedRequestSeen is a /query request the backtest sent.
type recordedRequestSeen struct {
	path     string
	status   int
	response string
}
