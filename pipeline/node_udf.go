package pipeline

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/kapconf"
	"github.com/tickrun/tickrun/pipeline/models"
	"github.com/tickrun/tickrun/pipeline/udf"
)

// udfNode runs a user-defined function, `@name()` (server.md §6): a
// program of [udf.functions.NAME] of kapacitor.conf, started for the task,
// or a connection to its Unix socket. The binder probes the UDF for its
// Info (what it wants and provides, its options) while the script is
// bound, so `.option(values...)` calls are checked as Kapacitor checks
// them; the task starts its own use of the UDF, hands it the options
// (Init) and, for a server, a snapshot (Restore), then writes every point
// or batch to it. What the UDF sends back, at any time, is handed to the
// node's children.
//
// The UDF's output arrives on a goroutine of package udf, whose callbacks
// only queue it here (they must never wait for the task's lock: WritePoint
// may hold it while it waits for the UDF to read, and the UDF for its
// output to be read). A goroutine of the node takes the lock and hands the
// queue to the children, as a write from outside would; at the end of the
// input, Close (holding the lock) waits for the UDF's last output and
// hands it on itself. A UDF that dies, hangs past its timeout or answers
// garbage stops its task with the error (`udf NAME exited: ...`, see
// Task.fail); other tasks go on.
type udfNode struct {
	nodeBase
	udfName  string
	cfg      udf.Config
	info     udf.Info
	options  []udf.Option // the script's option calls, in order
	wants    edge
	client   *udf.Client
	scratchP udf.Point // what point sends, reused
	tags     []Tag     // reused by fromUDF
	fields   []Field   // reused by fromUDF

	mu       sync.Mutex // guards inbox
	inbox    []udfItem
	wake     chan struct{}
	quit     chan struct{} // closed at the end: the delivery goroutine returns
	finished bool          // set under the task's lock by finish
}

// udfItem is one thing the UDF sent: a point, a batch or its failure.
type udfItem struct {
	p   *udf.Point
	b   *udf.Batch
	err error
}

// udfSection is the kapacitor.conf table of UDF name.
const udfSection = "udf.functions."

func init() {
	// [udf] holds [udf.functions.NAME] tables (Kapacitor
	// services/udf/config.go): a process (prog, args, env) or a socket,
	// and the keepalive timeout.
	kapconf.Register("udf", kapconf.Schema{Keys: map[string]kapconf.Kind{"functions": kapconf.Any}})
	kapconf.Register(udfSection+"*", kapconf.Schema{Keys: map[string]kapconf.Kind{
		"prog": kapconf.String, "args": kapconf.Strings, "env": kapconf.Map,
		"socket": kapconf.String, "timeout": kapconf.Duration,
	}})
}

// udfConfig returns the configuration of UDF name from kapacitor.conf.
func udfConfig(conf *kapconf.Config, name string) (udf.Config, error) {
	s := conf.Table(udfSection + name)
	if s == nil {
		where := "kapacitor.conf (give it with --config FILE)"
		if conf != nil && conf.File != "" {
			where = conf.File
		}
		return udf.Config{}, fmt.Errorf("no UDF named %q: it needs a [udf.functions.%s] section in %s", name, name, where)
	}
	cfg := udf.Config{Prog: s.String("prog"), Args: s.Strings("args"), Env: s.Map("env"),
		Socket: s.String("socket"), Timeout: s.Duration("timeout")}
	if err := cfg.Validate(); err != nil {
		return udf.Config{}, fmt.Errorf("udf %s: [udf.functions.%s] of %s:%d: %v", name, name, conf.File, s.Line, err)
	}
	return cfg, nil
}

