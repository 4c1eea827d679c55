package pipeline

import (
	"fmt"
	"math"
	"sort"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

// aggNode is an InfluxQL aggregate or selector (nodes.md §9): one output
// point per batch, or, on a stream, per run of points with the same time in
// a group.
type aggNode struct {
	nodeBase
	fn            *aggFunc
	field, as     string
	pct           float64 // percentile
	usePointTimes bool
	pending       sameTime     // stream input: the points of the current time per group
	vals          []eval.Value // reused per batch
	idx           []int
	times         []int64
}

// aggFunc is one InfluxQL function.
type aggFunc struct {
	name     string
	selector bool // output is a copy of the selected point
	anyKind  bool // also accepts strings and booleans
	// reduce returns the result from the values (all of one kind) and the
	// times of the points having the field; a selector returns the index of
	// the selected value. ok is false when nothing is emitted.
	reduce func(n *aggNode, vals []eval.Value, times []int64) (v eval.Value, sel int, ok bool)
}

var aggFuncs = []*aggFunc{
	{name: "count", anyKind: true, reduce: func(_ *aggNode, vals []eval.Value, _ []int64) (eval.Value, int, bool) {
		return eval.IntValue(int64(len(vals))), 0, true
	}},
	{name: "sum", reduce: func(_ *aggNode, vals []eval.Value, _ []int64) (eval.Value, int, bool) {
		if len(vals) > 0 && vals[0].Kind == eval.Int {
			var s int64
			for _, v := range vals {
				s += v.Int()
			}
			return eval.IntValue(s), 0, true
		}
		var s float64
		for _, v := range vals {
			s += v.Float()
		}
		return eval.FloatValue(s), 0, true
	}},
	{name: "mean", reduce: func(_ *aggNode, vals []eval.Value, _ []int64) (eval.Value, int, bool) {
		if len(vals) == 0 {
			return eval.Value{}, 0, false
		}
		var s float64
		for _, v := range vals {
			s += num(v)
		}
		return eval.FloatValue(s / float64(len(vals))), 0, true
	}},
	{name: "median", reduce: func(_ *aggNode, vals []eval.Value, _ []int64) (eval.Value, int, bool) {
		if len(vals) == 0 {
			return eval.Value{}, 0, false
		}
		f := floats(vals)
		sort.Float64s(f)
		if len(f)%2 == 1 {
			return eval.FloatValue(f[len(f)/2]), 0, true
		}
		return eval.FloatValue((f[len(f)/2-1] + f[len(f)/2]) / 2), 0, true
	}},
	{name: "mode", reduce: func(_ *aggNode, vals []eval.Value, _ []int64) (eval.Value, int, bool) {
		if len(vals) == 0 {
			return eval.Value{}, 0, false
		}
		sorted := append([]eval.Value(nil), vals...)
		sort.SliceStable(sorted, func(i, j int) bool { return num(sorted[i]) < num(sorted[j]) })
		best, bestN := sorted[0], 0
		for i := 0; i < len(sorted); {
			j := i
			for j < len(sorted) && num(sorted[j]) == num(sorted[i]) {
				j++
			}
			if j-i > bestN {
				best, bestN = sorted[i], j-i
			}
			i = j
		}
		return best, 0, true
	}},
	{name: "spread", reduce: func(_ *aggNode, vals []eval.Value, _ []int64) (eval.Value, int, bool) {
		if len(vals) == 0 {
			return eval.Value{}, 0, false
		}
		if vals[0].Kind == eval.Int {
			lo, hi := vals[0].Int(), vals[0].Int()
			for _, v := range vals {
				lo, hi = min(lo, v.Int()), max(hi, v.Int())
			}
			return eval.IntValue(hi - lo), 0, true
		}
		lo, hi := vals[0].Float(), vals[0].Float()
		for _, v := range vals {
			lo, hi = math.Min(lo, v.Float()), math.Max(hi, v.Float())
		}
		return eval.FloatValue(hi - lo), 0, true
	}},
	{name: "stddev", reduce: func(_ *aggNode, vals []eval.Value, _ []int64) (eval.Value, int, bool) {
		if len(vals) == 0 {
			return eval.Value{}, 0, false
		}
		if len(vals) < 2 {
			return eval.FloatValue(math.NaN()), 0, true
		}
		var mean float64
		for _, v := range vals {
			mean += num(v)
		}
		mean /= float64(len(vals))
		var ss float64
		for _, v := range vals {
			d := num(v) - mean
			ss += d * d
		}
		return eval.FloatValue(math.Sqrt(ss / float64(len(vals)-1))), 0, true
	}},
	{name: "first", selector: true, anyKind: true, reduce: func(_ *aggNode, vals []eval.Value, times []int64) (eval.Value, int, bool) {
		return pick(vals, times, func(i, j int) bool {
			return times[i] < times[j] || times[i] == times[j] && greater(vals[i], vals[j])
		})
	}},
	{name: "last", selector: true, anyKind: true, reduce: func(_ *aggNode, vals []eval.Value, times []int64) (eval.Value, int, bool) {
		return pick(vals, times, func(i, j int) bool {
			return times[i] > times[j] || times[i] == times[j] && greater(vals[i], vals[j])
		})
	}},
	{name: "min", selector: true, reduce: func(_ *aggNode, vals []eval.Value, times []int64) (eval.Value, int, bool) {
		return pick(vals, times, func(i, j int) bool {
			return num(vals[i]) < num(vals[j]) || num(vals[i]) == num(vals[j]) && times[i] < times[j]
		})
	}},
	{name: "max", selector: true, reduce: func(_ *aggNode, vals []eval.Value, times []int64) (eval.Value, int, bool) {
		return pick(vals, times, func(i, j int) bool {
			return num(vals[i]) > num(vals[j]) || num(vals[i]) == num(vals[j]) && times[i] < times[j]
		})
	}},
	{name: "percentile", selector: true, reduce: func(n *aggNode, vals []eval.Value, times []int64) (eval.Value, int, bool) {
		idx := make([]int, len(vals))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return num(vals[idx[a]]) < num(vals[idx[b]]) })
		i := int(math.Floor(float64(len(vals))*n.pct/100+0.5)) - 1
		if i < 0 || i >= len(vals) {
			return eval.Value{}, 0, false
		}
		return vals[idx[i]], idx[i], true
	}},
}

