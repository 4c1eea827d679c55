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
	last   groupTable[*changeLast]
}

// changeLast holds the listed fields of the last forwarded point of a
// group, in the order of changeDetectNode.fields; has[i] is false for a
// field that point lacked, and for every field before the first forward.
type changeLast struct {
	vals []eval.Value
	has  []bool
}

func init() {
	register(&Spec{
		Method: "changeDetect", Kind: "changeDetect", Doc: "forwards points whose listed fields changed",
		Variadic: argString, Wants: anyEdge, Provides: anyEdge,
		New: func(_ *binder, _ *ast.Chain, a []value) (node, error) {
			n := &changeDetectNode{last: newGroupTable[*changeLast]()}
			for _, v := range a {
				n.fields = append(n.fields, v.scalar.Str())
			}
			return n, nil
		},
	})
}

func (n *changeDetectNode) point(p *Point) {
	st, ok := n.last.lookup(p.Group, p.Timestamp)
	if !ok {
		st = n.newLast()
		if !n.last.add(&n.nodeBase, p.Group, p.Timestamp, st) {
			return
		}
	}
	if n.changed(p, st) {
		n.emit(p)
	}
}

// batch filters the points of one batch; the state starts afresh at each
// batch (nodes.md §17).
func (n *changeDetectNode) batch(b *Batch) {
	st := n.newLast()
	n.emitEach(b, func(_ int, p *Point) *Point {
		if n.changed(p, st) {
			return p
		}
		return nil
	})
}

func (n *changeDetectNode) newLast() *changeLast {
	return &changeLast{vals: make([]eval.Value, len(n.fields)), has: make([]bool, len(n.fields))}
}

// errChangeField is logged for a listed field a point lacks.
var errChangeField = errors.New("Invalid field in change detect") //lint:ignore ST1005 Kapacitor's wording (nodes.md §17)

// changed reports whether p is forwarded and, if so, records its values.
// A listed field p has changed when the last forwarded point lacked it or
// had another value; values compare by kind and content, so 3.0 and 3i
// differ. A field p lacks is logged and ignored. So the first point of a
// group is forwarded if it has any listed field, and with no fields
// nothing is ever forwarded.
func (n *changeDetectNode) changed(p *Point, st *changeLast) bool {
	diff := false
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
	for i, f := range n.fields {
		st.vals[i], st.has[i] = p.Field(f)
	}
	return true
}

var _ batchNode = (*changeDetectNode)(nil)

// expire releases the groups idle since cutoff when the user set an
// expiry (Options.GroupExpiry); their state is needed otherwise.
func (n *changeDetectNode) expire(cutoff int64, explicit bool) int {
	if !explicit {
		return 0
	}
	return n.last.expire(cutoff, func(string, *changeLast) bool { return true })
}

func (n *changeDetectNode) cardinality() int { return n.last.len() }

var _ expirer = (*changeDetectNode)(nil)
