package pipeline

import (
	"errors"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

// sampleNode keeps every n-th point of a group, or the points whose time is
// an exact multiple of a duration (nodes.md §16).
type sampleNode struct {
	nodeBase
	count  int64         // sample(n): keep the 1st, (n+1)th, ... point
	every  time.Duration // sample(d): keep points at multiples of d
	counts map[string]int64
}

func init() {
	register(&Spec{
		Method: "sample", Kind: "sample", Doc: "keeps every n-th point, or the points at multiples of a duration",
		Args: []argKind{argIntOrDuration}, Wants: anyEdge, Provides: anyEdge,
		New: func(_ *binder, _ *ast.Chain, a []value) (node, error) {
			n := &sampleNode{counts: map[string]int64{}}
			if v := a[0].scalar; v.Kind == eval.Int {
				n.count = v.Int()
			} else {
				n.every = v.Duration()
			}
			if n.count <= 0 && n.every <= 0 {
				return nil, errSampleRate
			}
			return n, nil
		},
	})
}

// errSampleRate is Kapacitor's error for a zero or negative rate.
var errSampleRate = errors.New("invalid sample rate: must be positive integer or duration")

func (n *sampleNode) point(p *Point) {
	c := n.counts[p.Group]
	n.counts[p.Group] = c + 1
	if n.keep(c, p.Timestamp) {
		n.emit(p)
	}
}

// batch samples the points of one batch; the count starts afresh at each
// batch (nodes.md §16).
func (n *sampleNode) batch(b *Batch) {
	n.emitEach(b, func(i int, p *Point) *Point {
		if n.keep(int64(i), p.Timestamp) {
			return p
		}
		return nil
	})
}

// keep reports whether the point numbered c (from 0) at time t is kept.
func (n *sampleNode) keep(c, t int64) bool {
	if n.every > 0 {
		return time.Unix(0, t).Truncate(n.every).UnixNano() == t
	}
	return c%n.count == 0
}

var _ batchNode = (*sampleNode)(nil)
