package server

// This file is the seam between the server and the engine: the only file
// of the server that uses package pipeline, and only its public API of
// today (Compile, Options, Task.WritePoint/Close/Stats/WriteDOT/
// HTTPHandler, NewDecoder, ParseHandlerSpec). What the engine does not
// offer yet is worked around here, each place marked ENGINE, so that the
// refactored engine can replace the workaround without touching the API:
//
//   - routing by measurement reads the script's from() nodes with package
//     tickscript (ENGINE: Task.Measurements);
//   - topic handlers are compiled into each task that publishes to the
//     topic, and a task restarts when they change (ENGINE: a server-wide
//     topic registry whose handlers change without restarting tasks);
//   - the topic of an event is found from the alert node's place in the
//     script (ENGINE: Event.Topic);
//   - node statistics are those the server can count itself: points into
//     the task and events per alert node and level (ENGINE: Task.NodeStats);
//   - alert state is recorded from events into the store, but a restarted
//     task starts with fresh levels (ENGINE: alert state export/import).

import (
	"bytes"
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
	"github.com/tickrun/tickrun/server/api"
	"github.com/tickrun/tickrun/server/store"
	"github.com/tickrun/tickrun/server/tickscript"
)

// KapacitorID is the task master name in anonymous topics
// ("main:<task>:<node>"), as in kapacitord.
const KapacitorID = "main"

// engineOptions configure the engine.
type engineOptions struct {
	Server  pipeline.ServerInfo
	Config  *pipeline.KapacitorConfig // handler sections of kapacitor.conf
	Deliver pipeline.DeliveryOptions
	Log     io.Writer // per-point node errors and handler failures
	Store   *store.Store
}

// engine runs tasks on package pipeline; it implements api.Engine.
type engine struct {
	opts   engineOptions
	mu     sync.Mutex // guards tasks; held while starting and stopping
	tasks  map[string]*runningTask
	routes atomic.Pointer[routeTable]
	topics *topicRegistry

	ingressMu sync.Mutex
	ingress   map[ingressKey]*atomic.Int64
	closed    bool
}

var _ api.Engine = (*engine)(nil)

// runningTask is a compiled task and what the server counts of it.
type runningTask struct {
	mu    sync.Mutex // serialises WritePoint: a Task is not safe for concurrent use
	task  *pipeline.Task
	spec  api.TaskSpec
	info  *tickscript.Info
	graph *graph
	// alertNodes are the names of the alert nodes in creation order, to
	// find an event's topic (ENGINE: Event.Topic).
	alertNodes []string
	events     map[string]*[4]atomic.Int64 // alert node -> events by level (OK, INFO, WARNING, CRITICAL)
	rate       rateMeter
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
	byMeasurement map[string][]*runningTask
	all           []*runningTask
}

type ingressKey struct{ db, rp, measurement string }

func newEngine(opts engineOptions) *engine {
	e := &engine{opts: opts, tasks: map[string]*runningTask{}, ingress: map[ingressKey]*atomic.Int64{}}
	e.topics = newTopicRegistry(opts.Store)
	e.routes.Store(&routeTable{byDBRP: map[store.DBRP]*dbrpRoutes{}})
	return e
}

