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
	groups   groupTable[*stateRun]
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
				n := &stateNode{cond: newPerGroup(l.lambda), duration: dur, as: "state_count", unit: time.Second, groups: newGroupTable[*stateRun]()}
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
	run, ok := n.groups.lookup(p.Group, p.Timestamp)
	if !ok {
		run = &stateRun{}
		if !n.groups.add(&n.nodeBase, p.Group, p.Timestamp, run) {
			return
		}
	}
	if q := n.compute(p, run, &n.scratch); q != nil {
		n.emit(q)
	}
}

// batch tracks the state within each batch: it starts afresh at every
// batch (nodes.md §11).
func (n *stateNode) batch(b *Batch) {
	run := &stateRun{}
	n.emitEach(b, func(_ int, p *Point) *Point { return n.compute(p, run, &Point{}) })
}

// compute evaluates the lambda for p and returns p with the state field
// added, in q; nil when the lambda fails (the state is left unchanged).
func (n *stateNode) compute(p *Point, run *stateRun, q *Point) *Point {
	ok, err := n.cond.get(p.Group).EvalBool(p)
	if err != nil {
		n.fail("error while evaluating expression", err)
		return nil
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
	q.CopyFrom(p)
	q.SetField(n.as, v)
	return q
}

var _ batchNode = (*stateNode)(nil)

// expire releases the groups idle since cutoff when the user set an
// expiry (Options.GroupExpiry); their state is needed otherwise.
func (n *stateNode) expire(cutoff int64, explicit bool) int {
	if !explicit {
		return 0
	}
	return n.groups.expire(cutoff, func(string, *stateRun) bool { return true })
}

func (n *stateNode) cardinality() int { return n.groups.len() }

var _ expirer = (*stateNode)(nil)
