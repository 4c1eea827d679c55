package pipeline

import (
	"errors"
	"strings"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/alert"
)

// statsNode counts, per group, what the node it is chained on emits and
// reports the counts every interval (nodes.md §21): a point named "stats"
// with the int field "emitted" (cumulative count; a batch counts as one),
// the group tags and the interval boundary as time; a single nil-group
// point with emitted=0 while nothing was seen.
//
// Kapacitor's stats node ticks on wall-clock time. tickrun's clock is the
// data's: the times of the points written to the task (the stream), so a
// replay is reproducible. A statsClock edge on the stream advances it
// before each point goes down the pipeline; every interval boundary at or
// before the point's time is reported (a jump over several intervals
// reports each of them), then the point is counted. The first point starts
// the clock; nothing is reported at the end of the input. The clock never
// goes back for out-of-order points.
//
// With Options.WallClock (tickrun serve) the clock is Kapacitor's: the
// stream no longer advances it, Task.Tick does, with the wall-clock time.
type statsNode struct {
	nodeBase
	interval time.Duration
	align    bool  // boundaries at multiples of interval
	next     int64 // next boundary
	started  bool  // the clock has seen a point
	groups   map[string]*statsGroup
	order    []*statsGroup // in order of first message
	deadman  *alertNode    // deadman: the alert to move under this node (see validate)
}

// statsGroup is one group of the watched node's output.
type statsGroup struct {
	group   string
	tags    []Tag
	dims    Dimensions
	emitted int64
}

// statsClock is the stream's edge to a stats node: it advances the stats
// clock to each point's time.
type statsClock struct {
	nodeBase
	to *statsNode
}

func (c *statsClock) point(p *Point) {
	if !c.to.task.opts.WallClock {
		c.to.tick(p.Timestamp)
	}
}
func (c *statsClock) target() node { return c.to }

// deadmanDerivative is the derivative('emitted').unit(interval)
// .nonNegative() that deadman puts between its stats node and its alert
// (nodes.md §10, §12): per group the emitted count per interval since the
// previous report; the first report of a group only sets the baseline.
type deadmanDerivative struct {
	nodeBase
	unit time.Duration
	prev map[string][2]int64 // per group: count and time of the previous report
}

// derivativeSpec names deadman's internal derivative node (derivative3);
// it is not a chain method of its own here.
var derivativeSpec = &Spec{Method: "derivative", Kind: "derivative", Doc: "points per interval (deadman)", Wants: streamEdge, Provides: streamEdge}

// Deadman's default templates (Kapacitor services/deadman/config.go):
// NODE_NAME and INTERVAL are replaced by the watched node's name and the
// interval.
const (
	deadmanIDTemplate      = "{{ .Group }}:NODE_NAME for task '{{ .TaskName }}'"
	deadmanMessageTemplate = `{{ .ID }} is {{ if eq .Level "OK" }}alive{{ else }}dead{{ end }}: {{ index .Fields "emitted" | printf "%0.3f" }} points/INTERVAL.`
)

func init() {
	register(&Spec{
		Method: "stats", Kind: "stats", Doc: "reports how many points the node emitted, every interval of data time",
		Args: []argKind{argDuration}, Wants: anyEdge, Provides: streamEdge,
		New: func(b *binder, _ *ast.Chain, args []value) (node, error) {
			return newStats(b, args[0].scalar.Duration())
		},
		Props: []*Prop{
			propNone("align", "report at multiples of the interval", func(n *statsNode) { n.align = true }),
		},
	})
	alert := registry["alert"]
	if alert == nil {
		panic("pipeline: deadman registered before alert")
	}
	deadman := &Spec{
		Method: "deadman", Kind: "alert",
		Doc:  "alerts when the node emits at most threshold points per interval of data time",
		Args: []argKind{argFloat, argDuration}, Variadic: argLambda,
		Wants: anyEdge, Provides: streamEdge,
		New: newDeadman,
	}
	register(deadman)
	// Deadman returns an alert node: it takes the alert's properties,
	// shared after register, which would otherwise normalise them again.
	deadman.Props = alert.Props
}

func newStats(b *binder, interval time.Duration) (*statsNode, error) {
	if interval <= 0 {
		return nil, errors.New("stats interval must be positive")
	}
	n := &statsNode{interval: interval, groups: map[string]*statsGroup{}}
	// The clock goes first, so boundaries before a point are reported
	// before the point is counted.
	clock := &statsClock{to: n}
	clock.spec, clock.name = registry["stats"], "clock"
	b.stream.children = append([]node{clock}, b.stream.children...)
	return n, nil
}

