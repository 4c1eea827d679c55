package server

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tickrun/tickrun/server/api"
)

// metrics is GET /metrics: the server's counters in Prometheus' text
// format (kapacitord has no such endpoint; /debug/vars is its JSON
// cousin). Everything is read at scrape time from the counters the
// engine and the API keep anyway, so the write path pays nothing for it.
type metrics struct {
	e   *engine
	api *api.API
}

// Metric names and their help, in one table.
var (
	mTaskPoints     = desc("task_points_received_total", "Points written to a running task (into its stream node).", "task")
	mTaskEvents     = desc("task_alert_events_total", "Alert events the task's alert nodes sent.", "task")
	mNodeCollected  = desc("node_collected_total", "Points or batches a node received.", "task", "node", "kind")
	mNodeEmitted    = desc("node_emitted_total", "Points or batches a node handed to its children.", "task", "node", "kind")
	mNodeErrors     = desc("node_errors_total", "Per-point errors of a node (points dropped, levels not evaluated).", "task", "node", "kind")
	mNodeGroups     = desc("node_working_cardinality", "Groups a node keeps state for.", "task", "node", "kind")
	mNodeAlerts     = desc("node_alerts_total", "Events of an alert node by level.", "task", "node", "level")
	mHandlerSent    = desc("handler_sent_total", "Events a topic handler delivered.", "topic", "handler", "kind")
	mHandlerRetried = desc("handler_retried_total", "Delivery attempts of a topic handler that failed and were retried.", "topic", "handler", "kind")
	mHandlerDropped = desc("handler_dropped_total", "Events a topic handler gave up on (queue full, retries exhausted, drain timeout).", "topic", "handler", "kind")
	mHandlerQueued  = desc("handler_queue_depth", "Events a topic handler holds: queued or being delivered.", "topic", "handler", "kind")
	mOutputSent     = desc("task_handler_sent_total", "Events or points a task's own handler or sink (.tcp(), httpPost(), ...) delivered.", "task", "handler", "index")
	mOutputRetried  = desc("task_handler_retried_total", "Failed and retried delivery attempts of a task's own handler or sink.", "task", "handler", "index")
	mOutputDropped  = desc("task_handler_dropped_total", "Events or points a task's own handler or sink gave up on.", "task", "handler", "index")
	mWrites         = desc("write_requests_total", "Write requests, by answer: accepted (2xx) or rejected (4xx, 5xx).", "result")
	mWritePoints    = desc("write_points_total", "Points decoded from accepted lines of writes.")
	mWriteBad       = desc("write_bad_lines_total", "Lines of writes that could not be parsed.")
	mWriteBytes     = desc("write_bytes_total", "Bytes of write bodies, after gzip.")
	mIngress        = desc("ingress_points_total", "Points received for a database, retention policy and measurement that some task reads.", "database", "retention_policy", "measurement")
	mTasks          = desc("tasks_executing", "Tasks running.")
	mShardsOwned    = desc("scaleout_shards_owned", "Shards of the broker input this instance owns (partitions, and global as -1).", "shard")
	mShardPoints    = desc("scaleout_points_total", "Points of the broker input's messages this instance processed.")
	mShardBad       = desc("scaleout_bad_lines_total", "Lines of the broker input's messages that could not be parsed (skipped).")
	mShardHeld      = desc("scaleout_events_held", "Alert events waiting for the checkpoint that covers them.")
	mShardDiscarded = desc("scaleout_events_discarded_total", "Alert events not sent: of a global task on an instance that does not own it, or of shards given up or lost before their checkpoint.")
	mShardMisrouted = desc("scaleout_misrouted_total", "Times a partition key value came in another partition than before: the producer does not key messages by it.")
	levelNames      = [4]string{"OK", "INFO", "WARNING", "CRITICAL"}
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("tickrun_"+name, help, labels, nil)
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{mTaskPoints, mTaskEvents, mNodeCollected, mNodeEmitted, mNodeErrors, mNodeGroups,
		mNodeAlerts, mHandlerSent, mHandlerRetried, mHandlerDropped, mHandlerQueued, mOutputSent, mOutputRetried,
		mOutputDropped, mWrites, mWritePoints, mWriteBad, mWriteBytes, mIngress, mTasks,
		mShardsOwned, mShardPoints, mShardBad, mShardHeld, mShardDiscarded, mShardMisrouted} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	tasks, handlers := m.e.counts()
	gauge(mTasks, int64(len(tasks)))
	for _, t := range tasks {
		counter(mTaskPoints, t.Points, t.ID)
		counter(mTaskEvents, t.Events, t.ID)
		for _, n := range t.Nodes {
			counter(mNodeCollected, n.Collected, t.ID, n.Name, n.Kind)
			counter(mNodeEmitted, n.Emitted, t.ID, n.Name, n.Kind)
			counter(mNodeErrors, n.Errors, t.ID, n.Name, n.Kind)
			gauge(mNodeGroups, n.Cardinality, t.ID, n.Name, n.Kind)
			if n.Alerts != nil {
				for l, v := range n.Alerts {
					counter(mNodeAlerts, v, t.ID, n.Name, levelNames[l])
				}
			}
		}
		for i, o := range t.Outputs {
			idx := strconv.Itoa(i)
			counter(mOutputSent, o.Sent, t.ID, o.Name, idx)
			counter(mOutputRetried, o.Retried, t.ID, o.Name, idx)
			counter(mOutputDropped, o.Dropped, t.ID, o.Name, idx)
		}
	}
	for _, h := range handlers {
		counter(mHandlerSent, h.Sent, h.Topic, h.ID, h.Kind)
		counter(mHandlerRetried, h.Retried, h.Topic, h.ID, h.Kind)
		counter(mHandlerDropped, h.Dropped, h.Topic, h.ID, h.Kind)
		gauge(mHandlerQueued, h.Queued, h.Topic, h.ID, h.Kind)
	}
	w := m.api.WriteStats()
	counter(mWrites, w.Accepted, "accepted")
	counter(mWrites, w.Rejected, "rejected")
	counter(mWritePoints, w.Points)
	counter(mWriteBad, w.BadLines)
	counter(mWriteBytes, w.Bytes)
	for _, in := range m.e.Ingress() {
		counter(mIngress, in.Points, in.DB, in.RP, in.Measurement)
	}
	if sc := m.e.scale; sc != nil {
		st := sc.stats()
		for _, shard := range st.owned {
			gauge(mShardsOwned, 1, strconv.Itoa(int(shard)))
		}
		counter(mShardPoints, st.points)
		counter(mShardBad, st.bad)
		gauge(mShardHeld, st.held)
		counter(mShardDiscarded, st.discarded)
		counter(mShardMisrouted, st.misrouted)
	}
}

// metricsHandler serves the server's metrics with Go's and the process's
// (memory, CPU, open files). The API compresses answers itself.
func metricsHandler(m *metrics) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(m, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{DisableCompression: true, ErrorHandling: promhttp.ContinueOnError})
}
