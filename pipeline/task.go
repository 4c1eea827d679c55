package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/parser"
	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/deliver"
	"github.com/tickrun/tickrun/pipeline/handler"
	"github.com/tickrun/tickrun/pipeline/influx"
	"github.com/tickrun/tickrun/pipeline/kapconf"
	"github.com/tickrun/tickrun/pipeline/lineproto"
	"github.com/tickrun/tickrun/pipeline/models"
)

// ServerInfo is the server identity Kapacitor shows in the default alert
// details (alert.md §8).
type ServerInfo = alert.ServerInfo

// NilUUID is the default ClusterID and ServerID.
const NilUUID = "00000000-0000-0000-0000-000000000000"

// Options configure a task.
type Options struct {
	// Vars supplies values of typed var declarations (`var x float`), and
	// overrides plain ones of the same type, as strings parsed by the
	// declared type.
	Vars map[string]string
	// Server is the identity shown by the default details template.
	Server ServerInfo
	// Alerts is the registry of topics the task publishes into, shared
	// with other tasks; nil gives the task a registry of its own, which
	// Close then drains.
	Alerts *alert.Registry
	// Handlers are topic handlers, as loaded from handler files, that
	// Compile subscribes to the task's registry (with a shared registry,
	// subscribe them once with handler.Subscribe instead). The task
	// unsubscribes them when it is closed.
	Handlers []*handler.Spec
	// OnEvent, if set, sees every event an alert node sends, with its JSON
	// (no trailing newline), before the handlers do. It must not keep the
	// byte slice.
	OnEvent func(ev *Event, payload []byte)
	// OnUnhandled, if set, sees the events no handler listens for (the
	// alert node has none and no handler is subscribed to its topic), with
	// their JSON as OnEvent sees it: tickrun test captures them, so a
	// script without handlers is checked too.
	OnUnhandled func(ev *Event, payload []byte)
	// Log receives per-point errors of nodes (one line each) and handler
	// failures; nil discards them.
	Log io.Writer
	// KapacitorID names the anonymous topics ("<id>:<task>:<node>"); default
	// "tickrun".
	KapacitorID string
	// Explain, if set, receives the story of every point an alert node
	// sees (tickrun explain).
	Explain func(*Explanation)
	// FlushWindows emits the last, incomplete window of every group at the
	// end of the input. Kapacitor never does (a stream never ends), so the
	// default is off.
	FlushWindows bool
	// AlertState, if set, gives the state a previous run left of an alert
	// (by topic and event id): an alert node restores it when a group
	// first appears, so that its next event continues the episode (a
	// server restores alert levels across restarts, as kapacitord does).
	AlertState func(topic, id string) (Saved, bool)
	// MaxGroups bounds the groups each node keeps state for (0: no
	// bound): the points of a new group beyond it are dropped at that
	// node, counted, and warned about once.
	MaxGroups int
	// GroupExpiry releases the state of groups that had no point for
	// this long, in data time (0: only groups whose state equals a fresh
	// one are released, so outputs are Kapacitor's). An expired alert
	// group forgets its level; a window emits what it holds first.
	GroupExpiry time.Duration
	// TemplateLimits bound the rendering of each template of an event
	// (time and output size); an event over them is dropped and counted.
	// Zero values take alert.DefaultLimits (100ms, 1 MiB).
	TemplateLimits alert.Limits
	// Deliver tunes alert delivery; zero values take the defaults.
	Deliver deliver.Options
	// Config is the user's kapacitor.conf: URLs, credentials and defaults
	// of the slack, teams, telegram, victorops, pagerduty2, smtp and
	// httppost handlers. Without it those handlers are errors.
	Config *kapconf.Config
	// WallClock runs stats(), deadman() and barrier() on the wall clock,
	// as Kapacitor does: their intervals are driven by Task.Tick, which a
	// server calls, and no longer by the times of the points, so that a
	// deadman fires on a stream that went silent. Without it (tickrun run)
	// they run on the data's clock and a replay is reproducible.
	WallClock bool
	// InfluxDB are the InfluxDB servers batch queries and influxDBOut
	// use (tickrun run --influxdb); nil takes the [[influxdb]] sections
	// of Config.
	InfluxDB []influx.Config
	// VarValues are typed var values, as from Kapacitor's vars file
	// (ParseVars); a name in Vars as well takes the Vars string.
	VarValues map[string]Var
	// Loopback receives the points kapacitorLoopback() nodes write, each
	// the callee's, with its Database and RP set: a server writes them
	// into its stream. It is called with the task's lock held, so it must
	// not write to this task before returning (queue the point). Without
	// it the task writes them into its own input after the point being
	// processed (tickrun run).
	Loopback func(*Point)
	// DeferEvents, if set, is handed each event's publication (OnEvent,
	// the topics, OnUnhandled) instead of the task doing it at once: a
	// scaled-out server holds events until the checkpoint that covers
	// them is stored (server/cluster), then calls publish, in order, from
	// any goroutine. The event is the task's no more.
	DeferEvents func(ev *Event, publish func())
	// UDFRestore gives, by node name ("movavg2"), the snapshots of UDF
	// nodes that a previous run took with Task.SnapshotUDFs: each UDF is
	// restored from its snapshot before it gets data.
	UDFRestore map[string][]byte
}

