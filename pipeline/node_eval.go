package pipeline

import (
	"errors"
	"fmt"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

// evalNode computes new fields or tags from lambdas (nodes.md §4,
// lambda.md §9).
type evalNode struct {
	nodeBase
	lambdas  []*eval.Lambda
	exprs    *evalGroups
	as       []string
	tags     map[string]bool
	keep     bool
	keepList []string
	results  []eval.Value // reused per point
	scope    evalScope
}

func init() {
	register(&Spec{
		Method: "eval", Kind: "eval", Doc: "computes fields from lambdas",
		Variadic: argLambda, Wants: anyEdge, Provides: anyEdge,
		New: func(b *binder, c *ast.Chain, args []value) (node, error) {
			n := &evalNode{}
			for _, a := range args {
				l, err := b.compileLambda(a, eval.Missing)
				if err != nil {
					return nil, err
				}
				n.lambdas = append(n.lambdas, l.lambda)
			}
			return n, nil
		},
		Props: []*Prop{
			propStrings("as", "names of the results, one per lambda", func(n *evalNode, s []string) error { n.as = s; return nil }),
			propStrings("tags", "results that become tags", func(n *evalNode, s []string) error {
				n.tags = map[string]bool{}
				for _, t := range s {
					n.tags[t] = true
				}
				return nil
			}),
			{Name: "keep", Doc: "keep the original fields (all, or only the listed ones)", Variadic: argString,
				set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
					n := x.(*evalNode)
					n.keep = true
					n.keepList = nil
					for _, v := range a {
						n.keepList = append(n.keepList, v.scalar.Str())
					}
					return nil
				}},
		},
	})
}

func (n *evalNode) validate() error {
	if len(n.as) != len(n.lambdas) {
		//lint:ignore ST1005 Kapacitor's wording (language.md §10)
		return fmt.Errorf("must specify same number of expressions and .as() names: got %d as names, and %d expressions.", len(n.as), len(n.lambdas))
	}
	for t := range n.tags {
		found := false
		for _, a := range n.as {
			found = found || a == t
		}
		if !found {
			// Kapacitor's wording, typo included (pipeline/eval.go validate).
			return fmt.Errorf("invalid tag name %q, name is not present is .as() names", t)
		}
	}
	n.exprs = newEvalGroups(n.lambdas)
	n.results = make([]eval.Value, len(n.lambdas))
	return nil
}

// evalScope is the scope of expression i: the point first, then the results
// of earlier expressions of the same node. A point field wins over an
// earlier result of the same name (Kapacitor's refill quirk, lambda.md §9).
type evalScope struct {
	p       *Point
	as      []string
	results []eval.Value
	n       int // results available
}

func (s *evalScope) Lookup(name string) (eval.Value, error) {
	v, err := s.p.Lookup(name)
	if err != nil || v.Kind != eval.Missing {
		return v, err
	}
	for i := s.n - 1; i >= 0; i-- {
		if s.as[i] == name {
			return s.results[i], nil
		}
	}
	return v, nil
}

// LookupHint implements eval.Scope: the point's fields through the hint,
// then earlier results.
func (s *evalScope) LookupHint(name string, hint *int) (eval.Value, error) {
	v, err := s.p.LookupHint(name, hint)
	if err != nil || v.Kind != eval.Missing {
		return v, err
	}
	return s.Lookup(name)
}

// LookupField implements eval.Scope: a field of the point comes before
// earlier results, as in LookupHint.
func (s *evalScope) LookupField(name string, hint *int) *eval.Value {
	return s.p.LookupField(name, hint)
}

func (s *evalScope) Time() int64 { return s.p.Timestamp }

var errTagType = errors.New("result of a tag expression must be of type string")

func (n *evalNode) point(p *Point) {
	if q := n.compute(p, &n.scratch); q != nil {
		n.emit(q)
	}
}

// batch evaluates every point of a batch; points that fail are dropped.
func (n *evalNode) batch(b *Batch) {
	n.emitEach(b, func(_ int, p *Point) *Point { return n.compute(p, &Point{}) })
}

// compute evaluates the lambdas over p into q, or returns nil when an
// expression fails (the point is dropped).
func (n *evalNode) compute(p *Point, q *Point) *Point {
	exprs := n.exprs.get(p.Group)
	n.scope = evalScope{p: p, as: n.as, results: n.results}
	for i, e := range exprs {
		n.scope.n = i
		v, err := e.Eval(&n.scope)
		if err != nil {
			n.fail("error evaluating expression", err)
			return nil
		}
		if v.Kind == eval.Missing {
			n.fail("error evaluating expression", fmt.Errorf("missing value: %q", n.as[i]))
			return nil
		}
		n.results[i] = v
	}
	q.CopyFrom(p)
	switch {
	case !n.keep:
		q.Fields = q.Fields[:0]
	case len(n.keepList) > 0:
		q.Fields = q.Fields[:0]
		for _, k := range n.keepList {
			v, ok := n.result(k)
			if !ok {
				v, ok = p.Field(k)
			}
			if !ok {
				n.fail("error evaluating expression", fmt.Errorf("cannot keep field %q, field does not exist", k))
				return nil
			}
			q.SetField(k, v)
		}
	}
	for i, name := range n.as {
		v := n.results[i]
		if n.tags[name] {
			if v.Kind != eval.String {
				n.fail("error evaluating expression", fmt.Errorf("%w, got %s", errTagType, goTypeName(v.Kind)))
				return nil
			}
			q.SetTag(name, v.Str())
			if !n.keep || len(n.keepList) > 0 {
				continue
			}
		}
		if n.keep && len(n.keepList) > 0 {
			continue
		}
		q.SetField(name, v)
	}
	n.regroup(q)
	return q
}

func (n *evalNode) result(name string) (eval.Value, bool) {
	for i, a := range n.as {
		if a == name {
			return n.results[i], true
		}
	}
	return eval.Value{}, false
}

// goTypeName is the Go type Kapacitor names in some messages.
func goTypeName(k eval.Kind) string {
	switch k {
	case eval.Float:
		return "float64"
	case eval.Int:
		return "int64"
	case eval.Bool:
		return "bool"
	case eval.Duration:
		return "time.Duration"
	case eval.Time:
		return "time.Time"
	}
	return k.String()
}

// evalGroups holds the expression instances of an eval node: per group if
// any lambda keeps state, else one shared set.
type evalGroups struct {
	lambdas  []*eval.Lambda
	shared   []*eval.Expr
	perGroup map[string][]*eval.Expr
}

func newEvalGroups(ls []*eval.Lambda) *evalGroups {
	g := &evalGroups{lambdas: ls}
	stateful := false
	for _, l := range ls {
		stateful = stateful || l.Stateful()
	}
	if stateful {
		g.perGroup = map[string][]*eval.Expr{}
	} else {
		g.shared = g.instances()
	}
	return g
}

func (g *evalGroups) instances() []*eval.Expr {
	out := make([]*eval.Expr, len(g.lambdas))
	for i, l := range g.lambdas {
		out[i] = l.New()
	}
	return out
}

func (g *evalGroups) get(group string) []*eval.Expr {
	if g.perGroup == nil {
		return g.shared
	}
	e, ok := g.perGroup[group]
	if !ok {
		e = g.instances()
		g.perGroup[group] = e
	}
	return e
}

var _ batchNode = (*evalNode)(nil)
