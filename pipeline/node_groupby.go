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
