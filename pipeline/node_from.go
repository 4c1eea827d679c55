package pipeline

import (
	"errors"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/models"
)

// fromNode selects points by database, retention policy, measurement and
// condition, adjusts their time and sets their group (nodes.md §2).
type fromNode struct {
	nodeBase
	database, rp, measurement string
	where                     []*eval.Expr // ANDed; one instance for all groups
	dims                      Dimensions
	star                      bool // groupBy(*)
	truncate, round           time.Duration
	out                       Point    // shallow copy of the input: slices are shared read-only
	starDims                  []string // reused buffer for groupBy(*)
}

func init() {
	register(&Spec{
		Method: "from", Kind: "from", Doc: "selects points and sets their group",
		Wants: streamEdge, Provides: streamEdge,
		New: func(*binder, *ast.Chain, []value) (node, error) { return &fromNode{}, nil },
		Props: []*Prop{
			propString("measurement", "keep points of this measurement", func(n *fromNode, s string) error { n.measurement = s; return nil }),
			propString("database", "keep points written to this database", func(n *fromNode, s string) error { n.database = s; return nil }),
			propString("retentionPolicy", "keep points written to this retention policy", func(n *fromNode, s string) error { n.rp = s; return nil }),
			propLambda("where", "keep points for which the lambda is true; several are ANDed", eval.Bool, func(n *fromNode, l *compiled) error {
				n.where = append(n.where, l.lambda.New())
				return nil
			}),
			groupByProp("groupBy", func(n *fromNode) *Dimensions { return &n.dims }, func(n *fromNode) *bool { return &n.star }),
			propNone("groupByMeasurement", "include the measurement in the group", func(n *fromNode) { n.dims.ByName = true }),
			propDuration("truncate", "truncate point times to a multiple of the duration", func(n *fromNode, d time.Duration) error { n.truncate = d; return nil }),
			propDuration("round", "round point times to the nearest multiple of the duration", func(n *fromNode, d time.Duration) error { n.round = d; return nil }),
		},
	})
}

// groupByProp is the groupBy property of from and the argument handling of
// the groupBy node: tag names or one *, never both (nodes.md §7).
func groupByProp[N any](name string, dims func(*N) *Dimensions, star func(*N) *bool) *Prop {
	return &Prop{Name: name, Doc: "group by these tags, or * for all tags", Variadic: argStringOrStar,
		set: func(_ *binder, n node, at *ast.Chain, args []value) error {
			names, isStar, err := dimensionArgs(args)
			if err != nil {
				return positioned(at.Method.Pos, err)
			}
			d := dims(any(n).(*N))
			d.TagNames = names
			*star(any(n).(*N)) = isStar
			return nil
		}}
}

// dimensionArgs checks groupBy arguments.
func dimensionArgs(args []value) (names []string, star bool, err error) {
	for _, a := range args {
		if a.star {
			star = true
			continue
		}
		if a.scalar.Str() == "" {
			return nil, false, errors.New("dimensions must not be empty strings")
		}
		names = append(names, a.scalar.Str())
	}
	if star && len(names) > 0 {
		//lint:ignore ST1005 Kapacitor's wording (language.md §10)
		return nil, false, errors.New("cannot group by both '*' and named dimensions.")
	}
	return models.SortedDims(names), star, nil
}

func (n *fromNode) point(p *Point) {
	if n.database != "" && p.Database != n.database ||
		n.rp != "" && p.RP != n.rp ||
		n.measurement != "" && p.Name != n.measurement {
		return
	}
	for _, w := range n.where {
		ok, err := w.EvalBool(p)
		if err != nil {
			n.fail("failed to evaluate WHERE expression", err)
			return
		}
		if !ok {
			return
		}
	}
	// Only time, dimensions and group change, so a shallow copy suffices:
	// tags and fields stay the caller's, read-only (see node).
	q := &n.out
	*q = *p
	if n.truncate > 0 {
		q.Timestamp = q.TimeUTC().Truncate(n.truncate).UnixNano()
	}
	if n.round > 0 {
		q.Timestamp = q.TimeUTC().Round(n.round).UnixNano()
	}
	q.Dims = n.dims
	if n.star {
		n.starDims = n.starDims[:0]
		for _, t := range q.Tags {
			n.starDims = append(n.starDims, t.Key)
		}
		q.Dims.TagNames = n.starDims
	}
	n.regroup(q)
	n.emit(q)
}
