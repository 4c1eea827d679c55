package pipeline

import "github.com/tickrun/tickrun/ast"

// shiftNode moves points and batches in time by a fixed duration, which may
// be negative (nodes.md §15). Nothing else changes.
type shiftNode struct {
	nodeBase
	shift int64 // ns
}

func init() {
	register(&Spec{
		Method: "shift", Kind: "shift", Doc: "shifts points and batches in time",
		Args: []argKind{argDuration}, Wants: anyEdge, Provides: anyEdge,
		New: func(_ *binder, _ *ast.Chain, a []value) (node, error) {
			return &shiftNode{shift: int64(a[0].scalar.Duration())}, nil
		},
	})
}

func (n *shiftNode) point(p *Point) {
	q := &n.scratch
	q.CopyFrom(p)
	q.Timestamp += n.shift
	n.emit(q)
}

// batch shifts the batch time and the time of every point.
func (n *shiftNode) batch(b *Batch) {
	out := &Batch{Name: b.Name, Group: b.Group, Dims: b.Dims, Tags: b.Tags, TMax: b.TMax + n.shift,
		Points: make([]*Point, len(b.Points))}
	for i, p := range b.Points {
		q := p.Clone()
		q.Timestamp += n.shift
		out.Points[i] = q
	}
	n.emitBatch(out)
}

var _ batchNode = (*shiftNode)(nil)