// Stats counts what a task has done.
type Stats struct {
	Points     int64 // points written to the task
	Events     int64 // alert events sent by alert nodes
	NodeErrors int64 // per-point errors in nodes (points dropped or levels not matched)
	// GroupsRefused counts points dropped because their node held
	// Options.MaxGroups groups; GroupsReleased the groups released idle.
	GroupsRefused, GroupsReleased int64
}

// Task is a compiled TICKscript ready to receive points. A Task is not safe
// for concurrent use: write points from one goroutine (handlers deliver in
// their own goroutines).
type Task struct {
	name     string
	src      *ast.Source
	opts     Options
	nodes    []node
	stream   *streamNode
	dbrps    []DBRP
	warnings ast.ErrorList
	groups   models.GroupIDs
	declared map[string]bool // the vars the script declares
	// nextSweep and lastSweep are the data times of the next and the last
	// release of idle groups (groups.go).
	nextSweep, lastSweep int64
	alerts               *alert.Registry
	ownAlert             bool         // alerts was created by the task: Close drains it
	all                  *alert.Topic // every event of the task, for Options.OnEvent
	buf                  []byte       // the JSON of the last event OnEvent saw
	outputs              []output     // what the task made and Close must close, in order
	stats                Stats
	logMu                sync.Mutex
	// mu serialises what goes through the nodes: writes from any number
	// of goroutines (a server's HTTP requests), Close, and the wall-clock
	// ticks of a server. Uncontended it costs a few nanoseconds a point.
	mu       sync.Mutex
	batchPos *ast.Pos
	closed   bool
	err      error    // what stopped the task (a failed UDF); see fail
	loop     []*Point // points kapacitorLoopback nodes wrote, for afterPoint
}

