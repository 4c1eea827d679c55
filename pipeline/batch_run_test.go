package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/internal/influxtest"
	"github.com/tickrun/tickrun/internal/testsink"
	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/pipeline/influx"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// eventLog collects events as "id level time message".
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(ev *pipeline.Event, _ []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, fmt.Sprintf("%s %s %s %s", ev.ID, ev.Level, time.Unix(0, ev.Time).UTC().Format(time.RFC3339), ev.Message))
}

func (l *eventLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

// Week on week, as real-world scripts write it: the same query a week
// earlier (.offset(1w)), shifted by a week, joined with now per host;
// each batch is an hour's mean.
func TestRunBatchesWeekOnWeek(t *testing.T) {
	srv := influxtest.Start(t, influxtest.Options{})
	srv.ResetDatabase(t, "telegraf")
	now := time.Date(2023, 11, 14, 0, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour
	var lp strings.Builder
	for h, v := range []struct{ before, now float64 }{{10, 11}, {10, 40}, {20, 21}} {
		for _, host := range []string{"a", "b"} {
			x := v.now
			if host == "b" {
				x = v.before // b does not change
			}
			at := now.Add(time.Duration(h)*time.Hour + 30*time.Minute)
			fmt.Fprintf(&lp, "cpu,host=%s usage=%g %d\n", host, v.before, at.Add(-week).UnixNano())
			fmt.Fprintf(&lp, "cpu,host=%s usage=%g %d\n", host, x, at.UnixNano())
		}
	}
	srv.Write(t, "telegraf", []byte(lp.String()))
	const script = `var q = 'SELECT mean(usage) AS usage FROM "telegraf"."autogen"."cpu"'
var last_week = batch
    |query(q)
        .period(1h)
        .every(1h)
        .offset(1w)
        .groupBy('host')
    |shift(1w)
var this_week = batch
    |query(q)
        .period(1h)
        .every(1h)
        .groupBy('host')
this_week
    |join(last_week)
        .as('now', 'before')
    |eval(lambda: "now.usage" - "before.usage")
        .as('diff')
    |alert()
        .crit(lambda: "diff" > 10)
        .message('{{ index .Fields "diff" }}')
        .details('')
`
	var log eventLog
	task, err := pipeline.Compile("wow", "wow.tick", script, pipeline.Options{OnEvent: log.add,
		InfluxDB: []influx.Config{{Name: "test", URLs: []string{srv.URL}}}})
	require.NoError(t, err)
	require.NoError(t, task.RunBatches(context.Background(), now, now.Add(3*time.Hour)))
	require.NoError(t, task.Close(context.Background()))
	assert.Equal(t, []string{
		"cpu:host=a CRITICAL 2023-11-14T01:00:00Z 30",
		"cpu:host=a OK 2023-11-14T03:00:00Z 1",
	}, log.get())
	stats := task.QueryStats()
	require.Len(t, stats, 2)
	for _, s := range stats {
		assert.Equal(t, int64(3), s.Queries)
		assert.Equal(t, int64(6), s.Batches, "an hour's batch per host")
		assert.Equal(t, int64(0), s.Failed)
	}
	assert.Equal(t, "query1", stats[0].Node, "a batch task's nodes are numbered from batch0, as in Kapacitor")
}

// A failed query ends a backtest with the error; it is logged with the
// task and the query and counted. Tasks without InfluxDB or without a
// query say so.
func TestRunBatchesErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := "http://" + ln.Addr().String()
	ln.Close()
	const script = `batch|query('SELECT max(v) FROM "db"."rp"."m"').period(1m).every(1m)|alert().crit(lambda: TRUE)`
	log := &testsink.Buffer{}
	task, err := pipeline.Compile("t", "t.tick", script, pipeline.Options{Log: log,
		InfluxDB: []influx.Config{{Name: "down", URLs: []string{down}}}})
	require.NoError(t, err)
	start := time.Date(2023, 11, 14, 0, 0, 0, 0, time.UTC)
	err = task.RunBatches(context.Background(), start, start.Add(time.Hour))
	var ie *influx.Error
	require.True(t, errors.As(err, &ie), "%v", err)
	assert.Equal(t, "query", ie.Op)
	assert.Equal(t, "SELECT max(v) FROM db.rp.m WHERE time >= '2023-11-14T00:00:00Z' AND time < '2023-11-14T00:01:00Z'", ie.Query)
	assert.Contains(t, log.String(), "query1: error executing query: influxdb query \"SELECT max(v) FROM db.rp.m WHERE")
	assert.Contains(t, log.String(), "task=t")
	assert.Equal(t, int64(1), task.Stats().NodeErrors)
	assert.Equal(t, int64(1), task.QueryStats()[0].Failed)
	require.NoError(t, task.Close(context.Background()))

	task, err = pipeline.Compile("t", "t.tick", script, pipeline.Options{})
	require.NoError(t, err)
	assert.ErrorContains(t, task.RunBatches(context.Background(), start, start.Add(time.Hour)), "query1: no InfluxDB is configured")
	assert.ErrorContains(t, task.StartBatches(), "query1: no InfluxDB is configured")
	task.Close(context.Background())

	task, err = pipeline.Compile("t", "t.tick", `stream|from()|alert().crit(lambda: TRUE)`, pipeline.Options{})
	require.NoError(t, err)
	assert.ErrorIs(t, task.RunBatches(context.Background(), start, start.Add(time.Hour)), pipeline.ErrNotBatch)
	task.Close(context.Background())

	// A bad query text is an error of the script, at its position.
	_, err = pipeline.Compile("t", "t.tick", `batch|query('SELECT FROMM m').every(1m)`, pipeline.Options{})
	require.Error(t, err)
	assert.Equal(t, "1:27: failed to parse InfluxQL query: found m, expected FROM at line 1, char 14", err.Error(), "at the m of the query text")
	_, err = pipeline.Compile("t", "t.tick", `batch|query('SELECT v FROM m').period(1m)`, pipeline.Options{})
	assert.ErrorContains(t, err, "1:7: must define one of 'every' or 'cron'")
	_, err = pipeline.Compile("t", "t.tick", `batch|query('SELECT v FROM m').every(1m).groupBy(time(1m), time(2m))`, pipeline.Options{})
	assert.ErrorContains(t, err, "groupBy cannot have more than one time dimension")
	_, err = pipeline.Compile("t", "t.tick", `batch|query('SELECT v FROM m').every(1m).fill('nothing')`, pipeline.Options{})
	assert.ErrorContains(t, err, "unexpected fill option nothing")
	_, err = pipeline.Compile("t", "t.tick", "batch|query('SELECT v FROM m').every(1m)\nstream|from()", pipeline.Options{})
	assert.ErrorContains(t, err, "2:1: a task reads either stream or batch")
}

// On the wall clock a query node ticks on its own; a failed query is
// logged, counted and retried at the next tick, never the end of the
// task; Close stops the ticks.
func TestStartBatchesWallClock(t *testing.T) {
	srv := influxtest.Start(t, influxtest.Options{})
	srv.ResetDatabase(t, "telegraf")
	now := time.Now()
	var lp strings.Builder
	for i := -30; i <= 30; i++ {
		fmt.Fprintf(&lp, "cpu,host=a usage=%d %d\n", 50+i%3, now.Add(time.Duration(i)*time.Second).UnixNano())
	}
	srv.Write(t, "telegraf", []byte(lp.String()))
	log := &testsink.Buffer{}
	var events eventLog
	task, err := pipeline.Compile("live", "live.tick", `batch
    |query('SELECT max(usage) FROM "telegraf"."autogen"."cpu"')
        .period(10s)
        .every(1s)
        .groupBy('host')
    |alert()
        .crit(lambda: "max" > 0)
        .details('')
`, pipeline.Options{Log: log, OnEvent: events.add, InfluxDB: []influx.Config{{Name: "test", URLs: []string{srv.URL}, Timeout: 2 * time.Second}}})
	require.NoError(t, err)
	require.NoError(t, task.StartBatches())
	assert.Error(t, task.StartBatches(), "started twice")
	waitFor(t, func() bool { return task.QueryStats()[0].Batches >= 2 }, "two batches from InfluxDB")
	require.NotEmpty(t, events.get())
	assert.True(t, strings.HasPrefix(events.get()[0], "cpu:host=a CRITICAL "), events.get()[0])

	srv.Stop()
	before := task.QueryStats()[0]
	waitFor(t, func() bool { return task.QueryStats()[0].Failed >= 2 }, "two failed queries")
	st := task.QueryStats()[0]
	assert.Greater(t, st.Queries, before.Queries+1, "the node goes on after a failure")
	assert.Contains(t, log.String(), "query1: error executing query: influxdb query \"SELECT max(usage) FROM telegraf.autogen.cpu WHERE time >= ")
	assert.Contains(t, log.String(), "task=live")
	assert.GreaterOrEqual(t, task.Stats().NodeErrors, int64(2))

	require.NoError(t, task.Close(context.Background()))
	after := task.QueryStats()[0].Queries
	time.Sleep(1500 * time.Millisecond) // more than a tick
	assert.Equal(t, after, task.QueryStats()[0].Queries, "no query after Close")
	assert.ErrorIs(t, task.StartBatches(), pipeline.ErrClosed)
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A raw query without GROUP BY gives batches without tags; default().tag()
// makes the tag part of the batch's group, as in Kapacitor
// (shared/batch-cases/README.md): the alert id is cpu:dc=unknown.
func TestRunBatchesDefaultTagGroup(t *testing.T) {
	srv := influxtest.Start(t, influxtest.Options{})
	srv.ResetDatabase(t, "telegraf")
	srv.Write(t, "telegraf", []byte("cpu,host=a usage=5i 1699999260000000000\ncpu,host=a usage=7i 1699999320000000000\n"))
	var log eventLog
	task, err := pipeline.Compile("t", "t.tick", `batch
    |query('SELECT usage FROM "telegraf"."autogen"."cpu"')
        .period(5m)
        .every(5m)
    |default()
        .tag('dc', 'unknown')
    |alert()
        .crit(lambda: "usage" > 1)
        .message('{{ index .Fields "usage" | printf "%T" }}')
        .details('')
`, pipeline.Options{OnEvent: log.add, InfluxDB: []influx.Config{{Name: "test", URLs: []string{srv.URL}}}})
	require.NoError(t, err)
	start := time.Date(2023, 11, 14, 22, 0, 0, 0, time.UTC)
	require.NoError(t, task.RunBatches(context.Background(), start, start.Add(5*time.Minute)))
	require.NoError(t, task.Close(context.Background()))
	// The integer field arrives as a float64, as in Kapacitor (#1338).
	assert.Equal(t, []string{"cpu:dc=unknown CRITICAL 2023-11-14T22:01:00Z float64"}, log.get())
}

// influxDBOut writes to the [[influxdb]] section .cluster() names (its
// URLs and credentials), creates the database and its retention policy
// with .create(), and writes `buffer` points a request.
func TestInfluxDBOutClusterCreate(t *testing.T) {
	srv := influxtest.Start(t, influxtest.Options{Auth: true, Username: "admin", Password: "pw"})
	rec := srv.Recorder(t)
	conf := fmt.Sprintf(`[[influxdb]]
  name = "main"
  default = true
  urls = ["http://127.0.0.1:9"]
[[influxdb]]
  name = "metrics"
  urls = [%q]
  username = "admin"
  password = "pw"
  timeout = "10s"
`, rec.URL)
	c, err := kapconf.Parse("kapacitor.conf", []byte(conf))
	require.NoError(t, err)
	task, err := pipeline.Compile("t", "t.tick", `stream|from().measurement('cpu')
    |influxDBOut()
        .cluster('metrics')
        .create()
        .database('copy')
        .retentionPolicy('week')
        .measurement('cpu_copy')
        .buffer(2)`, pipeline.Options{Config: c})
	require.NoError(t, err)
	_, err = task.WriteLineProtocol(strings.NewReader("cpu,host=a v=1 1700000000000000000\ncpu,host=b v=2 1700000001000000000\ncpu,host=a v=3 1700000002000000000\n"), "telegraf", "autogen", "", nil)
	require.NoError(t, err)
	require.NoError(t, task.Close(context.Background()))
	var got []string
	for _, r := range rec.Requests() {
		line := fmt.Sprintf("%s %s", r.Method, r.Path)
		assert.Contains(t, []int{200, 204}, r.Status, line)
		assert.Equal(t, "Basic YWRtaW46cHc=", r.Header.Get("Authorization"), "the section's credentials")
		if len(r.Body) > 0 {
			line += "\n" + string(r.Body)
		}
		got = append(got, line)
	}
	assert.Equal(t, []string{
		`POST /query?db=&q=CREATE DATABASE copy WITH NAME week`,
		"POST /write?consistency=&db=copy&precision=ns&rp=week\ncpu_copy,host=a v=1 1700000000000000000\ncpu_copy,host=b v=2 1700000001000000000\n",
		"POST /write?consistency=&db=copy&precision=ns&rp=week\ncpu_copy,host=a v=3 1700000002000000000\n",
	}, got)
	assert.JSONEq(t, `{"results":[{"statement_id":0,"series":[{"name":"cpu_copy","columns":["time","host","v"],"values":[
		["2023-11-14T22:13:20Z","a",1],["2023-11-14T22:13:21Z","b",2],["2023-11-14T22:13:22Z","a",3]]}]}]}`,
		string(srv.Query(t, `SELECT * FROM "copy"."week"."cpu_copy"`)))

	// A cluster that kapacitor.conf does not name is an error of the task.
	_, err = pipeline.Compile("t", "t.tick", `stream|from()|influxDBOut().cluster('nope').database('d')`, pipeline.Options{Config: c})
	assert.ErrorContains(t, err, "no such InfluxDB config nope")
}
