package pipeline

import "github.com/tickrun/tickrun/ast"

// deleteNode removes fields and tags (nodes.md §6).
type deleteNode struct {
	nodeBase
	fields, tags []string
}

func init() {
	register(&Spec{
		Method: "delete", Kind: "delete", Doc: "removes fields and tags",
		Wants: anyEdge, Provides: anyEdge,
		New: func(*binder, *ast.Chain, []value) (node, error) { return &deleteNode{}, nil },
		Props: []*Prop{
			propString("field", "remove the field", func(n *deleteNode, s string) error { n.fields = append(n.fields, s); return nil }),
			propString("tag", "remove the tag (and the dimension of that name)", func(n *deleteNode, s string) error { n.tags = append(n.tags, s); return nil }),
		},
	})
}

func (n *deleteNode) point(p *Point) {
	q := &n.scratch
	q.CopyFrom(p)
	n.apply(q)
	n.regroup(q)
	n.emit(q)
}

// batch deletes from the batch's tags and every point.
func (n *deleteNode) batch(b *Batch) {
	tp := &Point{}
	tp.CopyFrom(&Point{Name: b.Name, Dims: b.Dims, Tags: b.Tags})
	n.apply(tp)
	n.regroup(tp)
	out := &Batch{Name: b.Name, Group: tp.Group, Dims: tp.Dims, Tags: tp.Tags, TMax: b.TMax}
	for _, p := range b.Points {
		q := p.Clone()
		n.apply(q)
		n.regroup(q)
		out.Points = append(out.Points, q)
	}
	n.emitBatch(out)
}

// apply removes the fields and tags from q, which the node owns.
func (n *deleteNode) apply(q *Point) {
	for _, f := range n.fields {
		q.DeleteField(f)
	}
	for _, t := range n.tags {
		q.DeleteTag(t)
		for i, d := range q.Dims.TagNames {
			if d == t {
				q.Dims.TagNames = append(q.Dims.TagNames[:i], q.Dims.TagNames[i+1:]...)
				break
			}
		}
	}
}

var _ batchNode = (*deleteNode)(nil)