// compile compiles a task spec; it returns the task and what the script
// tells of itself.
func (e *engine) compile(spec api.TaskSpec, handlers []*pipeline.HandlerSpec, onEvent func(*pipeline.Event, []byte)) (*pipeline.Task, *tickscript.Info, error) {
	info, err := tickscript.Inspect(spec.Script, spec.Vars)
	if err != nil {
		return nil, nil, scriptError(err)
	}
	opts := pipeline.Options{
		Vars:        spec.Vars,
		Server:      e.opts.Server,
		Handlers:    handlers,
		OnEvent:     onEvent,
		Log:         e.opts.Log,
		KapacitorID: KapacitorID,
		Deliver:     e.opts.Deliver,
		Config:      e.opts.Config,
	}
	if opts.Config == nil {
		// Without a kapacitor.conf, handlers that need a section are
		// errors at define time, as with tickrun run.
		opts.Config = &pipeline.KapacitorConfig{File: "kapacitor.conf", Services: map[string][]*pipeline.ServiceConfig{}}
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
	t, _, err := e.compile(spec, nil, nil)
	if err != nil {
		return err
	}
	return t.Close(context.Background())
}

// DOT implements api.Engine.
func (e *engine) DOT(spec api.TaskSpec) (string, error) {
	t, _, err := e.compile(spec, nil, nil)
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

// handlersFor returns the stored handlers of the topics a script
// publishes to, as the engine takes them.
func (e *engine) handlersFor(info *tickscript.Info) ([]*pipeline.HandlerSpec, error) {
	var out []*pipeline.HandlerSpec
	for _, topic := range info.Topics() {
		hs, err := e.opts.Store.Handlers(topic)
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			spec, err := handlerSpec(h)
			if err != nil {
				return nil, err
			}
			out = append(out, spec)
		}
	}
	return out, nil
}

// handlerSpec converts a stored handler to the engine's, validating it.
func handlerSpec(h store.Handler) (*pipeline.HandlerSpec, error) {
	data, err := jsonMarshal(h)
	if err != nil {
		return nil, err
	}
	return pipeline.ParseHandlerSpec(h.Topic+"/"+h.ID+".json", data)
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
	info, err := tickscript.Inspect(spec.Script, spec.Vars)
	if err != nil {
		return scriptError(err)
	}
	handlers, err := e.handlersFor(info)
	if err != nil {
		return err
	}
	rt := &runningTask{spec: spec, events: map[string]*[4]atomic.Int64{}}
	t, info, err := e.compile(spec, handlers, func(ev *pipeline.Event, payload []byte) { e.onEvent(rt, ev, payload) })
	if err != nil {
		return err
	}
	g, err := readGraph(t)
	if err != nil {
		t.Close(context.Background())
		return err
	}
	rt.task, rt.info, rt.graph = t, info, g
	for _, n := range g.nodes {
		if n.kind == "alert" || n.kind == "deadman" {
			rt.alertNodes = append(rt.alertNodes, n.name)
			rt.events[n.name] = new([4]atomic.Int64)
		}
	}
	old := e.tasks[spec.ID]
	e.tasks[spec.ID] = rt
	e.rebuildRoutes()
	if old != nil {
		go e.closeTask(old)
	}
	return nil
}

// closeTask ends a task that no longer receives points, waiting for its
// handlers to deliver what they hold.
func (e *engine) closeTask(rt *runningTask) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
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
	defer e.mu.Unlock()
	return e.tasks[id] != nil
}

