package server_test

import (
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scrape reads /metrics with Prometheus' own text parser and returns
// every sample as "name{label=value,...}" -> value, labels sorted.
func scrape(t *testing.T, ts *testServer) map[string]float64 {
	t.Helper()
	status, h, body := ts.do("GET", "/metrics", [][2]string{{"Accept-Encoding", "gzip"}}, nil)
	require.Equal(t, http.StatusOK, status, body)
	require.True(t, strings.HasPrefix(h.Get("Content-Type"), "text/plain; version=0.0.4"), h.Get("Content-Type"))
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err, body)
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			key := name
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			out[key] = value(f.GetType(), m)
		}
	}
	return out
}

func value(typ dto.MetricType, m *dto.Metric) float64 {
	switch typ {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	case dto.MetricType_UNTYPED:
		return m.GetUntyped().GetValue()
	}
	return -1
}

// TestMetrics scrapes /metrics after known writes: per-task points,
// per-node counts and errors, alert events by level, the topic handler's
// sent and queue depth, writes accepted and rejected, bad lines, ingress.
func TestMetrics(t *testing.T) {
	sink := newSink(t)
	ts := startServer(t, t.TempDir(), nil)
	defineSeedTask(t, ts, "cpu_alert")
	replayRecorded(t, ts, "03_define_topic_handler", sink.addr)
	for _, w := range []struct {
		path, body string
		status     int
	}{
		// host a: CRITICAL then OK; host c has no usage_idle: an error of alert2.
		{"/write?db=telegraf&rp=autogen", "cpu,host=a usage_idle=5 1700000000000000000\ncpu,host=a usage_idle=50 1700000010000000000\ncpu,host=c usage_user=1 1700000010000000000\n", 204},
		// A partial write: host b's CRITICAL is kept, the bad line counted.
		{"/write?db=telegraf&rp=autogen", "cpu,host=b usage_idle=3 1700000020000000000\ncpu,host=b usage_idle=\n", 400},
		{"/write?db=telegraf&rp=autogen", "mem,host=a used=1 1700000020000000000\n", 204},
		{"/write?rp=autogen", "cpu,host=a usage_idle=1 1700000020000000000\n", 400},
	} {
		status, _, body := ts.do("POST", w.path, nil, []byte(w.body))
		require.Equal(t, w.status, status, body)
	}
	// The handler delivers in the background: wait until it sent the
	// three events.
	sent := `tickrun_handler_sent_total{handler=tcp-cpu-alert,kind=tcp,topic=cpu}`
	deadline := time.Now().Add(20 * time.Second)
	var m map[string]float64
	for {
		m = scrape(t, ts)
		if m[sent] == 3 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the handler never sent 3 events: %v", m[sent])
		time.Sleep(20 * time.Millisecond)
	}
	for key, want := range map[string]float64{
		`tickrun_tasks_executing`:                                                 1,
		`tickrun_task_points_received_total{task=cpu_alert}`:                      4,
		`tickrun_task_alert_events_total{task=cpu_alert}`:                         3,
		`tickrun_node_collected_total{kind=stream,node=stream0,task=cpu_alert}`:   4,
		`tickrun_node_emitted_total{kind=from,node=from1,task=cpu_alert}`:         4,
		`tickrun_node_collected_total{kind=alert,node=alert2,task=cpu_alert}`:     4,
		`tickrun_node_errors_total{kind=alert,node=alert2,task=cpu_alert}`:        1,
		`tickrun_node_errors_total{kind=from,node=from1,task=cpu_alert}`:          0,
		`tickrun_node_working_cardinality{kind=alert,node=alert2,task=cpu_alert}`: 1, // no groupBy: one group
		`tickrun_node_alerts_total{level=CRITICAL,node=alert2,task=cpu_alert}`:    2,
		`tickrun_node_alerts_total{level=OK,node=alert2,task=cpu_alert}`:          1,
		`tickrun_node_alerts_total{level=WARNING,node=alert2,task=cpu_alert}`:     0,
		sent: 3,
		`tickrun_handler_dropped_total{handler=tcp-cpu-alert,kind=tcp,topic=cpu}`:                  0,
		`tickrun_handler_retried_total{handler=tcp-cpu-alert,kind=tcp,topic=cpu}`:                  0,
		`tickrun_handler_queue_depth{handler=tcp-cpu-alert,kind=tcp,topic=cpu}`:                    0,
		`tickrun_write_requests_total{result=accepted}`:                                            2,
		`tickrun_write_requests_total{result=rejected}`:                                            2,
		`tickrun_write_points_total`:                                                               5,
		`tickrun_write_bad_lines_total`:                                                            1,
		`tickrun_ingress_points_total{database=telegraf,measurement=cpu,retention_policy=autogen}`: 4,
		`tickrun_ingress_points_total{database=telegraf,measurement=mem,retention_policy=autogen}`: 1,
	} {
		got, ok := m[key]
		if assert.True(t, ok, "no %s", key) {
			assert.Equal(t, want, got, key)
		}
	}
	assert.Greater(t, m["process_resident_memory_bytes"], 0.0)
	assert.Contains(t, m, "go_goroutines")
}

// TestMetricsQueueDepth: a topic handler whose endpoint is stuck holds
// the events handed to it, and /metrics shows them as its queue depth
// until they are sent.
func TestMetricsQueueDepth(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 10)
	hook := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go hook.Serve(ln)
	defer hook.Close()
	ts := startServer(t, t.TempDir(), nil)
	defineSeedTask(t, ts, "cpu_alert")
	status, _, body := ts.do("POST", "/kapacitor/v1/alerts/topics/cpu/handlers", nil, []byte(`{"id":"slow","kind":"post","options":{"url":"http://`+ln.Addr().String()+`/"}}`))
	require.Equal(t, http.StatusOK, status, body)
	status, _, body = ts.do("POST", "/write?db=telegraf&rp=autogen", nil, []byte("cpu usage_idle=1 1700000000000000000\ncpu usage_idle=2 1700000001000000000\ncpu usage_idle=3 1700000002000000000\n"))
	require.Equal(t, http.StatusNoContent, status, body)
	<-arrived
	depth := `tickrun_handler_queue_depth{handler=slow,kind=post,topic=cpu}`
	assert.Equal(t, 3.0, scrape(t, ts)[depth], "one being delivered, two queued")
	close(release)
	deadline := time.Now().Add(20 * time.Second)
	for scrape(t, ts)[`tickrun_handler_sent_total{handler=slow,kind=post,topic=cpu}`] != 3 {
		require.True(t, time.Now().Before(deadline), "the events were never sent")
		time.Sleep(20 * time.Millisecond)
	}
	assert.Equal(t, 0.0, scrape(t, ts)[depth])
}
