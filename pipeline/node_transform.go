package pipeline

import (
	"fmt"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

// transformNode is an InfluxQL stream transformation (nodes.md §9.4):
// difference, cumulativeSum, movingAverage or elapsed. Unlike aggregates it
// emits at most one point per input point, at that point's time, with the
// field <as> only and the group tags. State is kept per group for the
// whole stream; on batches it starts afresh at every batch and the results
// of one batch form one output batch.
type transformNode struct {
	nodeBase
	fn        *transformFunc
	field, as string
	window    int64         // movingAverage: number of points
	unit      time.Duration // elapsed: unit of the result
	groups    groupTable[*transformState]
}

// transformFunc is one transformation.
type transformFunc struct {
	name    string
	anyKind bool // also accepts strings and booleans (elapsed)
	// step adds the value v at time t to st and returns the result, if any.
	step func(n *transformNode, st *transformState, v eval.Value, t int64) (eval.Value, bool)
}

// transformState is the state of one group (or one batch).
type transformState struct {
	kind eval.Kind  // kind of the field, fixed by the group's first value
	has  bool       // a previous point was seen
	time int64      // time of the previous point
	val  eval.Value // value of the previous point (difference) or running sum (cumulativeSum)
	buf  []float64  // movingAverage: the last window values, a ring
	pos  int
	sum  float64
}

var transformFuncs = []*transformFunc{
	// difference: current minus previous value, nothing for the first
	// point; a point at the same time as the previous one is skipped
	// (InfluxDB's difference reducer keeps the first of equal times).
	{name: "difference", step: func(_ *transformNode, st *transformState, v eval.Value, t int64) (eval.Value, bool) {
		if st.has && st.time == t {
			return eval.Value{}, false
		}
		prev, ok := st.val, st.has
		st.has, st.time, st.val = true, t, v
		if !ok {
			return eval.Value{}, false
		}
		if v.Kind == eval.Int {
			return eval.IntValue(v.Int() - prev.Int()), true
		}
		return eval.FloatValue(v.Float() - prev.Float()), true
	}},
	// cumulativeSum: running sum, emitted from the first point on.
	{name: "cumulativeSum", step: func(_ *transformNode, st *transformState, v eval.Value, t int64) (eval.Value, bool) {
		switch {
		case !st.has:
			st.val = v
		case v.Kind == eval.Int:
			st.val = eval.IntValue(st.val.Int() + v.Int())
		default:
			st.val = eval.FloatValue(st.val.Float() + v.Float())
		}
		st.has, st.time = true, t
		return st.val, true
	}},
	// movingAverage: mean of the last window values, nothing until the
	// window is full.
	{name: "movingAverage", step: func(n *transformNode, st *transformState, v eval.Value, t int64) (eval.Value, bool) {
		f := num(v)
		if int64(len(st.buf)) < n.window {
			st.buf = append(st.buf, f)
		} else {
			st.sum -= st.buf[st.pos]
			st.buf[st.pos] = f
		}
		st.sum += f
		st.pos = (st.pos + 1) % int(n.window)
		if int64(len(st.buf)) < n.window {
			return eval.Value{}, false
		}
		return eval.FloatValue(st.sum / float64(len(st.buf))), true
	}},
	// elapsed: time since the previous point in whole units (an int),
	// nothing for the first point.
	{name: "elapsed", anyKind: true, step: func(n *transformNode, st *transformState, _ eval.Value, t int64) (eval.Value, bool) {
		prev, ok := st.time, st.has
		st.has, st.time = true, t
		if !ok {
			return eval.Value{}, false
		}
		return eval.IntValue((t - prev) / int64(n.unit)), true
	}},
}

func init() {
	for _, fn := range transformFuncs {
		fn := fn
		s := &Spec{
			Method: fn.name, Kind: fn.name, Doc: "InfluxQL " + fn.name + "(), one result per point",
			Args: []argKind{argString}, Wants: anyEdge, Provides: anyEdge,
			Props: []*Prop{
				propString("as", "name of the output field (default: the function name)", func(n *transformNode, s string) error { n.as = s; return nil }),
			},
			New: func(_ *binder, _ *ast.Chain, a []value) (node, error) {
				n := &transformNode{fn: fn, field: a[0].scalar.Str(), as: fn.name, groups: newGroupTable[*transformState]()}
				switch fn.name {
				case "movingAverage":
					n.window = a[1].scalar.Int()
					if n.window <= 0 {
						return nil, fmt.Errorf("movingAverage window must be a positive number of points, got %d", n.window)
					}
				case "elapsed":
					n.unit = a[1].scalar.Duration()
					if n.unit <= 0 {
						return nil, fmt.Errorf("elapsed unit must be positive, got %s", n.unit)
					}
				}
				return n, nil
			},
		}
		switch fn.name {
		case "movingAverage":
			s.Args = append(s.Args, argInt)
		case "elapsed":
			s.Args = append(s.Args, argDuration)
		}
		register(s)
	}
}

func (n *transformNode) point(p *Point) {
	st, ok := n.groups.lookup(p.Group, p.Timestamp)
	if !ok {
		st = &transformState{}
		if !n.groups.add(&n.nodeBase, p.Group, p.Timestamp, st) {
			return
		}
	}
	v, ok := n.step(p, st)
	if !ok {
		return
	}
	q := &n.scratch
	n.result(q, p, v)
	q.Name, q.Group = p.Name, p.Group
	q.SetDims(p.Dims)
	q.SetTags()
	for _, k := range p.Dims.TagNames {
		t, _ := p.Tag(k)
		q.AppendTag(Tag{Key: k, Value: t})
	}
	n.emit(q)
}

// batch transforms the points of one batch with a fresh state and emits
// the results as one batch with the same name, group and time.
func (n *transformNode) batch(b *Batch) {
	st := &transformState{}
	out := &Batch{Name: b.Name, Group: b.Group, Dims: b.Dims, Tags: b.Tags, TMax: b.TMax}
	for _, p := range b.Points {
		v, ok := n.step(p, st)
		if !ok {
			continue
		}
		q := &Point{Name: b.Name, Group: b.Group, Dims: b.Dims, Tags: b.Tags}
		n.result(q, p, v)
		out.Points = append(out.Points, q)
	}
	n.emitBatch(out)
}

// result sets q's time and its only field; the caller sets the rest.
func (n *transformNode) result(q *Point, p *Point, v eval.Value) {
	q.Timestamp = p.Timestamp
	q.Database, q.RP = "", ""
	q.SetFields(Field{Key: n.as, Value: v})
}

// step checks p's field and feeds it to the function.
func (n *transformNode) step(p *Point, st *transformState) (eval.Value, bool) {
	v, ok := p.Field(n.field)
	if !ok {
		n.fail("failed to aggregate point", fmt.Errorf("field %s missing from point cannot aggregate", n.field))
		return eval.Value{}, false
	}
	if st.kind == eval.Missing {
		numeric := v.Kind == eval.Float || v.Kind == eval.Int
		if !numeric && !(n.fn.anyKind && (v.Kind == eval.String || v.Kind == eval.Bool)) {
			n.fail("invalid influxql func", fmt.Errorf("%s with field %s: unsupported type %s", n.fn.name, n.field, goTypeName(v.Kind)))
			return eval.Value{}, false
		}
		st.kind = v.Kind
	} else if v.Kind != st.kind {
		n.fail("failed to aggregate point", fmt.Errorf("field %s has wrong type: got %s exp %s", n.field, goTypeName(v.Kind), goTypeName(st.kind)))
		return eval.Value{}, false
	}
	return n.fn.step(n, st, v, p.Timestamp)
}

var _ batchNode = (*transformNode)(nil)

// expire releases the groups idle since cutoff when the user set an
// expiry (Options.GroupExpiry); their state is needed otherwise.
func (n *transformNode) expire(cutoff int64, explicit bool) int {
	if !explicit {
		return 0
	}
	return n.groups.expire(cutoff, func(string, *transformState) bool { return true })
}

func (n *transformNode) cardinality() int { return n.groups.len() }

var _ expirer = (*transformNode)(nil)
