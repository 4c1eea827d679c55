package pipeline

import (
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

// stateNode is stateCount and stateDuration: per group, how long (in
// points or in time) the lambda has been true (nodes.md §11).
type stateNode struct {
	nodeBase
	cond     *perGroup
	duration bool // stateDuration, else stateCount
	as       string
	unit     time.Duration // stateDuration only
	groups   map[string]*stateRun
}

// stateRun is the current run of true points of one group.
type stateRun struct {
	count int64
	start int64 // time of the first point of the run
}

func init() {
	for _, dur := range []bool{false, true} {
		dur := dur
		s := &Spec{Method: "stateCount", Kind: "state_count", Doc: "counts consecutive points for which the lambda is true",
			Args: []argKind{argLambda}, Wants: anyEdge, Provides: anyEdge,
			New: func(b *binder, c *ast.Chain, args []value) (node, error) {
				l, err := b.compileLambda(args[0], eval.Bool)
				if err != nil {
					return nil, err
				}
				n := &stateNode{cond: newPerGroup(l.lambda), duration: dur, as: "state_count", unit: time.Second, groups: map[string]*stateRun{}}
				if dur {
					n.as = "state_duration"
				}
				return n, nil
			},
			Props: []*Prop{propString("as", "name of the output field", func(n *stateNode, s string) error { n.as = s; return nil })},
		}
		if dur {
			s.Method, s.Kind, s.Doc = "stateDuration", "state_duration", "measures how long the lambda has been true"
			s.Props = append(s.Props, propDuration("unit", "unit of the duration (default 1s)", func(n *stateNode, d time.Duration) error { n.unit = d; return nil }))
		}
		register(s)
	}
}

func (n *stateNode) point(p *Point) {
	ok, err := n.cond.get(p.Group).EvalBool(p)
	if err != nil {
		n.fail("error while evaluating expression", err)
		return
	}
	run := n.groups[p.Group]
	if run == nil {
		run = &stateRun{}
		n.groups[p.Group] = run
	}
	var v eval.Value
	switch {
	case !ok:
		run.count = 0
		if n.duration {
			v = eval.FloatValue(-1)
		} else {
			v = eval.IntValue(-1)
		}
	case n.duration:
		if run.count == 0 {
			run.start = p.Timestamp
		}
		run.count++
		v = eval.FloatValue(float64(p.Timestamp-run.start) / float64(n.unit))
	default:
		run.count++
		v = eval.IntValue(run.count)
	}
	q := &n.scratch
	q.CopyFrom(p)
	q.SetField(n.as, v)
	n.emit(q)
}
