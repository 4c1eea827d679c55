package server_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/server/config"
)

// TestRecordedExchanges replays every exchange of testdata/api (the real
// kapacitor CLI against Kapacitor 1.8.3), in order and against one
// server, as they were recorded, and compares the status, the headers
// the CLI reads and the body. The server runs with [http]
// partial-writes = "kapacitor", the recorded behaviour; the default
// answer to bad lines is tested by TestPartialWrites. Normalised, as the
// README of testdata/api says: created/modified/last-enabled times (a
// valid time is still required), the entry ids and command line of
// /debug/vars. The statistics of an executing task are compared where
// tickrun reports them (each value it reports must be Kapacitor's; see
// compareStats), since the engine does not report every node statistic
// yet. The TCP handler's address 127.0.0.1:7777 is a real listener's.
func TestRecordedExchanges(t *testing.T) {
	files, err := filepath.Glob("testdata/api/[0-9][0-9]_*.jsonl")
	require.NoError(t, err)
	require.Greater(t, len(files), 20, "the recorded exchanges are missing")
	sort.Strings(files)
	sink := newSink(t)
	ts := startServer(t, t.TempDir(), func(c *config.Config) { c.HTTP.PartialWrites = "kapacitor" })
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".jsonl")
		for _, x := range readExchanges(t, f) {
			what := name + " #" + itoa(x.Seq) + " " + x.Request.Method + " " + x.Request.Path + " " + x.Label
			body := strings.ReplaceAll(x.Request.Body, recordedSinkAddr, sink.addr)
			var hs [][2]string
			for _, h := range x.Request.Headers {
				if h[0] != "Host" && h[0] != "Content-Length" {
					hs = append(hs, h)
				}
			}
			status, got, gotBody := ts.do(x.Request.Method, x.Request.Path, hs, []byte(body))
			require.Equal(t, x.Response.Status, status, "%s: status; body %s", what, gotBody)
			assert.Equal(t, "1.8.3", got.Get("X-Kapacitor-Version"), what)
			ct, _ := header(x.Response.Headers, "Content-Type")
			assert.Equal(t, ct, got.Get("Content-Type"), what)
			ce, _ := header(x.Response.Headers, "Content-Encoding")
			assert.Equal(t, ce, got.Get("Content-Encoding"), "%s: Content-Encoding", what)
			wantBody := strings.ReplaceAll(x.Response.Body, recordedSinkAddr, sink.addr)
			compareBody(t, what, x.Request.Path, wantBody, gotBody)
		}
	}
	// The TCP handler received what Kapacitor's did.
	ts.stop()
	want := readLines(t, "testdata/api/tcp_sink_7777.jsonl")
	got := sink.close()
	require.Len(t, got, len(want), "messages on the TCP listener: %q", got)
	for i := range want {
		assert.Equal(t, want[i]+"\n\n", got[i], "message %d", i)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// compareBody compares a recorded body with ours.
func compareBody(t *testing.T, what, path, want, got string) {
	t.Helper()
	if strings.HasPrefix(path, "/kapacitor/v1/debug/vars") {
		compareVars(t, what, want, got)
		return
	}
	w, err := parseOrdered(want)
	if err != nil { // not JSON: plain text or empty, compared exactly
		assert.Equal(t, want, got, what)
		return
	}
	g, err := parseOrdered(got)
	require.NoError(t, err, "%s: our body is not JSON: %q", what, got)
	// Kapacitor's layout: 4-space indentation, no trailing newline.
	var canon bytes.Buffer
	require.NoError(t, json.Indent(&canon, []byte(g.String()), "", "    "))
	assert.Equal(t, canonical(t, got), got, "%s: layout", what)
	normalise(t, what, w, g)
	assert.Equal(t, w.String(), g.String(), what)
}

// canonical re-indents a JSON body the way Kapacitor writes it.
func canonical(t *testing.T, body string) string {
	var compact, out bytes.Buffer
	require.NoError(t, json.Compact(&compact, []byte(body)))
	require.NoError(t, json.Indent(&out, compact.Bytes(), "", "    "))
	return out.String()
}

var timeKeys = map[string]bool{"created": true, "modified": true, "last-enabled": true}

// normalise walks both trees together and blanks what may differ.
func normalise(t *testing.T, what string, w, g *jnode) {
	t.Helper()
	switch {
	case w.isObj && g.isObj:
		if ex := w.get("executing"); ex != nil && ex.scalar == true && g.get("stats") != nil {
			compareStats(t, what, w.get("stats"), g.get("stats"))
			compareDOT(t, what, w.get("dot").scalar.(string), g.get("dot").scalar.(string))
			w.set("stats", str("*"))
			g.set("stats", str("*"))
			w.set("dot", str("*"))
			g.set("dot", str("*"))
		}
		for _, kv := range w.obj {
			gv := g.get(kv.key)
			if gv == nil {
				continue
			}
			if timeKeys[kv.key] {
				s, _ := kv.val.scalar.(string)
				if s != "0001-01-01T00:00:00Z" {
					gs, _ := gv.scalar.(string)
					tm, err := time.Parse(time.RFC3339Nano, gs)
					assert.NoError(t, err, "%s: %s", what, kv.key)
					assert.False(t, tm.IsZero(), "%s: %s", what, kv.key)
					kv.val.scalar, gv.scalar = "*", "*"
				}
				continue
			}
			normalise(t, what, kv.val, gv)
		}
	case w.isArr && g.isArr:
		for i := range w.arr {
			if i < len(g.arr) {
				normalise(t, what, w.arr[i], g.arr[i])
			}
		}
	}
}

// compareStats checks an executing task's statistics: the same nodes,
// and every statistic tickrun reports equal to Kapacitor's.
func compareStats(t *testing.T, what string, w, g *jnode) {
	t.Helper()
	require.NotNil(t, g.get("task-stats"), "%s: task-stats", what)
	wn, gn := w.get("node-stats"), g.get("node-stats")
	require.NotNil(t, gn, "%s: node-stats", what)
	var wnames, gnames []string
	for _, kv := range wn.obj {
		wnames = append(wnames, kv.key)
	}
	for _, kv := range gn.obj {
		gnames = append(gnames, kv.key)
	}
	assert.Equal(t, wnames, gnames, "%s: nodes", what)
	for _, kv := range gn.obj {
		for _, st := range kv.val.obj {
			wv := wn.get(kv.key).get(st.key)
			if assert.NotNil(t, wv, "%s: node %s reports %s, which Kapacitor does not", what, kv.key, st.key) {
				assert.Equal(t, wv.String(), st.val.String(), "%s: %s.%s", what, kv.key, st.key)
			}
		}
	}
}

var dotAttr = regexp.MustCompile(`(\w+)="([^"]*)"`)

// compareDOT checks a graph with statistics: the same lines in the same
// order, and every attribute tickrun writes equal to Kapacitor's.
func compareDOT(t *testing.T, what, want, got string) {
	t.Helper()
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	require.Equal(t, len(wl), len(gl), "%s: DOT lines:\n%s\n---\n%s", what, want, got)
	for i := range wl {
		wHead, _, _ := strings.Cut(wl[i], "[")
		gHead, _, _ := strings.Cut(gl[i], "[")
		// An edge whose count tickrun does not know has no attribute list.
		trim := func(s string) string { return strings.TrimSuffix(strings.TrimSpace(s), ";") }
		assert.Equal(t, trim(wHead), trim(gHead), "%s: DOT line %d", what, i+1)
		wa := map[string]string{}
		for _, m := range dotAttr.FindAllStringSubmatch(wl[i], -1) {
			wa[m[1]] = m[2]
		}
		for _, m := range dotAttr.FindAllStringSubmatch(gl[i], -1) {
			if m[1] == "throughput" {
				continue // a rate over wall-clock time
			}
			assert.Equal(t, wa[m[1]], m[2], "%s: DOT line %d attribute %s", what, i+1, m[1])
		}
	}
}

// compareVars compares /debug/vars: the top-level keys, the values the
// CLI's `stats general` reads, and the statistics by name, tags and
// values (their ids are random in Kapacitor). Kapacitor's "load"
// statistic is not reported: tickrun has no [load] service yet.
func compareVars(t *testing.T, what, want, got string) {
	t.Helper()
	assert.True(t, strings.HasSuffix(got, "\n}\n") && strings.HasPrefix(got, "{\n"), "%s: expvar layout", what)
	var w, g map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(want), &w))
	require.NoError(t, json.Unmarshal([]byte(got), &g), got)
	var wk, gk []string
	for k := range w {
		wk = append(wk, k)
	}
	for k := range g {
		gk = append(gk, k)
	}
	sort.Strings(wk)
	sort.Strings(gk)
	assert.Equal(t, wk, gk, what)
	for _, k := range []string{"cluster_id", "server_id", "host", "num_tasks", "num_enabled_tasks", "num_subscriptions", "platform", "product", "version"} {
		assert.JSONEq(t, string(w[k]), string(g[k]), "%s: %s", what, k)
	}
	type stat struct {
		Name   string            `json:"name"`
		Tags   map[string]string `json:"tags"`
		Values map[string]int64  `json:"values"`
	}
	flatten := func(raw json.RawMessage) []string {
		var m map[string]stat
		require.NoError(t, json.Unmarshal(raw, &m))
		var out []string
		for _, s := range m {
			if s.Name == "load" {
				continue
			}
			b, _ := json.Marshal(s)
			out = append(out, string(b))
		}
		sort.Strings(out)
		return out
	}
	assert.Equal(t, flatten(w["kapacitor"]), flatten(g["kapacitor"]), "%s: statistics", what)
}
