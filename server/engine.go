package server

// This file is the seam between the server and the engine: the only file
// of the server that uses package pipeline. Every task publishes into one
// server-wide alert.Registry, to which the stored topic handlers are
// subscribed: a handler change re-subscribes that topic's handlers and
// leaves the tasks running. The registry's observer records each topic's
// events. Points are routed by (db, rp) and Task.Measurements.
//
// What the engine does not offer yet is worked around here, each place
// marked ENGINE:
//
//   - node statistics are the engine's (Task.NodeStats), but for
//     avg_exec_time_ns, which it does not measure (0, shown "0s");
//   - the queue depth of a topic handler is counted here (countedHandler);
//     a task's own handlers (.tcp() ...) have none (ENGINE: deliver.Stats
//     could carry it);
//   - a write body is decoded through an io.Reader and a fresh decoder
//     (ENGINE: a decoder that takes a []byte and can be reset would spare
//     ~1 MB of copies and buffers per 5,000-line batch).
//   - alert state is recorded from the registry's events into the store
//     and given back to the tasks (Options.AlertState) and the topics
//     (Registry.SetRestore) after a restart.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/deliver"
	"github.com/tickrun/tickrun/pipeline/handler"
	"github.com/tickrun/tickrun/pipeline/influx"
	"github.com/tickrun/tickrun/pipeline/kapconf"
	"github.com/tickrun/tickrun/pipeline/lineproto"
	"github.com/tickrun/tickrun/server/api"
	"github.com/tickrun/tickrun/server/store"
	"github.com/tickrun/tickrun/server/tickscript"
)

// KapacitorID is the task master name in anonymous topics
// ("main:<task>:<node>"), as in kapacitord.
const KapacitorID = "main"

// engineOptions configure the engine.
type engineOptions struct {
	// InfluxDB are the [[influxdb]] sections: batch queries and
	// influxDBOut.
	InfluxDB []influx.Config
	Server   alert.ServerInfo
	Config   *kapconf.Config // handler sections of kapacitor.conf
	Deliver  deliver.Options
	Log      io.Writer // per-point node errors and handler failures
	// Info, if set, receives the engine's informational lines (how a
	// scaled-out server runs each task); Log's lines are warnings.
	Info  func(format string, args ...any)
	Store *store.Store
}

// engine runs tasks on package pipeline; it implements api.Engine.
type engine struct {
	opts   engineOptions
	mu     sync.Mutex // guards tasks; held while starting and stopping
	tasks  map[string]*runningTask
	routes atomic.Pointer[routeTable]
	topics *topicRegistry
	alerts *alert.Registry // the server's topics, shared by every task

	loopMu      sync.Mutex // guards the loopback queue
	loopQueue   []*pipeline.Point
	looping     bool
	loopDropped int64
	subMu       sync.Mutex // serialises changes of the subscriptions

	ingressMu sync.Mutex
	ingress   map[ingressKey]*atomic.Int64
	closed    bool

	handlersMu sync.Mutex
	handlers   map[topicHandler]*countedHandler // the subscribed topic handlers

	// writers decode the bodies of writes, reused: a decoder keeps its
	// buffers and interned strings from one body to the next.
	writers sync.Pool // *bodyWriter

	// scale is the side of the broker inputs (scale.go); nil without one.
	scale *scaleOut
}

var _ api.Engine = (*engine)(nil)

// runningTask is a compiled task and what the server counts of it.
type runningTask struct {
	task  *pipeline.Task // safe for concurrent writers
	spec  api.TaskSpec
	info  *tickscript.Info
	graph *graph
	rate  rateMeter
	stop  chan struct{} // closed when the task stops: its clock ends
	once  sync.Once
	// mode is how a scaled-out server runs the task (modeSharded,
	// modeGlobal), and why; "" without a broker input.
	mode, why string
}

// routeTable maps (db, rp) to the tasks that read it. It is replaced
// whole when tasks start or stop, so writes read it without a lock.
type routeTable struct {
	byDBRP map[store.DBRP]*dbrpRoutes
}