// pick returns the value that better ranks first.
func pick(vals []eval.Value, times []int64, better func(i, j int) bool) (eval.Value, int, bool) {
	if len(vals) == 0 {
		return eval.Value{}, 0, false
	}
	best := 0
	for i := 1; i < len(vals); i++ {
		if better(i, best) {
			best = i
		}
	}
	return vals[best], best, true
}

// num returns a numeric value as float64.
func num(v eval.Value) float64 {
	if v.Kind == eval.Int {
		return float64(v.Int())
	}
	return v.Float()
}

// greater orders values of one kind (for first/last ties).
func greater(a, b eval.Value) bool {
	switch a.Kind {
	case eval.String:
		return a.Str() > b.Str()
	case eval.Bool:
		return a.Bool() && !b.Bool()
	}
	return num(a) > num(b)
}

func floats(vals []eval.Value) []float64 {
	out := make([]float64, len(vals))
	for i, v := range vals {
		out[i] = num(v)
	}
	return out
}

func init() {
	for _, fn := range aggFuncs {
		fn := fn
		args := []argKind{argString}
		if fn.name == "percentile" {
			args = append(args, argFloat)
		}
		props := []*Prop{
			propString("as", "name of the output field (default: the function name)", func(n *aggNode, s string) error { n.as = s; return nil }),
		}
		if fn.selector {
			props = append(props, propNone("usePointTimes", "output the selected point's time instead of the batch time", func(n *aggNode) { n.usePointTimes = true }))
		} else {
			// Every InfluxQL node of Kapacitor has the property; an
			// aggregate selects no point, and tickrun keeps the batch time.
			props = append(props, propNone("usePointTimes", "accepted as on every InfluxQL node; an aggregate keeps the batch time", func(*aggNode) {}))
		}
		register(&Spec{
			Method: fn.name, Kind: fn.name, Doc: "InfluxQL " + fn.name + "()",
			Args: args, Wants: anyEdge, Provides: streamEdge, Props: props,
			New: func(_ *binder, _ *ast.Chain, a []value) (node, error) {
				n := &aggNode{fn: fn, field: a[0].scalar.Str(), as: fn.name, pending: sameTime{}}
				if fn.name == "percentile" {
					n.pct = a[1].scalar.Float()
				}
				return n, nil
			},
		})
	}
}

// point handles stream input: points of a group with the same time form a
// batch, emitted when a point with another time arrives (nodes.md §9).
func (n *aggNode) point(p *Point) { n.pending.add(p, n.batch) }

// batch aggregates one batch into one point.
func (n *aggNode) batch(b *Batch) {
	n.vals, n.idx, n.times = n.vals[:0], n.idx[:0], n.times[:0]
	if !fieldValues(&n.nodeBase, b, n.field, n.fn.name, n.fn.anyKind, func(i int, p *Point, v eval.Value) {
		n.vals = append(n.vals, v)
		n.idx = append(n.idx, i)
		n.times = append(n.times, p.Timestamp)
	}) {
		return
	}
	if len(n.vals) == 0 && n.fn.name != "count" && n.fn.name != "sum" {
		return
	}
	v, sel, ok := n.fn.reduce(n, n.vals, n.times)
	if !ok {
		return
	}
	q := &n.scratch
	if n.fn.selector {
		src := b.Points[n.idx[sel]]
		q.CopyFrom(src)
		if n.as != n.field {
			q.DeleteField(n.field)
		}
		q.SetField(n.as, v)
		if !n.usePointTimes {
			q.Timestamp = b.TMax
		}
	} else {
		q.SetFields(Field{Key: n.as, Value: v})
		q.SetTags(b.Tags...)
		q.Timestamp = b.TMax
	}
	q.Name, q.Database, q.RP = b.Name, "", ""
	q.SetDims(b.Dims)
	q.Group = b.Group
	n.emit(q)
}

var _ batchNode = (*aggNode)(nil)

// fieldValues calls keep for each point of b that has field with the kind
// of the first point having it (nodes.md §9); the other points are logged
// and skipped. It returns false, having logged it, when fn does not accept
// that kind: numbers always, strings and booleans when anyKind.
func fieldValues(n *nodeBase, b *Batch, field, fn string, anyKind bool, keep func(i int, p *Point, v eval.Value)) bool {
	kind := eval.Missing
	for i, p := range b.Points {
		v, ok := p.Field(field)
		if !ok {
			n.fail("cannot aggregate", fmt.Errorf("field %q missing from point", field))
			continue
		}
		if kind == eval.Missing {
			kind = v.Kind
			numeric := kind == eval.Float || kind == eval.Int
			if !numeric && !(anyKind && (kind == eval.String || kind == eval.Bool)) {
				n.fail("invalid influxql func", fmt.Errorf("%s does not accept %s values", fn, kind))
				return false
			}
		} else if v.Kind != kind {
			n.fail("cannot aggregate", fmt.Errorf("field %s has wrong type: got %s exp %s", field, goTypeName(v.Kind), goTypeName(kind)))
			continue
		}
		keep(i, p, v)
	}
	return true
}
