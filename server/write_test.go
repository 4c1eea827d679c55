package server_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/server/config"
)

// seedTask is the recorded define request of the seed page
// (01_define_cpu_alert_dbrp_flag), made enabled.
func defineSeedTask(t *testing.T, ts *testServer, id string) {
	t.Helper()
	x := readExchanges(t, "testdata/api/01_define_cpu_alert_dbrp_flag.jsonl")[1]
	body := strings.Replace(x.Request.Body, `"id":"cpu_alert"`, `"id":"`+id+`"`, 1)
	status, _, resp := ts.do("POST", "/kapacitor/v1/tasks", nil, []byte(body))
	require.Equal(t, http.StatusOK, status, resp)
	status, _, resp = ts.do("PATCH", "/kapacitor/v1/tasks/"+id, nil, []byte(`{"status":"enabled"}`))
	require.Equal(t, http.StatusOK, status, resp)
}

// nodeStat reads one statistic of a running task through the API.
func nodeStat(t *testing.T, ts *testServer, task, node, key string) int64 {
	t.Helper()
	status, _, body := ts.do("GET", "/kapacitor/v1/tasks/"+task, nil, nil)
	require.Equal(t, http.StatusOK, status, body)
	var v struct {
		Stats struct {
			NodeStats map[string]map[string]int64 `json:"node-stats"`
		} `json:"stats"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	n, ok := v.Stats.NodeStats[node][key]
	require.True(t, ok, "no %s.%s in %s", node, key, body)
	return n
}

// TestPartialWrites replays the recorded writes (06 and 07) against the
// default configuration, which answers bad lines as InfluxDB 1.x does:
// the good lines are written and the 400 is JSON, so that Telegraf drops
// the batch instead of retrying it forever. Each expected answer is
// derived from the recorded one: a recorded plain-text "unable to parse"
// becomes {"error": the same text}, prefixed with "partial write: " and
// followed by the count of dropped lines when good lines were kept.
func TestPartialWrites(t *testing.T) {
	ts := startServer(t, t.TempDir(), nil)
	defineSeedTask(t, ts, "cpu_alert")
	written := 0
	for _, f := range []string{"testdata/api/06_write_kapacitor_v1.jsonl", "testdata/api/07_write_influx_compat.jsonl"} {
		for _, x := range readExchanges(t, f) {
			status, h, body := ts.do(x.Request.Method, x.Request.Path, [][2]string{{"Content-Type", "text/plain; charset=utf-8"}}, []byte(x.Request.Body))
			require.Equal(t, x.Response.Status, status, "%s: %s", x.Label, body)
			rec := x.Response.Body
			switch {
			case strings.HasPrefix(rec, "unable to parse"):
				want := strings.TrimSuffix(rec, "\n")
				if x.Label == "good line then bad line" {
					want = "partial write: " + want + " dropped=1"
					written++
				}
				var got struct{ Error string }
				require.NoError(t, json.Unmarshal([]byte(body), &got), "%s: want JSON, got %q", x.Label, body)
				assert.Equal(t, want, got.Error, x.Label)
				assert.NotEmpty(t, h.Get("X-Influxdb-Error"), x.Label)
			default:
				assert.Equal(t, rec, body, x.Label) // 204s and "database is required\n"
				if status == http.StatusNoContent {
					written += strings.Count(x.Request.Body, "\n")
				}
			}
		}
	}
	// The good line of each "good line then bad line" reached the task:
	// 12 points where Kapacitor took 10.
	require.Equal(t, 12, written)
	assert.Equal(t, int64(written), nodeStat(t, ts, "cpu_alert", "stream0", "collected"))
}

// TestLongLineWrite: a line over the decoder's 4 MiB limit in a write
// under the body limit is a bad line like any other (the write decodes
// the body in place, and a line that long is still cut out), and the
// lines around it are written.
func TestLongLineWrite(t *testing.T) {
	ts := startServer(t, t.TempDir(), nil)
	defineSeedTask(t, ts, "cpu_alert")
	long := "cpu,host=h usage_idle=" + strings.Repeat("1", 5<<20) + " 1\n"
	body := "cpu,host=a usage_idle=50 1\n" + long + "cpu,host=b usage_idle=60 2\n"
	for _, gz := range []bool{false, true} {
		var headers [][2]string
		data := []byte(body)
		if gz {
			headers, data = [][2]string{{"Content-Encoding", "gzip"}}, gzipped(t, data)
		}
		status, _, resp := ts.do("POST", "/write?db=telegraf&rp=autogen", headers, data)
		require.Equal(t, http.StatusBadRequest, status, "gzip=%v", gz)
		var got struct{ Error string }
		require.NoError(t, json.Unmarshal([]byte(resp), &got), resp)
		assert.True(t, strings.HasPrefix(got.Error, "partial write: unable to parse 'cpu,host=h usage_idle=111"), got.Error)
		assert.Contains(t, got.Error, "line too long: 5242904 bytes")
		assert.True(t, strings.HasSuffix(got.Error, " dropped=1"), got.Error)
		assert.Less(t, len(got.Error), 1000, "the answer quotes the start of the line only")
	}
	assert.Equal(t, int64(4), nodeStat(t, ts, "cpu_alert", "stream0", "collected"))
}

func gzipped(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	_, err := gz.Write(data)
	require.NoError(t, err)
	require.NoError(t, gz.Close())
	return b.Bytes()
}

// telegrafBatch is a batch as Telegraf's outputs.influxdb sends it: n
// lines of measurement m, nanosecond timestamps.
func telegrafBatch(m string, n, start int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%s,host=server%02d,cpu=cpu-total usage_idle=%d,usage_user=1.5 %d\n", m, i%50, 50+i%40, int64(1700000000+start+i)*1e9)
	}
	return b.Bytes()
}

// TestTelegrafWrites sends Telegraf-shaped writes: gzip bodies of 5,000
// lines, several at once, to the 1.x and 2.x endpoints, with the
// CREATE DATABASE probe first. A point reaches only the tasks of its
// measurement: the cpu task never sees the mem points.
func TestTelegrafWrites(t *testing.T) {
	ts := startServer(t, t.TempDir(), nil)
	defineSeedTask(t, ts, "cpu_alert")
	status, _, body := ts.do("POST", "/query?q=CREATE+DATABASE+%22telegraf%22", nil, nil)
	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"results":[{"statement_id":0}]}`, body)

	headers := [][2]string{{"Content-Encoding", "gzip"}, {"Content-Type", "text/plain; charset=utf-8"}, {"User-Agent", "Telegraf/1.30"}}
	var wg sync.WaitGroup
	const batches = 4
	for i := 0; i < batches; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, m := range []string{"cpu", "mem"} {
				st, _, b := ts.do("POST", "/write?db=telegraf&rp=autogen", headers, gzipped(t, telegrafBatch(m, 5000, i*5000)))
				assert.Equal(t, http.StatusNoContent, st, b)
			}
		}()
	}
	wg.Wait()
	// outputs.influxdb_v2: bucket "db/rp", precision s.
	st, _, b := ts.do("POST", "/api/v2/write?org=my-org&bucket=telegraf/autogen&precision=s",
		append(headers, [2]string{"Authorization", "Token x"}), gzipped(t, []byte("cpu,host=a usage_idle=99 1700000000\n")))
	require.Equal(t, http.StatusNoContent, st, b)
	assert.Equal(t, int64(batches*5000+1), nodeStat(t, ts, "cpu_alert", "stream0", "collected"))

	// /debug/vars counts what came in, per measurement.
	_, _, vars := ts.do("GET", "/kapacitor/v1/debug/vars", nil, nil)
	assert.Contains(t, vars, `"measurement": "mem", "retention_policy": "autogen", "server_id": "`+recordedServerID+`", "task_master": "main"}, "values": {"points_received": 20000}`)
}

