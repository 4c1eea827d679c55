package pipeline

import (
	"fmt"

	"github.com/tickrun/tickrun/ast"
)

// trickleNode turns batches into a stream (Kapacitor trickle.go): each
// point of a batch goes on as a point of its own, with the batch's name
// and dimensions, the point's tags, fields and time, and no database or
// retention policy. As in Kapacitor, only the first node chained on it
// gets the points.
type trickleNode struct {
	nodeBase
}

func init() {
	register(&Spec{
		Method: "trickle", Kind: "trickle", Doc: "turns batches into a stream of their points",
		Wants: batchEdge, Provides: streamEdge,
		New: func(b *binder, _ *ast.Chain, _ []value) (node, error) {
			if in := b.input.base(); in.out != batchEdge {
				// Kapacitor's edge check (pipeline/node.go).
				return nil, fmt.Errorf("cannot add child mismatched edges: %s:%s -> trickle%d:batch", in.name, edgeWord2(in.out), len(b.nodes))
			}
			return &trickleNode{}, nil
		},
	})
}

func (n *trickleNode) point(p *Point) {} // never: the binder wants batches

func (n *trickleNode) batch(b *Batch) {
	if len(n.children) == 0 {
		return
	}
	c := n.children[0]
	q := &n.scratch
	for _, p := range b.Points {
		q.CopyFrom(p)
		q.Name, q.Database, q.RP = b.Name, "", ""
		q.SetDims(b.Dims)
		n.regroup(q)
		n.sent[0]++
		c.point(q)
	}
}

var _ batchNode = (*trickleNode)(nil)
