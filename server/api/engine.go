package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/tickrun/tickrun/server/store"
)

// Engine runs tasks. Its methods are safe for concurrent use.
type Engine interface {
	// Check compiles a task without running it. The error, if any, is a
	// *ScriptError for a problem in the script or vars.
	Check(t TaskSpec) error
	// DOT returns the task's graph without statistics, as Kapacitor
	// shows a task that is not executing.
	DOT(t TaskSpec) (string, error)
	// Start compiles and starts a task, replacing a running one of the
	// same id.
	Start(t TaskSpec) error
	// Stop stops a task, letting its handlers drain; stopping a task
	// that does not run does nothing.
	Stop(id string)
	// Executing reports whether a task runs.
	Executing(id string) bool
	// Stats returns a running task's statistics and its graph with them
	// as DOT attributes.
	Stats(id string) (TaskStats, bool)
	// Write routes line protocol to the running tasks.
	Write(req WriteRequest) WriteResult
	// HTTPOut serves the httpOut endpoints of a running task; false if
	// the task does not run.
	HTTPOut(task string) (http.Handler, bool)
	// CheckHandler validates a topic handler (kind and options).
	CheckHandler(h store.Handler) error
	// HandlersChanged tells the engine that the handlers of a topic
	// changed in the store, so that tasks publishing to it use them.
	HandlersChanged(topic string) error
	// Topics returns the state of every topic, by id.
	Topics() map[string]TopicState
	// Events returns the events of a topic by alert id; false if the
	// topic is unknown.
	Events(topic string) (map[string]EventState, bool)
	// DeleteTopic forgets a topic's events and state.
	DeleteTopic(topic string) error
	// Ingress returns the points received per database, retention
	// policy and measurement.
	Ingress() []IngressStat
}

// TaskSpec is a task as the engine runs it.
type TaskSpec struct {
	ID     string
	Type   string // "stream" or "batch"
	DBRPs  []store.DBRP
	Script string
	Vars   map[string]string // values by name, as the engine parses them
}

// ScriptError is a problem in a task's script or vars; Line and Col are
// 1-based and 0 when unknown.
type ScriptError struct {
	Line, Col int
	Msg       string
}

// Error returns Kapacitor's form: "line L char C: message".
func (e *ScriptError) Error() string {
	if e.Line > 0 {
		return "line " + strconv.Itoa(e.Line) + " char " + strconv.Itoa(e.Col) + ": " + e.Msg
	}
	return e.Msg
}

// TaskStats are a running task's statistics.
type TaskStats struct {
	// Err is why the task stopped by itself (a UDF died, a batch task's
	// InfluxDB failed for good); "" while it runs. A stopped task is not
	// executing.
	Err        string
	Throughput float64                     // points per second into the task
	Nodes      map[string]map[string]int64 // node name -> statistic -> value
	DOT        string                      // the graph with the statistics as attributes
}

// WriteRequest is one write of line protocol.
type WriteRequest struct {
	DB, RP    string
	Precision string
	Body      []byte
	Now       time.Time // the time of points without a timestamp
	// AllOrNothing rejects the whole body when a line is bad, routing
	// no point of it (Kapacitor's behaviour).
	AllOrNothing bool
}

// WriteResult tells what a write did.
type WriteResult struct {
	Points int         // points decoded and routed
	Bad    []LineError // lines rejected, in input order
}

// LineError is a rejected line of a write.
type LineError struct {
	Line   int    // 1-based
	Text   string // the line (shortened when long)
	Reason string // InfluxDB's wording where known ("bad timestamp")
}

// TopicState is the state of a topic.
type TopicState struct {
	Level     string // the highest level of its events, "OK" when none
	Collected int64  // events collected
}

// EventState is the last event of an alert id in a topic.
type EventState struct {
	Message  string
	Details  string
	Time     time.Time
	Duration time.Duration
	Level    string
}

// IngressStat counts points received for one database, retention
// policy and measurement.
type IngressStat struct {
	DB, RP, Measurement string
	Points              int64
}
