package pipeline

import "github.com/tickrun/tickrun/ast"

// streamNode is the predefined source of a stream task: every point routed
// to the task reaches it and goes unchanged to each child (nodes.md §1).
type streamNode struct{ nodeBase }

func init() {
	register(&Spec{
		Method: "stream", Kind: "stream", Doc: "the source of a stream task",
		Wants: streamEdge, Provides: streamEdge,
		New: func(*binder, *ast.Chain, []value) (node, error) { return &streamNode{}, nil },
	})
}

func (n *streamNode) point(p *Point) { n.emit(p) }