// dbrpRoutes are the tasks of one (db, rp): by measurement, each list
// also holding the tasks that read every measurement, and those alone
// for measurements no task names.
type dbrpRoutes struct {
	byMeasurement map[string]*route
	all           []*runningTask
}

// route is where the points of one measurement go; idx numbers the
// routes of a dbrpRoutes, so that a write counts its points per
// measurement in a slice.
type route struct {
	name    string
	targets []*runningTask
	idx     int
}

type ingressKey struct{ db, rp, measurement string }

func newEngine(opts engineOptions) *engine {
	e := &engine{opts: opts, tasks: map[string]*runningTask{}, ingress: map[ingressKey]*atomic.Int64{},
		handlers: map[topicHandler]*countedHandler{}}
	e.topics = newTopicRegistry(opts.Store)
	e.alerts = alert.NewRegistry(e.logf)
	e.alerts.SetObserver(func(topic string, ev *alert.Event, payload []byte) {
		e.topics.record(topic, ev.TaskName, ev.Node, eventState{
			Level: ev.Level.String(), Message: ev.Message, Details: ev.Details,
			Time: time.Unix(0, ev.Time).UTC(), Duration: ev.Duration,
		}, payload)
	})
	// After a restart, an alert id's first event in a topic continues
	// what the store kept: its previous level, and (AlertState, at
	// compile) its episode.
	e.alerts.SetRestore(func(topic, id string) (alert.Level, bool) {
		s, ok := e.saved(topic, id)
		return s.Level, ok
	})
	e.routes.Store(&routeTable{byDBRP: map[store.DBRP]*dbrpRoutes{}})
	if hs, err := opts.Store.AllHandlers(); err == nil {
		for _, h := range hs {
			if err := e.subscribe(h); err != nil {
				e.logf("topic %s: handler %s: %v", h.Topic, h.ID, err)
			}
		}
	}
	return e
}

// loopback takes the points kapacitorLoopback() nodes write (with the
// writing task's lock held) and writes them into the server's stream from
// a goroutine of its own, in order.
func (e *engine) loopback(p *pipeline.Point) {
	q := p.Clone()
	e.loopMu.Lock()
	defer e.loopMu.Unlock()
	if len(e.loopQueue) >= maxLoopbackQueue {
		e.loopDropped++
		return
	}
	e.loopQueue = append(e.loopQueue, q)
	if !e.looping {
		e.looping = true
		go e.drainLoopback()
	}
}

// maxLoopbackQueue bounds the points waiting to loop back; beyond it new
// ones are dropped and counted (a loop that feeds itself).
const maxLoopbackQueue = 100_000

func (e *engine) drainLoopback() {
	for {
		e.loopMu.Lock()
		batch := e.loopQueue
		e.loopQueue = nil
		if len(batch) == 0 {
			e.looping = false
			e.loopMu.Unlock()
			return
		}
		e.loopMu.Unlock()
		for _, p := range batch {
			routes := e.routes.Load().byDBRP[store.DBRP{DB: p.Database, RP: p.RP}]
			if routes == nil {
				continue
			}
			targets := routes.all
			if ro := routes.byMeasurement[p.Name]; ro != nil {
				targets = ro.targets
			}
			for _, t := range targets {
				t.task.WritePoint(p)
			}
		}
	}
}

// saved is the state the server kept of an alert id in a topic.
func (e *engine) saved(topic, id string) (pipeline.Saved, bool) {
	ev, ok := e.topics.last(topic, id)
	if !ok {
		return pipeline.Saved{}, false
	}
	l, ok := alert.ParseLevel(ev.Level)
	if !ok {
		return pipeline.Saved{}, false
	}
	return pipeline.Saved{Level: l, EpisodeStart: ev.Time.Add(-ev.Duration).UnixNano(), Time: ev.Time.UnixNano()}, true
}

// infof logs an informational line: to Options.Info, else as logf does.
func (e *engine) infof(format string, args ...any) {
	if e.opts.Info != nil {
		e.opts.Info(format, args...)
		return
	}
	e.logf(format, args...)
}