// udfChain binds `recv@name()`: it probes the UDF, checks the edges and
// makes the node, whose properties are the UDF's options.
func (b *binder) udfChain(c *ast.Chain, recv node, args []value) (value, error) {
	name := c.Method.Name
	if !c.Parens {
		return value{}, ast.Errorf(c.Method.Pos, "user-defined function %q needs parentheses: @%s()", name, name)
	}
	if len(args) > 0 {
		return value{}, ast.Errorf(c.Method.Pos, "@%s() takes no arguments: give the UDF's options as properties, @%s().option(...)", name, name)
	}
	if recv.base().spec.Method == "stream" || recv.base().spec.Method == "batch" {
		return value{}, ast.Errorf(c.Method.Pos, "@%s() cannot be chained on %s: a task starts with %s", name, recv.base().spec.Method,
			map[string]string{"stream": "stream|from()", "batch": "batch|query()"}[recv.base().spec.Method])
	}
	cfg, err := udfConfig(b.opts.Config, name)
	if err != nil {
		return value{}, ast.Errorf(c.Method.Pos, "%v", err)
	}
	var log func(string)
	if b.opts.Log != nil {
		var mu sync.Mutex // the probe's goroutines may log at once
		log = func(line string) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(b.opts.Log, "udf %s: %s\n", name, strings.TrimSuffix(line, "\n"))
		}
	}
	info, err := udf.Probe(name, cfg, udf.Options{Log: log})
	if err != nil {
		return value{}, ast.Errorf(c.Method.Pos, "cannot probe UDF %q: %v", name, err)
	}
	wants, provides := streamEdge, streamEdge
	if info.Wants == udf.BatchEdge {
		wants = batchEdge
	}
	if info.Provides == udf.BatchEdge {
		provides = batchEdge
	}
	in := recv.base().out
	if in != wants {
		// Kapacitor's linkChild wording (pipeline/node.go).
		return value{}, ast.Errorf(c.Method.Pos, "cannot add child mismatched edges: %s:%s -> %s%d:%s",
			recv.base().name, edgeWord2(in), name, len(b.nodes), edgeWord2(wants))
	}
	n := &udfNode{udfName: name, cfg: cfg, info: info, wants: wants,
		wake: make(chan struct{}, 1), quit: make(chan struct{})}
	spec := udfSpec(name, info, wants, provides)
	b.input = recv
	n.out = provides
	b.addNode(n, spec, c.Method.Pos)
	n.parent = recv
	recv.base().children = append(recv.base().children, n)
	return value{pos: c.Pos, node: n}, nil
}

// edgeWord2 is Kapacitor's name of an edge type.
func edgeWord2(e edge) string {
	if e == batchEdge {
		return "batch"
	}
	return "stream"
}

// udfSpec is the node kind of one UDF: its options are its properties,
// each taking any values, checked against the UDF's Info with Kapacitor's
// messages (udf.Info.CheckOption).
func udfSpec(name string, info udf.Info, wants, provides edge) *Spec {
	s := &Spec{Method: name, Kind: name, Doc: "user-defined function " + name + " (UDF)", Wants: wants, Provides: provides}
	names := make([]string, 0, len(info.Options))
	for o := range info.Options {
		names = append(names, o)
	}
	sort.Strings(names)
	for _, o := range names {
		o := o
		var types []string
		for _, t := range info.Options[o] {
			types = append(types, t.String())
		}
		s.Props = append(s.Props, &Prop{Name: o, Doc: "UDF option (" + strings.Join(types, ", ") + ")", Variadic: argAny,
			set: func(_ *binder, x node, at *ast.Chain, a []value) error {
				n := x.(*udfNode)
				opt := udf.Option{Name: o}
				for i, v := range a {
					uv, ok := udfValue(v)
					if !ok {
						return ast.Errorf(v.pos, "argument %d of .%s() must be a boolean, integer, float, string or duration, got %s", i+1, o, v.describe())
					}
					opt.Values = append(opt.Values, uv)
				}
				if err := n.info.CheckOption(opt); err != nil {
					return ast.Errorf(at.Method.Pos, "%v", err)
				}
				n.options = append(n.options, opt)
				return nil
			}})
	}
	if s.prop("quiet") == nil {
		s.Props = append(s.Props, &Prop{Name: "quiet", Doc: "do not log per-point errors",
			set: func(_ *binder, n node, _ *ast.Chain, _ []value) error { n.base().quiet = true; return nil }})
	}
	return s
}

// udfValue converts a script value to an option value.
func udfValue(v value) (udf.Value, bool) {
	if !v.isScalar {
		return udf.Value{}, false
	}
	switch v.scalar.Kind {
	case eval.Bool:
		return udf.BoolValue(v.scalar.Bool()), true
	case eval.Int:
		return udf.IntValue(v.scalar.Int()), true
	case eval.Float:
		return udf.DoubleValue(v.scalar.Float()), true
	case eval.String:
		return udf.StringValue(v.scalar.Str()), true
	case eval.Duration:
		return udf.DurationValue(v.scalar.Duration()), true
	}
	return udf.Value{}, false
}

// start starts the task's use of the UDF: Init with the script's options,
// Restore from Options.UDFRestore, and the delivery goroutine.
func (n *udfNode) start(t *Task) error {
	opts := udf.Options{
		OnPoint: func(p *udf.Point) { n.push(udfItem{p: p}) },
		OnBatch: func(b *udf.Batch) { n.push(udfItem{b: b}) },
		OnError: func(err error) { n.push(udfItem{err: err}) },
		Log:     func(line string) { t.logf("%s: udf %s: %s", n.name, n.udfName, strings.TrimSuffix(line, "\n")) },
	}
	c, err := udf.Start(n.udfName, n.cfg, opts)
	if err != nil {
		return err
	}
	if err := c.Init(t.name, n.name, n.options); err != nil {
		c.Abort()
		return err
	}
	if snap, ok := t.opts.UDFRestore[n.name]; ok {
		if err := c.Restore(snap); err != nil {
			c.Abort()
			return err
		}
	}
	n.client = c
	go n.deliver(t)
	return nil
}