// newDeadman builds stats(interval).align() |derivative('emitted')
// .unit(interval).nonNegative() |alert().crit(lambda: "emitted" <=
// threshold AND λ...) (nodes.md §12) and returns the alert, so alert
// properties follow. The binder chains the returned alert on the watched
// node; the stats node takes its place there in validate.
func newDeadman(b *binder, c *ast.Chain, args []value) (node, error) {
	threshold, interval := args[0].scalar.Float(), args[1].scalar.Duration()
	st, err := newStats(b, interval)
	if err != nil {
		return nil, err
	}
	st.align = true
	b.addNode(st, registry["stats"], c.Method.Pos)
	st.out = streamEdge
	dv := &deadmanDerivative{unit: interval, prev: map[string][2]int64{}}
	b.addNode(dv, derivativeSpec, c.Method.Pos)
	dv.out, dv.parent = streamEdge, st
	st.children = []node{dv}

	x, err := registry["alert"].New(b, c, nil)
	if err != nil {
		return nil, err
	}
	al := x.(*alertNode)
	al.idT = deadmanIDTemplate
	al.msgT = strings.ReplaceAll(deadmanMessageTemplate, "INTERVAL", interval.String())
	var cond ast.Expr = &ast.Binary{Pos: c.Method.Pos, OpPos: c.Method.Pos, Op: ast.OpLe,
		X: &ast.Reference{Pos: c.Method.Pos, Name: "emitted"}, Y: &ast.FloatLit{Pos: args[0].pos, Value: threshold, Raw: args[0].scalar.String()}}
	for _, a := range args[2:] {
		cond = &ast.Binary{Pos: c.Method.Pos, OpPos: a.pos, Op: ast.OpAnd, X: cond, Y: &ast.Paren{Pos: a.pos, X: a.lambda.src.Body}}
	}
	l, err := b.compileLambda(value{pos: c.Method.Pos, lambda: &compiled{src: &ast.Lambda{Pos: c.Method.Pos, Body: cond}}}, eval.Bool)
	if err != nil {
		return nil, err
	}
	al.levels[alert.Critical] = l.lambda.New()
	st.deadman = al
	return al, nil
}

// validate moves a deadman's alert from the watched node to the end of
// stats → derivative → alert, and names the watched node in the default id.
func (n *statsNode) validate() error {
	al := n.deadman
	if al == nil || al.parent == nil {
		return nil
	}
	wn := al.parent
	w := wn.base()
	for i, c := range w.children {
		if c == node(al) {
			w.children[i] = n
		}
	}
	n.parent = wn
	dv := n.children[0]
	dv.base().children = []node{al}
	al.parent = dv
	if al.idT == deadmanIDTemplate {
		al.idT = strings.ReplaceAll(deadmanIDTemplate, "NODE_NAME", w.name)
	}
	n.deadman = nil
	return nil
}

func (n *statsNode) count(p *Point) {
	g := n.groups[p.Group]
	if g == nil {
		g = &statsGroup{group: p.Group, tags: p.GroupTags(),
			dims: Dimensions{ByName: p.Dims.ByName, TagNames: append([]string(nil), p.Dims.TagNames...)}}
		n.groups[p.Group] = g
		n.order = append(n.order, g)
	}
	g.emitted++
}

func (n *statsNode) point(p *Point) { n.count(p) }

func (n *statsNode) batch(b *Batch) {
	n.count(&Point{Name: b.Name, Tags: b.Tags, Dims: b.Dims, Group: b.Group})
}

// tick advances the clock to t, reporting every boundary reached.
func (n *statsNode) tick(t int64) {
	if !n.started {
		n.started = true
		n.next = t + int64(n.interval)
		if n.align {
			n.next = time.Unix(0, t).Truncate(n.interval).Add(n.interval).UnixNano()
		}
		return
	}
	for t >= n.next {
		n.report(n.next)
		n.next += int64(n.interval)
	}
}

func (n *statsNode) report(at int64) {
	out := &n.scratch
	if len(n.order) == 0 {
		*out = Point{Name: "stats", Timestamp: at, Fields: append(out.Fields[:0], Field{Key: "emitted", Value: eval.IntValue(0)})}
		n.emit(out)
		return
	}
	for _, g := range n.order {
		*out = Point{Name: "stats", Timestamp: at, Tags: g.tags, Dims: g.dims,
			Fields: append(out.Fields[:0], Field{Key: "emitted", Value: eval.IntValue(g.emitted)})}
		n.regroup(out)
		n.emit(out)
	}
}

func (n *deadmanDerivative) point(p *Point) {
	v, _ := p.Field("emitted")
	cur := v.Int()
	prev, ok := n.prev[p.Group]
	n.prev[p.Group] = [2]int64{cur, p.Timestamp}
	elapsed := p.Timestamp - prev[1]
	if !ok || elapsed == 0 || cur < prev[0] {
		return
	}
	out := &n.scratch
	out.CopyFrom(p)
	out.SetField("emitted", eval.FloatValue(float64(cur-prev[0])/(float64(elapsed)/float64(n.unit))))
	n.emit(out)
}

var (
	_ batchNode = (*statsNode)(nil)
	_ validator = (*statsNode)(nil)
)