func (e *engine) logf(format string, args ...any) {
	if e.opts.Log != nil {
		fmt.Fprintf(e.opts.Log, format+"\n", args...)
	}
}

// subscribe subscribes a stored topic handler to the server's topics.
func (e *engine) subscribe(h store.Handler) error {
	spec, err := handlerSpec(h)
	if err != nil {
		return err
	}
	env := &handler.Env{Config: e.config(), Server: e.opts.Server, Deliver: e.opts.Deliver, Log: e.logf, Topic: h.Topic, Alerts: e.alerts}
	// handler.Subscribe, with a count of the events handed to the
	// handler: what it has not yet sent or dropped is its queue (/metrics).
	m, err := spec.CompileMatch()
	if err != nil {
		return err
	}
	hd, err := spec.New(env)
	if err != nil {
		return err
	}
	c := &countedHandler{Handler: hd, kind: h.Kind}
	if err := e.alerts.Subscribe(spec.Topic, spec.ID, m, c); err != nil {
		hd.Close(context.Background())
		return err
	}
	e.handlersMu.Lock()
	e.handlers[topicHandler{h.Topic, h.ID}] = c
	e.handlersMu.Unlock()
	return nil
}

// topicHandler names a topic handler.
type topicHandler struct{ topic, id string }

// countedHandler is a topic handler that counts the events handed to it.
// Every event a handler is handed ends counted once, as sent or dropped
// (deliver.Queue's ledger), so handed - sent - dropped is what it still
// holds: queued or being delivered.
type countedHandler struct {
	alert.Handler
	kind   string
	handed atomic.Int64
}

func (h *countedHandler) Deliver(ev *alert.Event, payload []byte) {
	h.handed.Add(1)
	h.Handler.Deliver(ev, payload)
}

// config is the kapacitor.conf of the handlers: without one, handlers
// that need a section are errors at define time, as with tickrun run.
func (e *engine) config() *kapconf.Config {
	if e.opts.Config != nil {
		return e.opts.Config
	}
	return &kapconf.Config{File: "kapacitor.conf", Sections: map[string][]*kapconf.Section{}}
}

// compile compiles a task spec against registry (the server's, or a
// scratch one for checks); it returns the task and what the script tells
// of itself.
func (e *engine) compile(spec api.TaskSpec, registry *alert.Registry, onEvent func(*pipeline.Event, []byte)) (*pipeline.Task, *tickscript.Info, error) {
	info, err := tickscript.Inspect(spec.Script, spec.Vars)
	if err != nil {
		return nil, nil, scriptError(err)
	}
	opts := pipeline.Options{
		Vars:        spec.Vars,
		Server:      e.opts.Server,
		Alerts:      registry,
		OnEvent:     onEvent,
		AlertState:  e.saved,
		Log:         e.opts.Log,
		KapacitorID: KapacitorID,
		Deliver:     e.opts.Deliver,
		Config:      e.config(),
		// stats(), deadman() and barrier() run on the wall clock, as in
		// kapacitord: see clock.
		WallClock: true,
		// Batch queries and influxDBOut go to the [[influxdb]] sections.
		InfluxDB: e.opts.InfluxDB,
		// kapacitorLoopback writes into the server's own stream.
		Loopback: e.loopback,
	}
	if e.scale != nil && registry == e.alerts {
		// Events wait for the checkpoint that covers them (scale.go).
		opts.DeferEvents = e.scale.deferEvents(spec.ID)
	}
	t, err := pipeline.Compile(spec.ID, spec.ID, spec.Script, opts)
	if err != nil {
		return nil, nil, scriptError(err)
	}
	return t, info, nil
}

// scriptError converts a compile error to the API's positioned form:
// the first error of a list, with its line and column.
func scriptError(err error) error {
	var list ast.ErrorList
	var one *ast.Error
	switch {
	case errors.As(err, &list) && len(list) > 0:
		one = list[0]
	case errors.As(err, &one):
	default:
		return &api.ScriptError{Msg: err.Error()}
	}
	return &api.ScriptError{Line: one.Pos.Line, Col: one.Pos.Col, Msg: one.Msg}
}

