package pipeline

import (
	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

// defaultNode fills in missing fields and missing or empty tags
// (nodes.md §5).
type defaultNode struct {
	nodeBase
	fields []Field
	tags   []Tag
}

func init() {
	register(&Spec{
		Method: "default", Kind: "default", Doc: "sets missing fields and tags",
		Wants: anyEdge, Provides: anyEdge,
		New: func(*binder, *ast.Chain, []value) (node, error) { return &defaultNode{}, nil },
		Props: []*Prop{
			{Name: "field", Doc: "set the field if the point lacks it", Args: []argKind{argString, argScalar},
				set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
					n := x.(*defaultNode)
					n.fields = append(n.fields, Field{Key: a[0].scalar.Str(), Value: a[1].scalar})
					return nil
				}},
			{Name: "tag", Doc: "set the tag if the point lacks it or it is empty", Args: []argKind{argString, argString},
				set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
					n := x.(*defaultNode)
					n.tags = append(n.tags, Tag{Key: a[0].scalar.Str(), Value: a[1].scalar.Str()})
					return nil
				}},
		},
	})
}

func (n *defaultNode) point(p *Point) {
	q := &n.scratch
	q.CopyFrom(p)
	n.apply(q)
	n.regroup(q)
	n.emit(q)
}

// batch defaults the batch's tags and every point.
func (n *defaultNode) batch(b *Batch) {
	out := &Batch{Name: b.Name, Dims: b.Dims, TMax: b.TMax}
	tp := &Point{Name: b.Name, Dims: b.Dims}
	tp.CopyFrom(&Point{Name: b.Name, Dims: b.Dims, Tags: b.Tags})
	for _, t := range n.tags {
		if v, ok := tp.Tag(t.Key); !ok || v == "" {
			tp.SetTag(t.Key, t.Value)
		}
	}
	out.Tags = tp.Tags
	// A batch's tags are its group (Kapacitor's BeginBatchMessage.SetTags):
	// a defaulted tag enters the dimensions, so a raw query's batch
	// becomes group dc=unknown.
	tp.Dims.TagNames = make([]string, len(tp.Tags))
	for i, t := range tp.Tags {
		tp.Dims.TagNames[i] = t.Key
	}
	out.Dims.TagNames = tp.Dims.TagNames
	n.regroup(tp)
	out.Group = tp.Group
	for _, p := range b.Points {
		q := p.Clone()
		n.apply(q)
		out.Points = append(out.Points, q)
	}
	n.emitBatch(out)
}

// apply sets the defaults on q, which the node owns.
func (n *defaultNode) apply(q *Point) {
	for _, f := range n.fields {
		if v, ok := q.Field(f.Key); !ok || v.Kind == eval.Missing {
			q.SetField(f.Key, f.Value)
		}
	}
	for _, t := range n.tags {
		if v, ok := q.Tag(t.Key); !ok || v == "" {
			q.SetTag(t.Key, t.Value)
		}
	}
}

var _ batchNode = (*defaultNode)(nil)
