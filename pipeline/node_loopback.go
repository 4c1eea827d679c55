package pipeline

import (
	"errors"
	"fmt"

	"github.com/tickrun/tickrun/ast"
)

// loopbackNode writes the points it gets back into Kapacitor's own stream
// (Kapacitor kapacitor_loopback.go), to .database() and
// .retentionPolicy(), optionally renamed and with static tags; the points
// of a batch go one by one, with the batch's name. It provides nothing.
//
// A server takes the points through Options.Loopback. Without it (tickrun
// run) they are written into the task's own input after the point being
// processed, where they reach the task if it reads that database and
// retention policy (no dbrp statement: it reads everything). Like
// Kapacitor, a loopback into one of the task's own dbrps is refused.
type loopbackNode struct {
	nodeBase
	db, rp, measurement string
	tags                []Tag
	written             int64
}

func init() {
	str := func(name, doc string, set func(n *loopbackNode, s string)) *Prop {
		return propString(name, doc, func(n *loopbackNode, s string) error { set(n, s); return nil })
	}
	register(&Spec{
		Method: "kapacitorLoopback", Kind: "kapacitor_loopback", Doc: "writes points back into the stream, to a database and retention policy",
		Wants: anyEdge, Provides: streamEdge,
		New: func(*binder, *ast.Chain, []value) (node, error) { return &loopbackNode{}, nil },
		Props: []*Prop{
			str("database", "database to write to", func(n *loopbackNode, s string) { n.db = s }),
			str("retentionPolicy", "retention policy to write to", func(n *loopbackNode, s string) { n.rp = s }),
			str("measurement", "measurement name (default: the point's)", func(n *loopbackNode, s string) { n.measurement = s }),
			{Name: "tag", Doc: "a static tag added to every point", Args: []argKind{argString, argString},
				set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
					n := x.(*loopbackNode)
					for i, t := range n.tags {
						if t.Key == a[0].scalar.Str() {
							n.tags[i].Value = a[1].scalar.Str()
							return nil
						}
					}
					n.tags = append(n.tags, Tag{Key: a[0].scalar.Str(), Value: a[1].scalar.Str()})
					return nil
				}},
		},
	})
}

// validate checks the node as Kapacitor does, at define and at start.
func (n *loopbackNode) validate() error {
	switch {
	case len(n.children) > 0:
		return fmt.Errorf("kapacitorLoopback provides nothing: %s cannot be chained on it", n.children[0].base().spec.Method)
	case n.db == "":
		return errors.New("must specify a database")
	case n.rp == "":
		return errors.New("must specify a retention policy")
	}
	for _, d := range n.task.dbrps {
		if d.Database == n.db && d.RP == n.rp {
			return fmt.Errorf("loop detected on dbrp: {%s %s}", d.Database, d.RP)
		}
	}
	return nil
}

// write hands q, owned by the node, to the stream. As in Kapacitor,
// .measurement() renames points, not the points of batches.
func (n *loopbackNode) write(q *Point, rename bool) {
	q.Database, q.RP = n.db, n.rp
	if rename && n.measurement != "" {
		q.Name = n.measurement
	}
	for _, t := range n.tags {
		q.SetTag(t.Key, t.Value)
	}
	q.SetDims(Dimensions{})
	q.Group = ""
	n.written++
	if f := n.task.opts.Loopback; f != nil {
		f(q)
		return
	}
	n.task.loop = append(n.task.loop, q)
}

func (n *loopbackNode) point(p *Point) { n.write(p.Clone(), true) }

func (n *loopbackNode) batch(b *Batch) {
	for _, p := range b.Points {
		q := p.Clone()
		q.Name = b.Name
		n.write(q, false)
	}
}

var (
	_ batchNode = (*loopbackNode)(nil)
	_ validator = (*loopbackNode)(nil)
)
