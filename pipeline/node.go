package pipeline

import (
	"fmt"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

// node is one runtime node of a task. The graph is a tree of plain method
// calls: a node handles a point and calls its children synchronously, with
// no goroutine or channel per node.
//
// Points are borrowed: a node may read the point it is given only during
// the call. Whatever it keeps it copies; whatever it changes it changes in
// a copy of its own (nodeBase.scratch), never in the point it was given.
type node interface {
	base() *nodeBase
	// point handles one point.
	point(p *Point)
}

// validator is implemented by nodes that check their configuration once
// the whole script is bound (Kapacitor's validate at define/enable time).
type validator interface {
	validate() error
}

// starter is implemented by nodes that prepare runtime state (templates,
// topics, handlers) once the task is built.
type starter interface {
	start(t *Task) error
}

// finisher is implemented by nodes that act at the end of the input.
type finisher interface {
	finish()
}

// nodeBase holds what every node has.
type nodeBase struct {
	spec     *Spec
	id       int
	name     string  // kind + id, e.g. "alert2"
	pos      ast.Pos // position of the chain method that created the node
	parent   node
	children []node
	task     *Task
	quiet    bool // .quiet(): do not log per-point errors
	errors   int64
	logged   int
	scratch  Point // a point this node may build and hand to its children
	out      edge  // what the node provides to its children
	// sent counts the points or batches handed to each child (by index),
	// for NodeStats: a node's collected is the sum over its parents.
	sent []int64
	// kinds are the field kinds known of the node's output while the
	// script is bound (fieldkinds.go), if kindsKnown.
	kinds      map[string]eval.Kind
	kindsKnown bool
	self       node // the node whose base this is
}

func (b *nodeBase) base() *nodeBase { return b }

// emit hands p to every child, in the order they were chained.
func (b *nodeBase) emit(p *Point) {
	for i, c := range b.children {
		b.sent[i]++
		c.point(p)
	}
}

// MaxLoggedErrors is how many per-point errors a node logs; the rest are
// only counted and shown in the summary, so bad data cannot flood stderr.
const MaxLoggedErrors = 20

// fail counts a per-point error and logs it with the node's name, as
// Kapacitor does (nodes.md §0.4); the point is dropped by the caller.
func (b *nodeBase) fail(msg string, err error, kv ...any) {
	b.errors++
	if b.task != nil {
		b.task.stats.NodeErrors++
	}
	if b.quiet || b.task == nil || b.task.opts.Log == nil {
		return
	}
	b.logged++
	if b.logged > MaxLoggedErrors {
		return
	}
	line := fmt.Sprintf("%s: %s: %v", b.name, msg, err)
	for i := 0; i+1 < len(kv); i += 2 {
		line += fmt.Sprintf(" %v=%v", kv[i], kv[i+1])
	}
	if b.logged == MaxLoggedErrors {
		line += " (further errors of this node are counted, not logged)"
	}
	b.task.logf("%s", line)
}

// regroup recomputes the group id of a point this node owns after its tags
// or dimensions changed.
func (b *nodeBase) regroup(p *Point) {
	p.Group = b.task.groups.ID(p)
}