// HandlersChanged implements api.Engine: tasks publishing to the topic
// restart with the stored handlers (ENGINE: shared topics). A task that
// no longer compiles keeps running with its old handlers.
func (e *engine) HandlersChanged(topic string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for _, rt := range e.sortedTasks() {
		for _, t := range rt.info.Topics() {
			if t == topic {
				if err := e.startLocked(rt.spec); err != nil {
					errs = append(errs, fmt.Errorf("task %s: %w", rt.spec.ID, err))
				}
				break
			}
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
				r = &dbrpRoutes{byMeasurement: map[string][]*runningTask{}}
				rt.byDBRP[d] = r
			}
			if t.info.AllMeasurements {
				r.all = append(r.all, t)
				continue
			}
			for _, m := range t.info.Measurements {
				r.byMeasurement[m] = append(r.byMeasurement[m], t)
			}
		}
	}
	for _, r := range rt.byDBRP {
		for m, list := range r.byMeasurement {
			r.byMeasurement[m] = append(list, r.all...)
		}
	}
	e.routes.Store(rt)
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
	d := pipeline.NewDecoder(bytes.NewReader(req.Body))
	d.Database, d.RP, d.Precision = req.DB, req.RP, pipeline.Precision(req.Precision)
	now := req.Now
	d.Now = func() time.Time { return now }
	d.OnError = func(le *pipeline.LineError) {
		res.Bad = append(res.Bad, api.LineError{Line: le.Line, Text: le.Text, Reason: influxReason(le.Text, le.Err)})
	}
	counts := map[string]int64{}
	for {
		p, err := d.Next()
		if err != nil || p == nil {
			break
		}
		res.Points++
		if routes == nil {
			continue
		}
		counts[p.Name]++
		targets, ok := routes.byMeasurement[p.Name]
		if !ok {
			targets = routes.all
		}
		for _, t := range targets {
			t.mu.Lock()
			if err := t.task.WritePoint(p); err != nil && !errors.Is(err, pipeline.ErrStopped) && e.opts.Log != nil {
				fmt.Fprintf(e.opts.Log, "task %s: %v\n", t.spec.ID, err)
			}
			t.mu.Unlock()
		}
	}
	// Sort the rejected lines: the decoder reports CRLF lines ahead of
	// the others of their chunk.
	sort.SliceStable(res.Bad, func(i, j int) bool { return res.Bad[i].Line < res.Bad[j].Line })
	if routes != nil {
		e.addIngress(req.DB, req.RP, counts)
	}
	return res
}

func (e *engine) addIngress(db, rp string, counts map[string]int64) {
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

// Stats implements api.Engine.
func (e *engine) Stats(id string) (api.TaskStats, bool) {
	e.mu.Lock()
	rt := e.tasks[id]
	e.mu.Unlock()
	if rt == nil {
		return api.TaskStats{}, false
	}
	rt.mu.Lock()
	st := rt.task.Stats()
	rt.mu.Unlock()
	nodes := map[string]map[string]int64{}
	for _, n := range rt.graph.nodes {
		nodes[n.name] = map[string]int64{}
	}
	// What the server counts itself (ENGINE: Task.NodeStats has every
	// node's collected, emitted, errors, avg_exec_time_ns and
	// working_cardinality).
	if len(rt.graph.nodes) > 0 {
		root := rt.graph.nodes[0].name
		nodes[root]["collected"] = st.Points
		nodes[root]["emitted"] = st.Points
	}
	for name, c := range rt.events {
		var total int64
		for i, key := range []string{"oks_triggered", "infos_triggered", "warns_triggered", "crits_triggered"} {
			n := c[i].Load()
			nodes[name][key] = n
			total += n
		}
		nodes[name]["alerts_triggered"] = total
	}
	rate := rt.rate.sample(st.Points, time.Now())
	return api.TaskStats{Throughput: rate, Nodes: nodes, DOT: rt.graph.statsDOT(id, rate, nodes)}, true
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

// onEvent sees every event of a running task (inside WritePoint).
func (e *engine) onEvent(rt *runningTask, ev *pipeline.Event, payload []byte) {
	if c := rt.events[ev.Node]; c != nil && int(ev.Level) >= 0 && int(ev.Level) < 4 {
		c[ev.Level].Add(1)
	}
	topic := ""
	for i, n := range rt.alertNodes {
		if n == ev.Node && i < len(rt.info.AlertTopics) {
			topic = rt.info.AlertTopics[i]
		}
	}
	if topic == "" {
		return
	}
	e.topics.record(topic, rt.spec.ID, ev.Node, eventState{
		Level:    ev.Level.String(),
		Message:  ev.Message,
		Details:  ev.Details,
		Time:     time.Unix(0, ev.Time).UTC(),
		Duration: ev.Duration,
	}, payload)
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
			rt.mu.Lock()
			defer rt.mu.Unlock()
			if err := rt.task.Close(ctx); err != nil {
				errMu.Lock()
				errs = append(errs, fmt.Errorf("task %s: %w", rt.spec.ID, err))
				errMu.Unlock()
			}
		}()
	}
	wg.Wait()
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