// Check implements api.Engine.
func (e *engine) Check(spec api.TaskSpec) error {
	t, _, err := e.compile(spec, alert.NewRegistry(nil), nil)
	if err != nil {
		return err
	}
	return t.Close(context.Background())
}

// DOT implements api.Engine.
func (e *engine) DOT(spec api.TaskSpec) (string, error) {
	t, _, err := e.compile(spec, alert.NewRegistry(nil), nil)
	if err != nil {
		return "", err
	}
	defer t.Close(context.Background())
	g, err := readGraph(t)
	if err != nil {
		return "", err
	}
	return g.plainDOT(spec.ID), nil
}

// handlerSpec converts a stored handler to the engine's, validating it.
func handlerSpec(h store.Handler) (*handler.Spec, error) {
	data, err := jsonMarshal(h)
	if err != nil {
		return nil, err
	}
	return handler.ParseFile(h.Topic+"/"+h.ID+".json", data)
}

// CheckHandler implements api.Engine.
func (e *engine) CheckHandler(h store.Handler) error {
	_, err := handlerSpec(h)
	return err
}

// Start implements api.Engine.
func (e *engine) Start(spec api.TaskSpec) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.startLocked(spec)
}

func (e *engine) startLocked(spec api.TaskSpec) error {
	if e.closed {
		return errors.New("the server is shutting down")
	}
	rt := &runningTask{spec: spec, stop: make(chan struct{})}
	t, info, err := e.compile(spec, e.alerts, nil)
	if err != nil {
		return err
	}
	g, err := readGraph(t)
	if err != nil {
		t.Close(context.Background())
		return err
	}
	rt.task, rt.info, rt.graph = t, info, g
	if e.scale != nil {
		rt.mode, rt.why = e.scale.classify(spec.ID, t)
		e.infof("task %s runs %s %s", spec.ID, rt.mode, rt.why)
	}
	old := e.tasks[spec.ID]
	e.tasks[spec.ID] = rt
	e.rebuildRoutes()
	if next := t.Tick(time.Now()); !next.IsZero() {
		go e.clock(rt, next)
	}
	if _, batch := t.BatchPos(); batch {
		// The schedule on the wall clock; a failed query is logged and
		// counted, and the query is retried at its next tick.
		if err := t.StartBatches(); err != nil {
			e.tasks[spec.ID] = old
			e.rebuildRoutes()
			t.Close(context.Background())
			return err
		}
	}
	if old != nil {
		go e.closeTask(old)
	}
	return nil
}

// clock drives the wall-clock nodes of a task (stats, deadman): it wakes
// when the next interval boundary is due and ticks the task, until the
// task stops. Kapacitor runs a ticker per stats node; here one timer per
// task sleeps until the earliest boundary the task reports.
func (e *engine) clock(rt *runningTask, next time.Time) {
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-rt.stop:
			return
		case <-timer.C:
		}
		next = rt.task.Tick(time.Now())
		if next.IsZero() {
			return // closed
		}
		timer.Reset(time.Until(next))
	}
}

