package pipeline

import (
	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

// whereNode keeps the points for which its lambda is true (nodes.md §3).
type whereNode struct {
	nodeBase
	cond *perGroup
	out  Batch    // reused output batch
	kept []*Point // reused slice of kept points
}

func init() {
	register(&Spec{
		Method: "where", Kind: "where", Doc: "keeps points for which the lambda is true",
		Args: []argKind{argLambda}, Wants: anyEdge, Provides: anyEdge,
		New: func(b *binder, c *ast.Chain, args []value) (node, error) {
			l, err := b.compileLambda(args[0], eval.Bool)
			if err != nil {
				return nil, err
			}
			return &whereNode{cond: newPerGroup(l.lambda)}, nil
		},
	})
}

func (n *whereNode) point(p *Point) {
	ok, err := n.cond.get(p.Group).EvalBool(p)
	if err != nil {
		n.fail("error while evaluating expression", err)
		return
	}
	if ok {
		n.emit(p)
	}
}

// perGroup hands out one expression instance per group when the lambda
// keeps state (count(), sigma(), spread()), and one shared instance when it
// does not, so stateless lambdas cost no map lookup (lambda.md §10).
type perGroup struct {
	lambda *eval.Lambda
	shared *eval.Expr
	groups map[string]*eval.Expr
}

func newPerGroup(l *eval.Lambda) *perGroup {
	g := &perGroup{lambda: l}
	if l.Stateful() {
		g.groups = make(map[string]*eval.Expr)
	} else {
		g.shared = l.New()
	}
	return g
}

func (g *perGroup) get(group string) *eval.Expr {
	if g.shared != nil {
		return g.shared
	}
	e, ok := g.groups[group]
	if !ok {
		e = g.lambda.New()
		g.groups[group] = e
	}
	return e
}

// batch filters the points of a batch and forwards it, even when empty.
func (n *whereNode) batch(b *Batch) {
	e := n.cond.get(b.Group)
	out := &n.out
	*out = *b
	out.Points = n.kept[:0]
	for _, p := range b.Points {
		ok, err := e.EvalBool(p)
		if err != nil {
			n.fail("error while evaluating expression", err)
			continue
		}
		if ok {
			out.Points = append(out.Points, p)
		}
	}
	n.kept = out.Points
	n.emitBatch(out)
}

var _ batchNode = (*whereNode)(nil)