// Compile parses and binds a script, compiles every lambda and template and
// prepares handlers. name is the task name (templates' .TaskName); srcName
// is the file name used in error messages. The error, if any, is an
// *ast.Error or an ast.ErrorList: render it with Source().Render or
// ErrorText. Problems Kapacitor only finds per point are returned by
// Warnings and do not stop compilation.
func Compile(name, srcName, src string, opts Options) (*Task, error) {
	source := ast.NewSource(srcName, src)
	t := &Task{name: name, src: source, opts: opts}
	if t.opts.KapacitorID == "" {
		t.opts.KapacitorID = "tickrun"
	}
	prog, err := parser.Parse(srcName, src)
	if err != nil {
		return t, err
	}
	b := newBinder(source, &t.opts)
	b.program(prog)
	t.nodes, t.stream, t.dbrps, t.batchPos = b.nodes, b.stream, b.dbrps, b.batchPos
	t.declared = map[string]bool{}
	for name := range b.vars {
		t.declared[name] = true
	}
	for _, n := range t.nodes {
		n.base().task = t
	}
	if b.errs.Err() == nil {
		if len(t.stream.children) == 0 && (b.batch == nil || len(b.batch.children) == 0) {
			b.errs.Add(&ast.Error{Pos: source.PosOf(0), Msg: "the script defines no pipeline: a stream task starts with stream|from() (Kapacitor: invalid task type)"})
		}
		for _, n := range t.nodes {
			if v, ok := n.(validator); ok {
				if err := v.validate(); err != nil {
					b.report(n.base().pos, err)
				}
			}
		}
	}
	var list ast.ErrorList
	for _, e := range b.errs {
		if e != errAlreadyReported {
			list = append(list, e)
		}
	}
	list.Sort()
	t.warnings = list.Warnings()
	if errs := list.Errors(); len(errs) > 0 {
		return t, errs
	}
	for _, n := range t.nodes {
		nb := n.base()
		nb.sent = make([]int64, len(nb.children))
	}
	t.alerts, t.all = opts.Alerts, alert.NewTopic("")
	if t.alerts == nil {
		t.alerts, t.ownAlert = alert.NewRegistry(t.logf), true
	}
	for _, n := range t.nodes {
		if s, ok := n.(starter); ok {
			if err := s.start(t); err != nil {
				t.Close(context.Background())
				if _, ok := err.(*ast.Error); !ok {
					err = &ast.Error{Pos: n.base().pos, Msg: err.Error()}
				}
				return t, err
			}
		}
	}
	for _, s := range opts.Handlers {
		if err := t.subscribe(s); err != nil {
			t.Close(context.Background())
			return t, err
		}
	}
	return t, nil
}

// output is a handler or a node's sink the task created: subscribed to a
// topic of the registry (topic and id set), or not.
type output struct {
	topic, id string
	c         interface {
		Close(ctx context.Context) error
		Stats() deliver.Stats
	}
}

// handlerEnv is what the task's handlers are built with.
func (t *Task) handlerEnv() *handler.Env {
	return &handler.Env{Config: t.opts.Config, Server: t.opts.Server, Deliver: t.opts.Deliver, Log: t.logf,
		Topic: t.opts.KapacitorID + ":" + t.name, Alerts: t.alerts}
}

// subscribe creates the handler spec describes and subscribes it to the
// spec's topic; Close unsubscribes it.
func (t *Task) subscribe(spec *handler.Spec) error {
	h, err := handler.Subscribe(t.alerts, spec, t.handlerEnv())
	if err != nil {
		return err
	}
	t.outputs = append(t.outputs, output{topic: spec.Topic, id: spec.ID, c: h})
	return nil
}

// publish sends an event to the task's OnEvent and to the topics, and
// to OnUnhandled when no handler received it.
func (t *Task) publish(ev *Event, targets ...*alert.Topic) {
	if t.opts.DeferEvents != nil {
		t.opts.DeferEvents(ev, func() { t.publishNow(ev, nil, targets) })
		return
	}
	t.publishNow(ev, t.buf[:0], targets)
}

// publishNow publishes ev, encoding its JSON for OnEvent into buf.
func (t *Task) publishNow(ev *Event, buf []byte, targets []*alert.Topic) {
	var b []byte
	if t.opts.OnEvent != nil || t.opts.OnUnhandled != nil {
		var err error
		b, err = t.all.Encode(ev, buf)
		if t.opts.DeferEvents == nil {
			t.buf = b
		}
		if err != nil {
			t.logf("%s: alert %q: %v", ev.Node, ev.ID, err)
			return
		}
		if t.opts.OnEvent != nil {
			t.opts.OnEvent(ev, b)
		}
	}
	if t.alerts.Publish(ev, targets...) == 0 && t.opts.OnUnhandled != nil {
		t.opts.OnUnhandled(ev, b)
	}
}