// closeTask ends a task that no longer receives points, waiting for its
// handlers to deliver what they hold.
func (e *engine) closeTask(rt *runningTask) {
	rt.once.Do(func() { close(rt.stop) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rt.task.Close(ctx); err != nil && e.opts.Log != nil {
		fmt.Fprintf(e.opts.Log, "task %s: %v\n", rt.spec.ID, err)
	}
}

// Stop implements api.Engine.
func (e *engine) Stop(id string) {
	e.mu.Lock()
	rt := e.tasks[id]
	delete(e.tasks, id)
	e.rebuildRoutes()
	e.mu.Unlock()
	if rt != nil {
		e.closeTask(rt)
	}
}

// Executing implements api.Engine.
func (e *engine) Executing(id string) bool {
	e.mu.Lock()
	rt := e.tasks[id]
	e.mu.Unlock()
	return rt != nil && rt.task.Err() == nil
}

// HandlersChanged implements api.Engine: the topic's handlers are
// subscribed again from the store, and the old ones drain in the
// background; tasks keep running (and their alert state).
func (e *engine) HandlersChanged(topic string) error {
	e.subMu.Lock()
	defer e.subMu.Unlock()
	var old []alert.Handler
	for _, id := range e.alerts.Handlers(topic) {
		if h := e.alerts.Unsubscribe(topic, id); h != nil {
			old = append(old, h)
		}
		e.handlersMu.Lock()
		delete(e.handlers, topicHandler{topic, id})
		e.handlersMu.Unlock()
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, h := range old {
			h.Close(ctx)
		}
	}()
	hs, err := e.opts.Store.Handlers(topic)
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range hs {
		if err := e.subscribe(h); err != nil {
			errs = append(errs, fmt.Errorf("handler %s: %w", h.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (e *engine) sortedTasks() []*runningTask {
	out := make([]*runningTask, 0, len(e.tasks))
	for _, rt := range e.tasks {
		out = append(out, rt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].spec.ID < out[j].spec.ID })
	return out
}

// rebuildRoutes publishes a new route table for the running stream
// tasks; e.mu is held.
func (e *engine) rebuildRoutes() {
	rt := &routeTable{byDBRP: map[store.DBRP]*dbrpRoutes{}}
	for _, t := range e.sortedTasks() {
		if t.info.Type != "stream" {
			continue
		}
		dbrps := t.spec.DBRPs
		for _, d := range dbrps {
			r := rt.byDBRP[d]
			if r == nil {
				r = &dbrpRoutes{byMeasurement: map[string]*route{}}
				rt.byDBRP[d] = r
			}
			names, all := t.task.Measurements()
			if all {
				r.all = append(r.all, t)
				continue
			}
			for _, m := range names {
				ro := r.byMeasurement[m]
				if ro == nil {
					ro = &route{name: m, idx: len(r.byMeasurement)}
					r.byMeasurement[m] = ro
				}
				ro.targets = append(ro.targets, t)
			}
		}
	}
	for _, r := range rt.byDBRP {
		for _, ro := range r.byMeasurement {
			ro.targets = append(ro.targets, r.all...)
		}
	}
	e.routes.Store(rt)
}

// bodyWriter is what decoding a write body needs, kept from one write to
// the next.
type bodyWriter struct {
	d     *lineproto.Decoder
	batch []pipeline.Point // copies of points for the tasks of one run
}

// writeBatch is how many points a task takes under one lock from a
// write: about 13 µs of the seed script's work.
const writeBatch = 128

// sameTasks reports whether a and b are the same route's tasks (route
// slices are made once per route table, so comparing them is comparing
// their first element's address).
func sameTasks(a, b []*runningTask) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// Write implements api.Engine: each point is decoded once and given to
// the tasks of its (db, rp, measurement) only. Handlers deliver from
// their own queues, so a slow handler does not slow the write.
func (e *engine) Write(req api.WriteRequest) api.WriteResult {
	if req.AllOrNothing {
		// A first pass finds the bad lines; only a clean body is routed.
		check := e.decode(req, nil)
		if len(check.Bad) > 0 {
			check.Points = 0
			return check
		}
	}
	routes := e.routes.Load().byDBRP[store.DBRP{DB: req.DB, RP: req.RP}]
	if routes == nil {
		// Nothing reads this (db, rp): the points are still decoded, to
		// count them and to answer bad lines.
		routes = &dbrpRoutes{}
	}
	return e.decode(req, routes)
}

// decode decodes a body, giving each point to the tasks of routes (none
// when routes is nil) and counting what came in.
func (e *engine) decode(req api.WriteRequest, routes *dbrpRoutes) api.WriteResult {
	var res api.WriteResult
	w, _ := e.writers.Get().(*bodyWriter)
	if w == nil {
		w = &bodyWriter{d: lineproto.NewDecoder(nil), batch: make([]pipeline.Point, writeBatch)}
	}
	d := w.d
	defer func() {
		d.ResetBytes(nil) // holds neither the body nor res while pooled
		d.OnError, d.Now = nil, nil
		e.writers.Put(w)
	}()
	d.Database, d.RP, d.Precision = req.DB, req.RP, lineproto.Precision(req.Precision)
	now := req.Now
	d.Now = func() time.Time { return now }
	d.OnError = func(le *lineproto.LineError) {
		res.Bad = append(res.Bad, api.LineError{Line: le.Line, Text: le.Text, Reason: influxReason(le.Text, le.Err)})
	}
	d.ResetBytes(req.Body)
	// Lines of a batch mostly repeat the measurement of the line before
	// (Telegraf writes a plugin's metrics together): the route of the
	// last measurement is kept at hand, so that such a point costs a
	// string comparison, not a map lookup. Points are counted per route in
	// a slice; measurements no task names, in a map.
	var counts []int64
	var other map[string]int64
	if routes != nil {
		counts = make([]int64, len(routes.byMeasurement))
	}
	var last string
	var ro *route
	var targets []*runningTask
	first := true
	// A run of points for the same tasks goes to them in slices of
	// writeBatch (copies: the decoder reuses its point), so that each task
	// takes its lock once per slice, not once per point. The first point
	// of a run is written as it is: a body whose measurements alternate
	// costs no copies.
	var runTargets []*runningTask
	n := 0
	flush := func() {
		for _, t := range runTargets {
			// A task closed meanwhile (redefined, disabled) refuses the
			// points: its successor is in the new route table.
			t.task.WritePoints(w.batch[:n])
		}
		n = 0
	}
	for {
		p, err := d.Next()
		if err != nil || p == nil {
			break
		}
		res.Points++
		if routes == nil {
			continue
		}
		if first || p.Name != last {
			first, last = false, p.Name
			if ro = routes.byMeasurement[p.Name]; ro != nil {
				targets = ro.targets
			} else {
				targets = routes.all
			}
		}
		if ro != nil {
			counts[ro.idx]++
		} else {
			if other == nil {
				other = map[string]int64{}
			}
			other[p.Name]++
		}
		if len(targets) == 0 {
			continue
		}
		if !sameTasks(targets, runTargets) {
			flush()
			runTargets = targets
			for _, t := range targets {
				t.task.WritePoint(p)
			}
			continue
		}
		w.batch[n].CopyFrom(p)
		if n++; n == len(w.batch) {
			flush()
		}
	}
	flush()
	// Sort the rejected lines: the decoder reports CRLF lines ahead of
	// the others of their chunk.
	sort.SliceStable(res.Bad, func(i, j int) bool { return res.Bad[i].Line < res.Bad[j].Line })
	if routes != nil {
		for _, ro := range routes.byMeasurement {
			if n := counts[ro.idx]; n > 0 {
				if other == nil {
					other = map[string]int64{}
				}
				other[ro.name] += n
			}
		}
		e.addIngress(req.DB, req.RP, other)
	}
	return res
}

func (e *engine) addIngress(db, rp string, counts map[string]int64) {
	if len(counts) == 0 {
		return
	}
	e.ingressMu.Lock()
	defer e.ingressMu.Unlock()
	for m, n := range counts {
		k := ingressKey{db, rp, m}
		c := e.ingress[k]
		if c == nil {
			c = new(atomic.Int64)
			e.ingress[k] = c
		}
		c.Add(n)
	}
}

// Ingress implements api.Engine.
func (e *engine) Ingress() []api.IngressStat {
	e.ingressMu.Lock()
	defer e.ingressMu.Unlock()
	out := make([]api.IngressStat, 0, len(e.ingress))
	for k, c := range e.ingress {
		out = append(out, api.IngressStat{DB: k.db, RP: k.rp, Measurement: k.measurement, Points: c.Load()})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.DB+"\x00"+a.RP+"\x00"+a.Measurement < b.DB+"\x00"+b.RP+"\x00"+b.Measurement
	})
	return out
}

// influxReason words a rejected line as InfluxDB 1.x (and so Kapacitor)
// does where line-protocol/v2 words it otherwise, for the cases clients
// meet most (ENGINE: the decoder could carry Kapacitor's reasons).
func influxReason(line string, err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "field value has unrecognized type"):
		v := fieldValueAfterKey(line)
		switch {
		case v == "":
			return "missing field value"
		case v[0] == '-' || v[0] == '.' || v[0] >= '0' && v[0] <= '9':
			return "invalid number"
		default:
			return "invalid boolean"
		}
	case strings.HasPrefix(msg, "want '=' after field key"):
		return "invalid field format"
	case strings.HasPrefix(msg, "invalid timestamp"):
		return "bad timestamp"
	}
	return msg
}

// fieldValueAfterKey returns the first field value of a line that could
// not be decoded, as far as a plain scan finds it.
func fieldValueAfterKey(line string) string {
	// Skip the measurement and tags (up to the first unescaped space).
	i := 0
	for i < len(line) && line[i] != ' ' {
		if line[i] == '\\' {
			i++
		}
		i++
	}
	rest := strings.TrimLeft(line[min(i, len(line)):], " ")
	_, v, ok := strings.Cut(rest, "=")
	if !ok {
		return ""
	}
	if j := strings.IndexAny(v, " ,"); j >= 0 {
		v = v[:j]
	}
	return v
}

// Stats implements api.Engine: the engine's node statistics under
// Kapacitor's names.
func (e *engine) Stats(id string) (api.TaskStats, bool) {
	e.mu.Lock()
	rt := e.tasks[id]
	e.mu.Unlock()
	if rt == nil {
		return api.TaskStats{}, false
	}
	if err := rt.task.Err(); err != nil {
		return api.TaskStats{Err: err.Error()}, true
	}
	nodes := map[string]map[string]int64{}
	edges := map[string]map[string]int64{}
	var points int64
	for i, n := range rt.task.NodeStats() {
		if i == 0 {
			points = n.Collected
		}
		m := map[string]int64{"collected": n.Collected, "emitted": n.Emitted, "errors": n.Errors,
			"working_cardinality": int64(n.Cardinality), "avg_exec_time_ns": 0}
		if a := n.Alerts; a != nil {
			m["oks_triggered"], m["infos_triggered"], m["warns_triggered"], m["crits_triggered"] = a[0], a[1], a[2], a[3]
			m["alerts_triggered"] = a[0] + a[1] + a[2] + a[3]
			m["alerts_inhibited"] = 0
		}
		nodes[n.Name] = m
		edges[n.Name] = map[string]int64{}
		for _, ed := range n.Edges {
			edges[n.Name][ed.To] = ed.Processed
		}
	}
	// Only the nodes of the graph Kapacitor shows.
	shown := map[string]map[string]int64{}
	for _, n := range rt.graph.nodes {
		if m, ok := nodes[n.name]; ok {
			shown[n.name] = m
		}
	}
	rate := rt.rate.sample(points, time.Now())
	return api.TaskStats{Throughput: rate, Nodes: shown, DOT: rt.graph.statsDOT(id, rate, shown, edges)}, true
}

// HTTPOut implements api.Engine.
func (e *engine) HTTPOut(id string) (http.Handler, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rt := e.tasks[id]
	if rt == nil {
		return nil, false
	}
	return rt.task.HTTPHandler(), true
}

// Topics implements api.Engine.
func (e *engine) Topics() map[string]api.TopicState {
	out := e.topics.states()
	hs, _ := e.opts.Store.AllHandlers()
	for _, h := range hs {
		if _, ok := out[h.Topic]; !ok {
			out[h.Topic] = api.TopicState{Level: "OK"}
		}
	}
	return out
}

// Events implements api.Engine.
func (e *engine) Events(topic string) (map[string]api.EventState, bool) {
	ev, ok := e.topics.events(topic)
	if !ok {
		if hs, _ := e.opts.Store.Handlers(topic); len(hs) > 0 {
			return map[string]api.EventState{}, true
		}
	}
	return ev, ok
}

// DeleteTopic implements api.Engine.
func (e *engine) DeleteTopic(topic string) error { return e.topics.delete(topic) }

// Close stops every task, letting handlers deliver what they hold until
// ctx is done, and writes the last alert states to the store.
func (e *engine) Close(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	tasks := e.sortedTasks()
	e.tasks = map[string]*runningTask{}
	e.rebuildRoutes()
	e.mu.Unlock()
	var errs []error
	var wg sync.WaitGroup
	var errMu sync.Mutex
	for _, rt := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rt.once.Do(func() { close(rt.stop) })
			if err := rt.task.Close(ctx); err != nil {
				errMu.Lock()
				errs = append(errs, fmt.Errorf("task %s: %w", rt.spec.ID, err))
				errMu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := e.alerts.Close(ctx); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, e.topics.flush())
	return errors.Join(errs...)
}

// rateMeter turns a growing count into a rate, sampled when asked.
type rateMeter struct {
	mu     sync.Mutex
	at     time.Time
	count  int64
	perSec float64
}

// sample returns the rate of count since the previous sample at least a
// second ago.
func (m *rateMeter) sample(count int64, now time.Time) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.at.IsZero() {
		m.at, m.count = now, count
		return 0
	}
	if d := now.Sub(m.at); d >= time.Second {
		m.perSec = float64(count-m.count) / d.Seconds()
		m.at, m.count = now, count
	}
	return m.perSec
}

// taskCounts is what /metrics shows of a running task.
type taskCounts struct {
	ID      string
	Points  int64 // points written to the task
	Events  int64 // events its alert nodes sent
	Nodes   []nodeCounts
	Outputs []handlerCounts // its own handlers and sinks (.tcp(), httpPost(), ...)
}

// nodeCounts is what /metrics shows of one node.
type nodeCounts struct {
	Name, Kind                 string
	Collected, Emitted, Errors int64
	Cardinality                int64
	Alerts                     *[4]int64 // by level for alert nodes: OK, INFO, WARNING, CRITICAL
}

// handlerCounts is what /metrics shows of a handler.
type handlerCounts struct {
	Topic, ID, Kind        string // topic handlers; Name for a task's own
	Name                   string // kind and target ("tcp 127.0.0.1:9000")
	Sent, Retried, Dropped int64
	Queued                 int64 // events held, queued or being sent; -1: unknown
}

// counts returns the counters of every running task and topic handler,
// for /metrics. The points and events of a task come from the engine's
// own counts; the handlers' from their delivery ledgers.
func (e *engine) counts() ([]taskCounts, []handlerCounts) {
	e.mu.Lock()
	tasks := e.sortedTasks()
	e.mu.Unlock()
	var out []taskCounts
	for _, rt := range tasks {
		st := rt.task.Stats()
		tc := taskCounts{ID: rt.spec.ID, Points: st.Points, Events: st.Events}
		for _, n := range rt.task.NodeStats() {
			tc.Nodes = append(tc.Nodes, nodeCounts{Name: n.Name, Kind: n.Kind, Collected: n.Collected, Emitted: n.Emitted,
				Errors: n.Errors, Cardinality: int64(n.Cardinality), Alerts: n.Alerts})
		}
		for _, h := range rt.task.HandlerStats() {
			// ENGINE: deliver.Stats has no queue depth, and the task's
			// own handlers cannot be wrapped from here.
			tc.Outputs = append(tc.Outputs, handlerCounts{Name: h.Name, Sent: h.Sent, Retried: h.Retried, Dropped: h.Dropped, Queued: -1})
		}
		out = append(out, tc)
	}
	e.handlersMu.Lock()
	hs := make([]handlerCounts, 0, len(e.handlers))
	for k, c := range e.handlers {
		st := c.Stats()
		handed := c.handed.Load()
		hs = append(hs, handlerCounts{Topic: k.topic, ID: k.id, Kind: c.kind, Name: st.Name, Sent: st.Sent, Retried: st.Retried,
			Dropped: st.Dropped, Queued: max(0, handed-st.Sent-st.Dropped)})
	}
	e.handlersMu.Unlock()
	sort.Slice(hs, func(i, j int) bool {
		return hs[i].Topic < hs[j].Topic || hs[i].Topic == hs[j].Topic && hs[i].ID < hs[j].ID
	})
	return out, hs
}
