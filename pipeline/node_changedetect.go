package pipeline

import (
	"errors"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

// changeDetectNode forwards a point when one of the listed fields differs
// from the last forwarded point of its group (nodes.md §17).
type changeDetectNode struct {
	nodeBase
	fields []string
	last   map[string]*changeLast
}

// changeLast holds the listed fields of the last forwarded point of a
// group, in the order of changeDetectNode.fields.
type changeLast struct {
	seen bool
	vals []eval.Value
	has  []bool
}

func init() {
	register(&Spec{
		Method: "changeDetect", Kind: "changeDetect", Doc: "forwards points whose listed fields changed",
		Variadic: argString, Wants: anyEdge, Provides: anyEdge,
		New: func(_ *binder, _ *ast.Chain, a []value) (node, error) {
			n := &changeDetectNode{last: map[string]*changeLast{}}
			for _, v := range a {
				n.fields = append(n.fields, v.scalar.Str())
			}
			return n, nil
		},
	})
}

func (n *changeDetectNode) point(p *Point) {
	st := n.last[p.Group]
	if st == nil {
		st = n.newLast()
		n.last[p.Group] = st
	}
	if n.changed(p, st) {
		n.emit(p)
	}
}

// batch filters the points of one batch; the state starts afresh at each
// batch (nodes.md §17).
func (n *changeDetectNode) batch(b *Batch) {
	st := n.newLast()
	out := &Batch{Name: b.Name, Group: b.Group, Dims: b.Dims, Tags: b.Tags, TMax: b.TMax}
	for _, p := range b.Points {
		if n.changed(p, st) {
			out.Points = append(out.Points, p)
		}
	}
	n.emitBatch(out)
}

func (n *changeDetectNode) newLast() *changeLast {
	return &changeLast{vals: make([]eval.Value, len(n.fields)), has: make([]bool, len(n.fields))}
}

// errChangeField is logged for a listed field a point lacks.
var errChangeField = errors.New("Invalid field in change detect") //lint:ignore ST1005 Kapacitor's wording (nodes.md §17)

// changed reports whether p is forwarded and, if so, records its values.
// Values compare by kind and content, so 3.0 and 3i differ; a field the
// point lacks is logged and ignored. With no fields nothing is forwarded.
func (n *changeDetectNode) changed(p *Point, st *changeLast) bool {
	if len(n.fields) == 0 {
		return false
	}
	diff := !st.seen
	for i, f := range n.fields {
		v, ok := p.Field(f)
		if !ok {
			n.fail("cannot detect change", errChangeField, "field", f)
			continue
		}
		if !st.has[i] || !v.Equal(st.vals[i]) {
			diff = true
		}
	}
	if !diff {
		return false
	}
	st.seen = true
	for i, f := range n.fields {
		st.vals[i], st.has[i] = p.Field(f)
	}
	return true
}

var _ batchNode = (*changeDetectNode)(nil)