// Name returns the task name.
func (t *Task) Name() string { return t.name }

// Source returns the script, which renders positioned errors.
func (t *Task) Source() *ast.Source { return t.src }

// UnusedVars returns, for each var given a value in Options.Vars that the
// script does not declare, a line saying so (with the closest declared
// name, if one is close): a mistyped name would otherwise pass unnoticed.
func (t *Task) UnusedVars() []string {
	var declared []string
	for name := range t.declared {
		declared = append(declared, name)
	}
	var out []string
	for name := range t.opts.Vars {
		if !t.declared[name] {
			out = append(out, fmt.Sprintf("var %q is given a value but the script declares no such var%s", name, suggest(name, declared)))
		}
	}
	slices.Sort(out)
	return out
}

// Measurements returns the measurements the task's from() nodes read, and
// all = true when one of them reads every measurement: a server gives a
// point only to the tasks that read its measurement.
func (t *Task) Measurements() (names []string, all bool) {
	for _, c := range t.stream.children {
		f, ok := c.(*fromNode)
		if !ok || f.measurement == "" {
			return nil, true
		}
		if !slices.Contains(names, f.measurement) {
			names = append(names, f.measurement)
		}
	}
	slices.Sort(names)
	return names, false
}

// Topics returns the named topics the task's alert nodes publish to
// (.topic()), sorted.
func (t *Task) Topics() []string {
	var out []string
	for _, n := range t.nodes {
		if a, ok := n.(*alertNode); ok && a.topic != "" && !slices.Contains(out, a.topic) {
			out = append(out, a.topic)
		}
	}
	slices.Sort(out)
	return out
}

// Warnings returns the problems Kapacitor would only find per point, such
// as an unknown function in a lambda; the task runs as Kapacitor would.
func (t *Task) Warnings() ast.ErrorList { return t.warnings }

// DBRPs returns the script's dbrp statements.
func (t *Task) DBRPs() []DBRP { return t.dbrps }

// Accepts reports whether points written to database db and retention
// policy rp reach the task: always when the script has no dbrp statement,
// otherwise when (db, rp) is one of them (lineprotocol.md §6).
func (t *Task) Accepts(db, rp string) bool {
	if len(t.dbrps) == 0 {
		return true
	}
	for _, d := range t.dbrps {
		if d.Database == db && d.RP == rp {
			return true
		}
	}
	return false
}

// ErrClosed is returned by the write methods once the task is closed.
var ErrClosed = errors.New("task closed")

// WritePoint runs one point through the task. The point is borrowed for
// the duration of the call: the task copies whatever it keeps. Points whose
// Database and RP the task does not accept are ignored. WritePoint, Write
// and WriteLineProtocol are safe for concurrent use: points from several
// goroutines go through the nodes one at a time, each whole.
func (t *Task) WritePoint(p *Point) error {
	if !t.Accepts(p.Database, p.RP) {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pointLocked(p)
}

// pointLocked runs p through the nodes; t.mu is held.
func (t *Task) pointLocked(p *Point) error {
	if t.closed {
		return ErrClosed
	}
	if t.err != nil {
		return t.err
	}
	t.stats.Points++
	t.stream.point(p)
	t.afterPoint()
	t.sweep(p.Timestamp)
	return t.err
}

// WritePoints runs points through the task in order, as WritePoint
// would one by one, under one lock: a writer with many points (the body
// of a write) takes the task's lock once per slice instead of once per
// point, which concurrent writers otherwise contend for. It stops at the
// first error.
func (t *Task) WritePoints(ps []Point) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range ps {
		if !t.Accepts(ps[i].Database, ps[i].RP) {
			continue
		}
		if err := t.pointLocked(&ps[i]); err != nil {
			return err
		}
	}
	return nil
}

