package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/internal/influxtest"
	"github.com/tickrun/tickrun/server/config"
)

// defineTask defines and enables a task through the API.
func defineTask(t *testing.T, ts *testServer, id, typ, script string) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"id": id, "type": typ, "script": script, "status": "enabled",
		"dbrps": []map[string]string{{"db": "telegraf", "rp": "autogen"}}})
	status, _, body := ts.do("POST", "/kapacitor/v1/tasks", nil, b)
	require.Equal(t, http.StatusOK, status, body)
}

// Issue 13: in serve, a batch task runs on the wall clock against the
// [[influxdb]] of kapacitor.conf, as kapacitord runs it; a query that
// fails (InfluxDB stopped) is logged, counted and retried at the next
// tick, and the server goes on.
func TestServeBatchTask_issue13(t *testing.T) {
	db := influxtest.Start(t, influxtest.Options{})
	db.ResetDatabase(t, "telegraf")
	now := time.Now()
	var lp strings.Builder
	for i := range 20 {
		fmt.Fprintf(&lp, "cpu,host=a usage_idle=5 %d\n", now.Add(-time.Duration(i)*time.Second).UnixNano())
	}
	db.Write(t, "telegraf", []byte(lp.String()))
	sink := newSink(t)
	ts := startServer(t, t.TempDir(), func(c *config.Config) {
		c.InfluxDB = []config.InfluxDB{{Enabled: true, Name: "local", Default: true, URLs: []string{db.URL}}}
	})
	defineTask(t, ts, "batch_cpu", "batch", `batch
    |query('SELECT mean(usage_idle) FROM "telegraf"."autogen"."cpu"')
        .period(1m)
        .every(1s)
    |alert()
        .crit(lambda: "mean" < 10)
        .details('')
        .tcp('`+sink.addr+`')
`)
	deadline := time.Now().Add(20 * time.Second)
	for sink.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	require.Positive(t, sink.count(), "a batch event arrived")
	db.Stop()
	time.Sleep(2500 * time.Millisecond) // two ticks against a stopped InfluxDB
	status, _, body := ts.do("GET", "/kapacitor/v1/tasks/batch_cpu", nil, nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `"executing": true`, "a failed query does not stop the task")
	ts.stop()
	got := sink.close()
	var ev struct{ Level string }
	require.NoError(t, json.Unmarshal([]byte(got[0]), &ev))
	assert.Equal(t, "CRITICAL", ev.Level)
}
