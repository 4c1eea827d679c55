package pipeline

import (
	"errors"

	"github.com/tickrun/tickrun/ast"
)

// groupByNode sets the dimensions of each point (nodes.md §7).
type groupByNode struct {
	nodeBase
	dims     Dimensions
	star     bool
	exclude  map[string]bool
	out      Point
	starDims []string

	pending     map[string]*Batch // batch input: regrouped batches of pendingTime
	order       []string          // groups of pending in order of appearance
	pendingTime int64
}

func init() {
	register(&Spec{
		Method: "groupBy", Kind: "groupby", Doc: "groups points by tags",
		Variadic: argStringOrStar, Wants: anyEdge, Provides: anyEdge,
		New: func(_ *binder, _ *ast.Chain, args []value) (node, error) {
			names, star, err := dimensionArgs(args)
			if err != nil {
				return nil, err
			}
			return &groupByNode{dims: Dimensions{TagNames: names}, star: star}, nil
		},
		Props: []*Prop{
			propStrings("exclude", "with *: tags not to group by", func(n *groupByNode, s []string) error {
				if !n.star {
					return errors.New("exclude requires '*'")
				}
				n.exclude = map[string]bool{}
				for _, x := range s {
					n.exclude[x] = true
				}
				return nil
			}),
			propNone("byMeasurement", "include the measurement in the group", func(n *groupByNode) { n.dims.ByName = true }),
		},
	})
}

func (n *groupByNode) point(p *Point) {
	q := &n.out
	*q = *p // shallow: only dimensions and group change
	q.Dims = n.dims
	q.Dims.ByName = n.dims.ByName || p.Dims.ByName // sticky
	if n.star {
		n.starDims = n.starDims[:0]
		for _, t := range q.Tags {
			if !n.exclude[t.Key] {
				n.starDims = append(n.starDims, t.Key)
			}
		}
		q.Dims.TagNames = n.starDims
	}
	n.regroup(q)
	n.emit(q)
}

// batch regroups the points of batches: points go to one batch per new
// group; batches of the same time are merged and emitted when a batch with
// another time arrives (nodes.md §7). Like Kapacitor, the last time is not
// emitted at the end of the input.
func (n *groupByNode) batch(b *Batch) {
	if n.pending != nil && b.TMax != n.pendingTime {
		n.flushBatches()
	}
	if n.pending == nil {
		n.pending = map[string]*Batch{}
	}
	n.pendingTime = b.TMax
	for _, p := range b.Points {
		q := p.Clone()
		q.Dims = n.dims
		q.Dims.ByName = n.dims.ByName || b.Dims.ByName
		if n.star {
			q.Dims.TagNames = nil
			for _, t := range q.Tags {
				if !n.exclude[t.Key] {
					q.Dims.TagNames = append(q.Dims.TagNames, t.Key)
				}
			}
		} else {
			q.Dims.TagNames = append([]string(nil), n.dims.TagNames...)
		}
		n.regroup(q)
		out, ok := n.pending[q.Group]
		if !ok {
			out = &Batch{Name: b.Name, Group: q.Group, Dims: q.Dims, Tags: q.GroupTags(), TMax: b.TMax}
			n.pending[q.Group] = out
			n.order = append(n.order, q.Group)
		}
		out.Points = append(out.Points, q)
	}
}

func (n *groupByNode) flushBatches() {
	for _, g := range n.order {
		n.emitBatch(n.pending[g])
	}
	n.pending, n.order = nil, nil
}

var _ batchNode = (*groupByNode)(nil)