// Write runs a point given as Go values through the task, written to
// database db and retention policy rp. Field values may be float64, int64,
// int, string or bool.
func (t *Task) Write(db, rp, name string, tags map[string]string, fields map[string]any, ts time.Time) error {
	p := &Point{Name: name, Database: db, RP: rp, Timestamp: ts.UnixNano()}
	for k, v := range tags {
		p.Tags = append(p.Tags, Tag{Key: k, Value: v})
	}
	models.SortTags(p.Tags)
	for k, v := range fields {
		var ev eval.Value
		switch v := v.(type) {
		case float64:
			ev = eval.FloatValue(v)
		case float32:
			ev = eval.FloatValue(float64(v))
		case int64:
			ev = eval.IntValue(v)
		case int:
			ev = eval.IntValue(int64(v))
		case string:
			ev = eval.StringValue(v)
		case bool:
			ev = eval.BoolValue(v)
		default:
			return fmt.Errorf("field %q: unsupported value type %T", k, v)
		}
		p.Fields = append(p.Fields, Field{Key: k, Value: ev})
	}
	p.Fields = models.SortFields(p.Fields)
	return t.WritePoint(p)
}

// WriteLineProtocol decodes line protocol from r, its timestamps in
// precision ("" or "n" for nanoseconds, "u", "ms", "s", "m", "h"), and
// writes every point to the task as written to db/rp. Bad lines go to
// onError (if not nil) and are skipped. It returns the number of bad
// lines, and an error if reading r failed or the task is closed.
func (t *Task) WriteLineProtocol(r io.Reader, db, rp string, precision lineproto.Precision, onError func(*lineproto.LineError)) (bad int, err error) {
	d := lineproto.NewDecoder(r)
	d.Database, d.RP, d.Precision, d.OnError = db, rp, precision, onError
	d.MaxReported = -1 // onError sees every bad line
	for {
		p, err := d.Next()
		if err != nil {
			return d.BadLines(), err
		}
		if p == nil {
			return d.BadLines(), nil
		}
		if err := t.WritePoint(p); err != nil {
			return d.BadLines(), err
		}
	}
}

// Close ends the input: nodes that drain at the end do so, then Close
// waits until every queued alert of the task's handlers has been
// delivered or ctx is done. The task's handlers are unsubscribed from a
// shared registry; a registry of its own is drained too.
func (t *Task) Close(ctx context.Context) error {
	t.stopBatches() // batch_run.go: the wall-clock queries take t.mu
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	if t.alerts != nil { // compiled
		for _, n := range t.nodes {
			if f, ok := n.(finisher); ok {
				f.finish()
			}
		}
	}
	errs := []error{t.err}
	t.mu.Unlock()
	for _, o := range t.outputs {
		if o.topic != "" || o.id != "" {
			t.alerts.Unsubscribe(o.topic, o.id)
		}
		if err := o.c.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if t.ownAlert {
		if err := t.alerts.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Stats returns what the task has done so far.
func (t *Task) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// HandlerStats returns the delivery counters of the handlers and output
// sinks the task created, in the order it created them.
func (t *Task) HandlerStats() []deliver.Stats {
	out := make([]deliver.Stats, len(t.outputs))
	for i, o := range t.outputs {
		out[i] = o.c.Stats()
	}
	return out
}

// logf writes one line to the log.
func (t *Task) logf(format string, args ...any) {
	if t.opts.Log == nil {
		return
	}
	t.logMu.Lock()
	defer t.logMu.Unlock()
	line := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(line, "\n") {
		line += "\n"
	}
	io.WriteString(t.opts.Log, line)
}

// ErrorText renders an error returned by Compile for a person: positioned
// errors as "file:line:col: message" with the source line and a caret.
func (t *Task) ErrorText(err error) string {
	return t.src.Render(err)
}
