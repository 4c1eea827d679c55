package pipeline

import (
	"fmt"
	"sort"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/models"
)

// multiSelectNode is an InfluxQL selector that yields a batch of points
// (nodes.md §9.3): distinct, top or bottom. Its input is a batch, or, on a
// stream, per group the run of points sharing a time, emitted when a point
// with another time arrives (like the aggregates of node_influxql.go).
type multiSelectNode struct {
	nodeBase
	fn            string // "distinct", "top" or "bottom"
	field, as     string
	num           int64    // top/bottom: how many points
	fieldsAndTags []string // top/bottom: keep one point per combination of these
	usePointTimes bool
	pending       sameTime // stream input: the points of the current time per group
}

// selected is one candidate of a batch.
type selected struct {
	p   *Point
	v   eval.Value
	key string // top/bottom: the fieldsAndTags values
}

func init() {
	for _, fn := range []string{"distinct", "top", "bottom"} {
		fn := fn
		s := &Spec{
			Method: fn, Kind: fn, Wants: anyEdge, Provides: batchEdge,
			Props: []*Prop{
				propString("as", "name of the output field (default: the function name)", func(n *multiSelectNode, s string) error { n.as = s; return nil }),
				propNone("usePointTimes", "output the selected points' times instead of the batch time", func(n *multiSelectNode) { n.usePointTimes = true }),
			},
		}
		switch fn {
		case "distinct":
			s.Doc = "InfluxQL distinct(): a batch of one point per distinct value"
			s.Args = []argKind{argString}
			s.New = func(_ *binder, _ *ast.Chain, a []value) (node, error) {
				return &multiSelectNode{fn: fn, field: a[0].scalar.Str(), as: fn, pending: sameTime{}}, nil
			}
		default:
			s.Doc = "InfluxQL " + fn + "(): a batch of the n " + map[string]string{"top": "largest", "bottom": "smallest"}[fn] + " points"
			s.Args = []argKind{argInt, argString}
			s.Variadic = argString
			s.New = func(_ *binder, _ *ast.Chain, a []value) (node, error) {
				n := &multiSelectNode{fn: fn, num: a[0].scalar.Int(), field: a[1].scalar.Str(), as: fn, pending: sameTime{}}
				if n.num <= 0 {
					return nil, fmt.Errorf("%s needs a positive number of points, got %d", fn, n.num)
				}
				for _, v := range a[2:] {
					n.fieldsAndTags = append(n.fieldsAndTags, v.scalar.Str())
				}
				return n, nil
			}
		}
		register(s)
	}
}

// point handles stream input: points of a group with the same time form a
// batch, selected when a point with another time arrives (nodes.md §9).
func (n *multiSelectNode) point(p *Point) { n.pending.add(p, n.batch) }

// batch selects points from one batch and emits them as a batch.
func (n *multiSelectNode) batch(b *Batch) {
	cands := n.collect(b)
	if len(cands) == 0 {
		return
	}
	if n.fn == "distinct" {
		cands = distinctValues(cands)
	} else {
		cands = n.topBottom(cands)
	}
	out := &Batch{Name: b.Name, Group: b.Group, Dims: b.Dims, Tags: b.Tags, TMax: b.TMax}
	for _, c := range cands {
		q := &Point{Name: b.Name, Group: b.Group, Dims: b.Dims, Timestamp: b.TMax, Fields: []Field{{Key: n.as, Value: c.v}}}
		if n.usePointTimes {
			q.Timestamp = c.p.Timestamp
		}
		out.TMax = max(out.TMax, q.Timestamp)
		q.Tags = b.Tags
		if n.fn != "distinct" {
			// Group tags merged with the selected point's own tags.
			q.Tags = append([]Tag(nil), c.p.Tags...)
			for _, t := range b.Tags {
				if _, ok := q.Tag(t.Key); !ok {
					q.SetTag(t.Key, t.Value)
				}
			}
		}
		out.Points = append(out.Points, q)
	}
	n.emitBatch(out)
}

// collect returns the points having the field with the kind of the first
// such point, logging the others.
func (n *multiSelectNode) collect(b *Batch) []selected {
	var cands []selected
	if !fieldValues(&n.nodeBase, b, n.field, n.fn, n.fn == "distinct", func(_ int, p *Point, v eval.Value) {
		cands = append(cands, selected{p: p, v: v})
	}) {
		return nil
	}
	return cands
}

// distinctValues keeps the first point of each value, ordered by time,
// equal times by value.
func distinctValues(cands []selected) []selected {
	seen := make(map[eval.Value]bool, len(cands))
	out := cands[:0:0]
	for _, c := range cands {
		if !seen[c.v] {
			seen[c.v] = true
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.p.Timestamp != b.p.Timestamp {
			return a.p.Timestamp < b.p.Timestamp
		}
		return lessValue(a.v, b.v)
	})
	return out
}

// lessValue orders values of one kind ascending (false before true).
func lessValue(a, b eval.Value) bool {
	switch a.Kind {
	case eval.String:
		return a.Str() < b.Str()
	case eval.Bool:
		return !a.Bool() && b.Bool()
	}
	return num(a) < num(b)
}

// topBottom keeps, when fieldsAndTags are given, the best point of each
// combination of their values, then the num best points (largest values
// for top, smallest for bottom, equal values: earlier first), ordered by
// time (InfluxDB's top/bottom).
func (n *multiSelectNode) topBottom(cands []selected) []selected {
	better := func(a, b selected) bool {
		if num(a.v) != num(b.v) {
			return (num(a.v) > num(b.v)) == (n.fn == "top")
		}
		return a.p.Timestamp < b.p.Timestamp
	}
	if len(n.fieldsAndTags) > 0 {
		best := map[string]int{}
		var out []selected
		for _, c := range cands {
			c.key = n.auxKey(c.p)
			i, ok := best[c.key]
			switch {
			case !ok:
				best[c.key] = len(out)
				out = append(out, c)
			case better(c, out[i]):
				out[i] = c
			}
		}
		cands = out
	} else {
		cands = append([]selected(nil), cands...)
	}
	sort.SliceStable(cands, func(i, j int) bool { return better(cands[i], cands[j]) })
	if int64(len(cands)) > n.num {
		cands = cands[:n.num]
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].p.Timestamp < cands[j].p.Timestamp })
	return cands
}

// auxKey renders the point's values of fieldsAndTags (a field, else a tag).
func (n *multiSelectNode) auxKey(p *Point) string {
	key := ""
	for i, name := range n.fieldsAndTags {
		if i > 0 {
			key += ","
		}
		if v, ok := p.Field(name); ok {
			key += models.FormatValue(v)
		} else if t, ok := p.Tag(name); ok {
			key += t
		}
	}
	return key
}

var _ batchNode = (*multiSelectNode)(nil)