// TestBadInput sends what a confused client sends; every answer is
// Kapacitor's and the server keeps serving.
func TestBadInput(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *config.Config) { c.HTTP.MaxBodySize, c.HTTP.MaxScriptSize = 64<<10, 32<<10 })
	badScript := readFile(t, "testdata/errors/bad_duration_unit.tick")
	hugeScript := "stream|from()" + strings.Repeat("|where(lambda: TRUE)", 2000) // 40 kB
	define := func(id, script string) string {
		b, _ := json.Marshal(map[string]any{"id": id, "script": script, "dbrps": []map[string]string{{"db": "telegraf", "rp": "autogen"}}, "status": "disabled"})
		return string(b)
	}
	for _, tc := range []struct {
		name, method, path string
		headers            [][2]string
		body               []byte
		status             int
		want               string // the error, or a prefix of the body ending in "*"
	}{
		{name: "unknown task", method: "GET", path: "/kapacitor/v1/tasks/nope", status: 404, want: "no task exists"},
		{name: "patch unknown task", method: "PATCH", path: "/kapacitor/v1/tasks/nope", body: []byte(`{"status":"enabled"}`), status: 404, want: "task does not exist, cannot update"},
		{name: "unknown template", method: "GET", path: "/kapacitor/v1/templates/nope", status: 404, want: "no template exists"},
		{name: "unknown topic", method: "GET", path: "/kapacitor/v1/alerts/topics/nope", status: 404, want: `unknown topic: "nope"`},
		{name: "unknown topic events", method: "GET", path: "/kapacitor/v1/alerts/topics/nope/events", status: 404, want: `unknown topic: "nope"`},
		{name: "unknown event", method: "GET", path: "/kapacitor/v1/alerts/topics/nope/events/x", status: 404, want: `unknown event "x" in topic "nope"`},
		{name: "unknown handler", method: "GET", path: "/kapacitor/v1/alerts/topics/cpu/handlers/nope", status: 404, want: `unknown handler: "nope"`},
		{name: "put unknown handler", method: "PUT", path: "/kapacitor/v1/alerts/topics/cpu/handlers/nope", body: []byte(`{"id":"nope","kind":"log"}`), status: 404, want: `unknown handler: "nope"`},
		{name: "unknown path", method: "GET", path: "/kapacitor/v1/nothing/here", status: 404, want: "not found"},
		{name: "malformed script", method: "POST", path: "/kapacitor/v1/tasks", body: []byte(define("bad", badScript)), status: 400, want: "invalid TICKscript: line 7 char *"},
		{name: "no dbrp", method: "POST", path: "/kapacitor/v1/tasks", body: []byte(`{"id":"x","script":"stream|from()","status":"disabled"}`), status: 400, want: "must specify dbrp"},
		{name: "dbrp twice", method: "POST", path: "/kapacitor/v1/tasks", body: []byte(define("x", "dbrp \"a\".\"b\"\nstream|from()")), status: 400, want: "cannot specify dbrp in both implicitly and explicitly"},
		{name: "bad task id", method: "POST", path: "/kapacitor/v1/tasks", body: []byte(define("a b", "stream|from()")), status: 400, want: `task ID must contain only letters, numbers, '-', '.' and '_'. "a b"`},
		{name: "not JSON", method: "POST", path: "/kapacitor/v1/tasks", body: []byte(`{"id":`), status: 400, want: "invalid JSON"},
		{name: "bad vars", method: "POST", path: "/kapacitor/v1/tasks", body: []byte(`{"id":"v","script":"var x int\nstream|from()","dbrps":[{"db":"a","rp":"b"}],"vars":{"x":{"type":"int","value":"ten"}}}`), status: 400, want: "invalid var x: value of an int var must be a number"},
		{name: "bad handler kind", method: "POST", path: "/kapacitor/v1/alerts/topics/cpu/handlers", body: []byte(`{"id":"h","kind":"carrier-pigeon"}`), status: 400, want: "invalid handler spec: *"},
		{name: "bad handler json", method: "POST", path: "/kapacitor/v1/alerts/topics/cpu/handlers", body: []byte(`[`), status: 400, want: "invalid handler json: *"},
		{name: "bad pattern", method: "GET", path: "/kapacitor/v1/tasks?pattern=%5B", status: 400, want: "invalid pattern: *"},
		{name: "bad template pattern", method: "GET", path: "/kapacitor/v1/templates?pattern=%5B", status: 400, want: "invalid pattern: *"},
		{name: "bad offset", method: "GET", path: "/kapacitor/v1/tasks?offset=-1", status: 400, want: `invalid offset parameter "-1"`},
		{name: "bad limit", method: "GET", path: "/kapacitor/v1/templates?limit=many", status: 400, want: `invalid limit parameter "many"`},
		{name: "bad min-level", method: "GET", path: "/kapacitor/v1/alerts/topics?min-level=LOUD", status: 400, want: "unknown alert level 'LOUD'"},
		{name: "write too big", method: "POST", path: "/write?db=telegraf&rp=autogen", body: telegrafBatch("cpu", 2000, 0), status: 413, want: `{"error":"request body too large: the limit is 65536 bytes"}` + "\n"},
		{name: "gzip bomb", method: "POST", path: "/write?db=telegraf&rp=autogen", headers: [][2]string{{"Content-Encoding", "gzip"}}, body: gzipped(t, bytes.Repeat([]byte("cpu a=1 1\n"), 100000)), status: 413, want: `{"error":"request body too large: the limit is 65536 bytes"}` + "\n"},
		{name: "not gzip", method: "POST", path: "/write?db=telegraf&rp=autogen", headers: [][2]string{{"Content-Encoding", "gzip"}}, body: []byte("cpu a=1"), status: 400, want: `{"error":"invalid gzip body: *`},
		{name: "script too big", method: "POST", path: "/kapacitor/v1/tasks", body: []byte(define("huge", hugeScript)), status: 400, want: "the TICKscript is 40013 bytes: the limit is 32768 bytes ([http] max-script-size)"},
		{name: "template script too big", method: "POST", path: "/kapacitor/v1/templates", body: []byte(`{"id":"t","type":"stream","script":"` + hugeScript + `"}`), status: 400, want: "the TICKscript is 40013 bytes: the limit is 32768 bytes ([http] max-script-size)"},
		{name: "task body too big", method: "POST", path: "/kapacitor/v1/tasks", body: bytes.Repeat([]byte(" "), 70<<10), status: 413, want: "request body too large: *"},
		{name: "garbage lines", method: "POST", path: "/write?db=telegraf&rp=autogen", body: []byte("\x00\xff\n=,=\n  \t\ncpu,=x a=1\n"), status: 400, want: `{"error":"unable to parse *`},
		{name: "wrong method", method: "DELETE", path: "/write?db=x", status: 405, want: "method not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := ts.do(tc.method, tc.path, tc.headers, tc.body)
			require.Equal(t, tc.status, status, body)
			if strings.HasPrefix(tc.want, "{") {
				if p, ok := strings.CutSuffix(tc.want, "*"); ok {
					assert.True(t, strings.HasPrefix(body, p), "%q does not start with %q", body, p)
				} else {
					assert.Equal(t, tc.want, body)
				}
				return
			}
			var e struct{ Error, Message string }
			require.NoError(t, json.Unmarshal([]byte(body), &e), body)
			if p, ok := strings.CutSuffix(tc.want, "*"); ok {
				assert.True(t, strings.HasPrefix(e.Error, p), "%q does not start with %q", e.Error, p)
			} else {
				assert.Equal(t, tc.want, e.Error)
			}
			assert.Equal(t, e.Error, e.Message)
		})
	}
	status, _, _ := ts.do("GET", "/kapacitor/v1/ping", nil, nil)
	assert.Equal(t, http.StatusNoContent, status)
}

