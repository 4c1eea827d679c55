package pipeline

import (
	"errors"
	"fmt"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

// derivativeNode computes the rate of change of a field between
// consecutive points of a group (nodes.md §10).
type derivativeNode struct {
	nodeBase
	field, as   string
	unit        time.Duration
	nonNegative bool
	prev        groupTable[*derivPrev] // per group, across the whole stream
}

// derivPrev is the previous point of a group that had a numeric value.
type derivPrev struct {
	ok    bool
	time  int64
	value float64
}

func init() {
	register(&Spec{
		Method: "derivative", Kind: "derivative", Doc: "computes the rate of change of a field per unit of time",
		Args: []argKind{argString}, Wants: anyEdge, Provides: anyEdge,
		New: func(_ *binder, _ *ast.Chain, a []value) (node, error) {
			f := a[0].scalar.Str()
			return &derivativeNode{field: f, as: f, unit: time.Second, prev: newGroupTable[*derivPrev]()}, nil
		},
		Props: []*Prop{
			propDuration("unit", "the rate is per this duration (default 1s)", func(n *derivativeNode, d time.Duration) error {
				if d <= 0 {
					return fmt.Errorf("derivative unit must be positive, got %s", d)
				}
				n.unit = d
				return nil
			}),
			propNone("nonNegative", "drop negative results", func(n *derivativeNode) { n.nonNegative = true }),
			propString("as", "name of the output field (default: the input field)", func(n *derivativeNode, s string) error { n.as = s; return nil }),
		},
	})
}

func (n *derivativeNode) point(p *Point) {
	st, ok := n.prev.lookup(p.Group, p.Timestamp)
	if !ok {
		st = &derivPrev{}
		if !n.prev.add(&n.nodeBase, p.Group, p.Timestamp, st) {
			return
		}
	}
	if q := n.compute(p, st, &n.scratch); q != nil {
		n.emit(q)
	}
}

// batch computes derivatives within one batch: the previous point starts
// afresh at every batch, so its first point yields nothing (nodes.md §10).
func (n *derivativeNode) batch(b *Batch) {
	st := &derivPrev{}
	n.emitEach(b, func(_ int, p *Point) *Point { return n.compute(p, st, &Point{}) })
}

// errElapsedZero is logged when two points of a group share a time.
var errElapsedZero = errors.New("elapsed time was 0")

// compute returns, in q, a copy of p carrying the derivative against the
// group's previous point, or nil when nothing is emitted; it updates st.
func (n *derivativeNode) compute(p *Point, st *derivPrev, q *Point) *Point {
	v, ok := p.Field(n.field)
	if !ok || v.Kind != eval.Float && v.Kind != eval.Int {
		n.fail("cannot perform derivative", fmt.Errorf("field %s is missing or not a number", n.field))
		return nil
	}
	cur := num(v)
	prev := *st
	*st = derivPrev{ok: true, time: p.Timestamp, value: cur}
	if !prev.ok {
		return nil
	}
	elapsed := p.Timestamp - prev.time
	if elapsed == 0 {
		n.fail("cannot perform derivative", errElapsedZero)
		return nil
	}
	diff := cur - prev.value
	if n.nonNegative && diff < 0 {
		return nil
	}
	q.CopyFrom(p)
	q.SetField(n.as, eval.FloatValue(diff/(float64(elapsed)/float64(n.unit))))
	return q
}

var _ batchNode = (*derivativeNode)(nil)

// expire releases the groups idle since cutoff when the user set an
// expiry (Options.GroupExpiry); their state is needed otherwise.
func (n *derivativeNode) expire(cutoff int64, explicit bool) int {
	if !explicit {
		return 0
	}
	return n.prev.expire(cutoff, func(string, *derivPrev) bool { return true })
}

func (n *derivativeNode) cardinality() int { return n.prev.len() }

var _ expirer = (*derivativeNode)(nil)
