package pipeline

import (
	"fmt"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/pipeline/models"
)

// multiParent is a node with several parents (union, join). The parent
// the node was chained on (`a|union(b, c)`: a) hands it messages through
// point and batch as index 0; every node given as an argument hands them
// through a parentEdge with its index, 1 and up.
type multiParent interface {
	node
	pointFrom(i int, p *Point)
	batchFrom(i int, b *Batch)
}

// parentEdge is the child a multi-parent node registers on each of its
// argument nodes: the runtime calls child.point(p) without saying which
// parent it is, so each edge remembers its parent's index.
type parentEdge struct {
	nodeBase
	to  multiParent
	idx int
}

func (e *parentEdge) point(p *Point) { e.to.pointFrom(e.idx, p) }
func (e *parentEdge) batch(b *Batch) { e.to.batchFrom(e.idx, b) }

// target is the node behind the edge, for graph printing.
func (e *parentEdge) target() node { return e.to }

var _ batchNode = (*parentEdge)(nil)

// nodeArgs checks that every argument of a multi-parent chain method is a
// node and returns them.
func nodeArgs(method string, args []value) ([]node, error) {
	out := make([]node, len(args))
	for i, a := range args {
		if a.node == nil {
			return nil, ast.Errorf(a.pos, "argument %d of %s() must be a node, got %s", i+1, method, a.describe())
		}
		out[i] = a.node
	}
	return out, nil
}

// connect registers an edge from every extra parent to n, with indexes
// from 1: the receiver is index 0.
func connect(n multiParent, extra []node) {
	for i, p := range extra {
		e := &parentEdge{to: n, idx: i + 1}
		e.spec, e.name = n.base().spec, "edge"
		p.base().children = append(p.base().children, e)
	}
}

// checkParentEdges reports parents that do not all provide the same edge
// kind, and batches when the node only takes points.
func checkParentEdges(method string, recv node, extra []node, wants edge) error {
	in := recv.base().out
	for _, p := range extra {
		out := p.base().out
		if wants == streamEdge && out == batchEdge {
			return fmt.Errorf("%s() needs points, but %s provides batches", method, p.base().name)
		}
		if out != in {
			return fmt.Errorf("all parents of %s() must provide the same kind of data: %s provides %s, %s provides %s",
				method, recv.base().name, edgeWord(in), p.base().name, edgeWord(out))
		}
	}
	return nil
}

func edgeWord(e edge) string {
	if e == batchEdge {
		return "batches"
	}
	return "points"
}

// unionNode merges its parents' messages in time order (nodes.md §19). Like
// Kapacitor's, it buffers per parent and forwards everything at or before
// the low-water mark (the oldest time each parent has shown) once every
// parent has sent something; at the end of the input it drains.
type unionNode struct {
	nodeBase
	rename string
	extra  []node        // parents given as arguments
	bufs   [][]unionItem // per parent, in arrival order
	marks  []int64       // per parent: time of its oldest buffered (or last seen) message
	seen   []bool        // per parent: has sent something
	free   models.PointPool
}

// unionItem is one buffered message: an owned point or batch.
type unionItem struct {
	t int64
	p *Point
	b *Batch
}

func init() {
	register(&Spec{
		Method: "union", Kind: "union", Doc: "merges several parents in time order",
		MinArgs: 1, Variadic: argAny, Wants: anyEdge, Provides: anyEdge,
		New: func(b *binder, c *ast.Chain, args []value) (node, error) {
			extra, err := nodeArgs("union", args)
			if err != nil {
				return nil, err
			}
			n := &unionNode{extra: extra}
			k := len(extra) + 1
			n.bufs, n.marks, n.seen = make([][]unionItem, k), make([]int64, k), make([]bool, k)
			connect(n, extra)
			return n, nil
		},
		Props: []*Prop{
			propString("rename", "measurement name of everything passing through", func(n *unionNode, s string) error { n.rename = s; return nil }),
		},
	})
}

func (n *unionNode) validate() error {
	return checkParentEdges("union", n.parent, n.extra, anyEdge)
}

func (n *unionNode) point(p *Point) { n.pointFrom(0, p) }
func (n *unionNode) batch(b *Batch) { n.batchFrom(0, b) }

func (n *unionNode) pointFrom(i int, p *Point) {
	c := n.free.CopyOf(p)
	if n.rename != "" {
		c.Name = n.rename
		if c.Dims.ByName {
			n.regroup(c)
		}
	}
	n.bufs[i] = append(n.bufs[i], unionItem{t: c.Timestamp, p: c})
	n.emitReady(false)
}

func (n *unionNode) batchFrom(i int, b *Batch) {
	c := cloneBatch(b)
	if n.rename != "" {
		c.Name = n.rename
	}
	n.bufs[i] = append(n.bufs[i], unionItem{t: c.TMax, b: c})
	n.emitReady(false)
}

// emitReady forwards what is at or before the low-water mark, parent by
// parent, until nothing more can go (Kapacitor union.go emitReady). When
// draining, parents with nothing buffered do not hold the others back.
func (n *unionNode) emitReady(drain bool) {
	for emitted := true; emitted; {
		emitted = false
		var mark int64
		haveMark, valid := false, 0
		for i, buf := range n.bufs {
			if len(buf) > 0 {
				n.marks[i], n.seen[i] = buf[0].t, true
				if !haveMark || buf[0].t < mark {
					mark, haveMark = buf[0].t, true
				}
			}
			if n.seen[i] {
				valid++
				if !drain && (!haveMark || n.marks[i] < mark) {
					mark, haveMark = n.marks[i], true
				}
			}
		}
		if !drain && valid != len(n.bufs) || !haveMark {
			return
		}
		for i, buf := range n.bufs {
			j := 0
			for ; j < len(buf) && buf[j].t <= mark; j++ {
				n.forward(buf[j])
				emitted = true
			}
			n.bufs[i] = append(buf[:0], buf[j:]...)
		}
	}
}

func (n *unionNode) forward(it unionItem) {
	if it.p != nil {
		n.emit(it.p)
		n.free.Put(it.p)
		return
	}
	n.emitBatch(it.b)
}

// finish drains every buffer in time order (Kapacitor's union drains when
// the task stops; nodes.md §0.3).
func (n *unionNode) finish() { n.emitReady(true) }

// cloneBatch returns a deep copy of b.
func cloneBatch(b *Batch) *Batch {
	c := *b
	c.Tags = append([]Tag(nil), b.Tags...)
	c.Dims.TagNames = append([]string(nil), b.Dims.TagNames...)
	c.Points = make([]*Point, len(b.Points))
	for i, p := range b.Points {
		c.Points[i] = p.Clone()
	}
	return &c
}

var (
	_ multiParent = (*unionNode)(nil)
	_ batchNode   = (*unionNode)(nil)
	_ finisher    = (*unionNode)(nil)
)