// TestWriteRuns: the points of one body reach each task in input order
// and none twice, whether they come in runs of one measurement longer
// than a task takes under one lock, in runs of one or two, or for no
// task but those of every measurement; a bad line in a run breaks
// nothing. Each task alerts on every point with the point's sequence
// number, to a real TCP listener.
func TestWriteRuns(t *testing.T) {
	ts := startServer(t, t.TempDir(), nil)
	sink := newSink(t)
	define := func(id, from string) {
		script := fmt.Sprintf(`stream|from()%s|alert().id('%s').crit(lambda: TRUE).message('{{ index .Fields "seq" }}').tcp('%s')`, from, id, sink.addr)
		b, _ := json.Marshal(map[string]any{"id": id, "script": script, "status": "enabled", "dbrps": []map[string]string{{"db": "telegraf", "rp": "autogen"}}})
		status, _, body := ts.do("POST", "/kapacitor/v1/tasks", nil, b)
		require.Equal(t, http.StatusOK, status, body)
	}
	define("cpu", ".measurement('cpu')")
	define("mem", ".measurement('mem')")
	define("all", "")
	var body strings.Builder
	want := map[string][]string{}
	seq := 0
	for _, run := range []struct {
		m string
		n int
	}{{"cpu", 300}, {"mem", 2}, {"cpu", 1}, {"mem", 200}, {"disk", 5}, {"swap", 3}, {"cpu", 130}, {"mem", 1}, {"cpu", 50}} {
		for range run.n {
			seq++
			if seq == 200 {
				body.WriteString("cpu,host=a seq=oops 1\n")
			}
			fmt.Fprintf(&body, "%s,host=a seq=%d %d\n", run.m, seq, 1700000000000000000+int64(seq)*1e9)
			s := fmt.Sprint(seq)
			want["all"] = append(want["all"], s)
			if run.m == "cpu" || run.m == "mem" {
				want[run.m] = append(want[run.m], s)
			}
		}
	}
	status, _, resp := ts.do("POST", "/write?db=telegraf&rp=autogen", nil, []byte(body.String()))
	require.Equal(t, http.StatusBadRequest, status, resp)
	assert.Contains(t, resp, "partial write: unable to parse 'cpu,host=a seq=oops 1'")
	total := len(want["all"]) + len(want["cpu"]) + len(want["mem"])
	require.Eventually(t, func() bool { return sink.count() >= total }, 20*time.Second, 20*time.Millisecond, "events: %d of %d", sink.count(), total)
	got := map[string][]string{}
	for _, c := range sink.close() {
		var ev struct{ ID, Message string }
		require.NoError(t, json.Unmarshal([]byte(c), &ev), c)
		got[ev.ID] = append(got[ev.ID], ev.Message)
	}
	for id, w := range want {
		assert.Equal(t, w, got[id], "task %s", id)
	}
}