// push queues what the UDF sent and wakes the delivery goroutine; it never
// waits for the task.
func (n *udfNode) push(it udfItem) {
	n.mu.Lock()
	n.inbox = append(n.inbox, it)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// deliver hands the queue to the children under the task's lock whenever
// the UDF has sent something, until the node is finished.
func (n *udfNode) deliver(t *Task) {
	for {
		select {
		case <-n.wake:
		case <-n.quit:
			return
		}
		t.mu.Lock()
		if !n.finished {
			n.drain(t)
			t.afterPoint()
		}
		t.mu.Unlock()
	}
}

// drain hands everything queued to the children; it is called with the
// task's lock held.
func (n *udfNode) drain(t *Task) {
	for {
		n.mu.Lock()
		items := n.inbox
		n.inbox = nil
		n.mu.Unlock()
		if len(items) == 0 {
			return
		}
		for _, it := range items {
			switch {
			case it.err != nil:
				t.fail(it.err)
			case t.err != nil:
				// The task has stopped: nothing more goes down.
			case it.p != nil:
				n.emit(n.fromUDF(it.p))
			case it.b != nil:
				n.emitBatch(n.batchFromUDF(it.b))
			}
		}
	}
}

func (n *udfNode) point(p *Point) {
	if n.client == nil || n.task.err != nil {
		return
	}
	n.send(n.client.WritePoint(n.toUDF(p)))
}

func (n *udfNode) batch(b *Batch) {
	if n.client == nil || n.task.err != nil {
		return
	}
	ub := &udf.Batch{Name: b.Name, Group: b.Group, Tags: udfTags(b.Tags), TMax: b.TMax,
		Dims: udf.Dimensions{ByName: b.Dims.ByName, TagNames: b.Dims.TagNames}, Points: make([]udf.Point, len(b.Points))}
	for i, p := range b.Points {
		ub.Points[i] = udf.Point{Name: b.Name, Timestamp: p.Timestamp, Tags: udfTags(p.Tags), Fields: udfFields(nil, p.Fields), Group: b.Group,
			Dims: ub.Dims}
	}
	n.send(n.client.WriteBatch(ub))
}

// send handles the result of a write: a failed UDF stops the task; a point
// the protocol cannot carry is counted on the node and dropped.
func (n *udfNode) send(err error) {
	if err == nil {
		return
	}
	if cerr := n.client.Err(); cerr != nil {
		n.task.fail(cerr)
		return
	}
	n.fail("cannot send to the UDF", err)
}

// toUDF converts p into the node's reused udf point (WritePoint borrows it).
func (n *udfNode) toUDF(p *Point) *udf.Point {
	q := &n.scratchP
	q.Name, q.Database, q.RP, q.Timestamp, q.Group = p.Name, p.Database, p.RP, p.Timestamp, p.Group
	q.Tags = q.Tags[:0]
	for _, t := range p.Tags {
		q.Tags = append(q.Tags, udf.Tag{Key: t.Key, Value: t.Value})
	}
	q.Fields = udfFields(q.Fields[:0], p.Fields)
	q.Dims = udf.Dimensions{ByName: p.Dims.ByName, TagNames: p.Dims.TagNames}
	return q
}

func udfTags(tags []Tag) []udf.Tag {
	out := make([]udf.Tag, len(tags))
	for i, t := range tags {
		out[i] = udf.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

// udfFields appends fields as UDF field values. A duration goes as a
// Duration value, which package udf refuses for the point (the protocol
// has no duration fields).
func udfFields(out []udf.Field, fields []Field) []udf.Field {
	for _, f := range fields {
		var v udf.Value
		switch f.Value.Kind {
		case eval.Float:
			v = udf.DoubleValue(f.Value.Float())
		case eval.Int:
			v = udf.IntValue(f.Value.Int())
		case eval.String:
			v = udf.StringValue(f.Value.Str())
		case eval.Bool:
			v = udf.BoolValue(f.Value.Bool())
		case eval.Duration:
			v = udf.DurationValue(f.Value.Duration())
		default:
			v = udf.StringValue(models.FormatValue(f.Value))
		}
		out = append(out, udf.Field{Key: f.Key, Value: v})
	}
	return out
}

// fromUDF converts a point the UDF sent into the node's scratch point; its
// group is recomputed from its dimensions.
func (n *udfNode) fromUDF(up *udf.Point) *Point {
	q := &n.scratch
	n.tags = n.tags[:0]
	for _, t := range up.Tags {
		n.tags = append(n.tags, Tag{Key: t.Key, Value: t.Value})
	}
	models.SortTags(n.tags)
	q.SetTags(n.tags...)
	n.fields = n.fields[:0]
	for _, f := range up.Fields {
		n.fields = append(n.fields, Field{Key: f.Key, Value: udfFieldValue(f.Value)})
	}
	n.fields = models.SortFields(n.fields)
	q.SetFields(n.fields...)
	q.Name, q.Database, q.RP, q.Timestamp = up.Name, up.Database, up.RP, up.Timestamp
	q.SetDims(Dimensions{ByName: up.Dims.ByName, TagNames: models.SortedDims(up.Dims.TagNames)})
	n.regroup(q)
	return q
}

// batchFromUDF converts a batch the UDF sent.
func (n *udfNode) batchFromUDF(ub *udf.Batch) *Batch {
	tags := make([]Tag, len(ub.Tags))
	names := make([]string, len(ub.Tags))
	for i, t := range ub.Tags {
		tags[i] = Tag{Key: t.Key, Value: t.Value}
		names[i] = t.Key
	}
	models.SortTags(tags)
	dims := Dimensions{ByName: ub.Dims.ByName, TagNames: models.SortedDims(names)}
	key := &Point{Name: ub.Name, Tags: tags, Dims: dims}
	out := &Batch{Name: ub.Name, Tags: tags, Dims: dims, TMax: ub.TMax, Group: n.task.groups.ID(key)}
	for i := range ub.Points {
		up := &ub.Points[i]
		p := &Point{Name: ub.Name, Timestamp: up.Timestamp, Dims: dims, Group: out.Group}
		for _, t := range up.Tags {
			p.Tags = append(p.Tags, Tag{Key: t.Key, Value: t.Value})
		}
		models.SortTags(p.Tags)
		for _, f := range up.Fields {
			p.Fields = append(p.Fields, Field{Key: f.Key, Value: udfFieldValue(f.Value)})
		}
		p.Fields = models.SortFields(p.Fields)
		out.Points = append(out.Points, p)
	}
	return out
}

// fieldValue converts a UDF field value.
func udfFieldValue(v udf.Value) eval.Value {
	switch v.Type {
	case udf.Bool:
		return eval.BoolValue(v.Bool)
	case udf.Int:
		return eval.IntValue(v.Int)
	case udf.Double:
		return eval.FloatValue(v.Double)
	case udf.Duration:
		return eval.DurationValue(v.Duration())
	}
	return eval.StringValue(v.Str)
}

// finish ends the UDF's input, waits for its last output (Close) and hands
// it on; a UDF that fails to end cleanly stops the task with its error.
func (n *udfNode) finish() {
	if n.client == nil || n.finished {
		return
	}
	err := n.client.Close()
	n.drain(n.task)
	n.finished = true
	close(n.quit)
	if err != nil && !errors.Is(err, udf.ErrClosed) {
		n.task.fail(err)
	}
}

// snapshot asks the UDF for its state; nil when it has no use running.
func (n *udfNode) snapshot() ([]byte, error) {
	if n.client == nil || n.finished {
		return nil, nil
	}
	return n.client.Snapshot()
}

// SnapshotUDFs asks the UDF of every UDF node of the task for its state
// (Kapacitor's snapshot of a task's UDFs, taken every [task]
// snapshot-interval), by node name ("movavg2"); Options.UDFRestore gives
// them back to a later Compile. A UDF that fails to answer stops the task
// and its error is returned.
func (t *Task) SnapshotUDFs() (map[string][]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return nil, t.err
	}
	out := map[string][]byte{}
	for _, x := range t.nodes {
		n, ok := x.(*udfNode)
		if !ok || n.client == nil || n.finished {
			continue
		}
		snap, err := n.snapshot()
		if err != nil {
			t.fail(err)
			return nil, err
		}
		out[n.name] = snap
	}
	return out, nil
}

// barrier: the protocol carries no barriers, and what the UDF emits comes
// on its own time; barriers stop here.
func (n *udfNode) barrier(barrierMsg) {}

var (
	_ batchNode       = (*udfNode)(nil)
	_ starter         = (*udfNode)(nil)
	_ finisher        = (*udfNode)(nil)
	_ barrierReceiver = (*udfNode)(nil)
)
