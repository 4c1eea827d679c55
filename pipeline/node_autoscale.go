package pipeline

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

// autoscaleNode is what k8sAutoscale, swarmAutoscale and ec2Autoscale
// share (Kapacitor autoscale.go): for each point (or point of a batch) it
// names the resource from its tags, learns the resource's replica count
// from the API the first time, evaluates .replicas(lambda) (with the
// current count in .currentField() if set), bounds it by .min() and .max(),
// and when it changed, and no cooldown of that direction is running
// (measured in data time), sets it through the API and emits a point with
// the fields old and new, the group tags and the resource's tags. The
// calls are made from the pipeline, as Kapacitor makes them; a failed one
// is logged on the node and the point dropped.
type autoscaleNode struct {
	nodeBase
	scaler           autoscaler
	min, max         int64
	increaseCooldown time.Duration
	decreaseCooldown time.Duration
	currentField     string
	replicas         *perGroup
	states           map[string]*resourceState
	counts           autoscaleCounts
	checkOnly        bool // compiled by tickrun check without a configuration
}

// autoscaleCounts are the node's statistics.
type autoscaleCounts struct {
	increase, decrease, cooldownDrops int64
}

// resourceState is what the node knows of one resource.
type resourceState struct {
	lastIncrease, lastDecrease int64
	increased, decreased       bool
	current                    int64
}

// autoscaler is one orchestrator's API.
type autoscaler interface {
	// resource names the resource of a point's tags; id keys its state.
	resource(tags []Tag) (r resource, err error)
	// replicas returns the resource's replica count.
	replicas(r resource) (int64, error)
	// setReplicas sets it.
	setReplicas(r resource, n int64) error
	// tag adds the resource's tags to an event point.
	tag(r resource, q *Point)
	// validate checks the node's properties of the orchestrator.
	validate() error
	// section is the kapacitor.conf section of the orchestrator's clusters.
	section() string
	// start connects to the API from the task's kapacitor.conf.
	start(t *Task) error
}

// resource is one scaled resource: a deployment, a service, a group.
type resource struct {
	id                    string // key of its state (Kapacitor's ID())
	namespace, kind, name string
}

// String names the resource in messages, as Kapacitor does.
func (r resource) String() string {
	if r.kind != "" {
		return r.namespace + "/" + r.kind + "/" + r.name
	}
	return r.name
}

// autoscaleProps are the properties every autoscale node has, then the
// orchestrator's own.
func autoscaleProps(own ...*Prop) []*Prop {
	return append([]*Prop{
		propString("currentField", "field that holds the current replica count for the lambda", func(n *autoscaleNode, s string) error { n.currentField = s; return nil }),
		propInt("max", "largest replica count (0: no limit)", func(n *autoscaleNode, i int64) error { n.max = i; return nil }),
		propInt("min", "smallest replica count (default 1)", func(n *autoscaleNode, i int64) error { n.min = i; return nil }),
		propDuration("increaseCooldown", "at most one increase per resource in this time", func(n *autoscaleNode, d time.Duration) error { n.increaseCooldown = d; return nil }),
		propDuration("decreaseCooldown", "at most one decrease per resource in this time", func(n *autoscaleNode, d time.Duration) error { n.decreaseCooldown = d; return nil }),
		propLambda("replicas", "the desired replica count (an integer)", eval.Missing, func(n *autoscaleNode, c *compiled) error {
			n.replicas = newPerGroup(c.lambda)
			return nil
		}),
	}, own...)
}

// scalerString is a string property of the orchestrator's part.
func scalerString[S autoscaler](name, doc string, set func(s S, v string)) *Prop {
	return propString(name, doc, func(n *autoscaleNode, v string) error { set(n.scaler.(S), v); return nil })
}

// autoscaleSpec registers an autoscale node kind.
func autoscaleSpec(method, kind, doc string, scaler func() autoscaler, own ...*Prop) {
	register(&Spec{
		Method: method, Kind: kind, Doc: doc, Wants: anyEdge, Provides: streamEdge,
		New: func(*binder, *ast.Chain, []value) (node, error) {
			return &autoscaleNode{scaler: scaler(), min: 1}, nil
		},
		Props: autoscaleProps(own...),
	})
}

// validate checks what every autoscale node needs, then the orchestrator's
// part.
func (n *autoscaleNode) validate() error {
	if err := n.scaler.validate(); err != nil {
		return err
	}
	if n.min < 1 {
		return fmt.Errorf("min must be >= 1, got %d", n.min)
	}
	if n.replicas == nil {
		return errors.New("must provide a replicas lambda expression")
	}
	return nil
}

func (n *autoscaleNode) start(t *Task) error {
	n.states = map[string]*resourceState{}
	if c := t.opts.Config; c != nil && c.Lenient && len(c.All(n.scaler.section())) == 0 {
		// tickrun check without a kapacitor.conf: any cluster will do.
		n.checkOnly = true
		return nil
	}
	return n.scaler.start(t)
}

func (n *autoscaleNode) point(p *Point) {
	if q := n.handle(p.Name, p.Dims, p.Group, p); q != nil {
		n.emit(q)
	}
}

func (n *autoscaleNode) batch(b *Batch) {
	for _, p := range b.Points {
		if q := n.handle(b.Name, b.Dims, b.Group, p); q != nil {
			n.emit(q)
		}
	}
}

// handle evaluates one point and returns the event point, if any.
func (n *autoscaleNode) handle(name string, dims Dimensions, group string, p *Point) *Point {
	if n.checkOnly {
		return nil
	}
	r, err := n.scaler.resource(p.Tags)
	if err != nil {
		n.fail("error handling point", err)
		return nil
	}
	st := n.states[r.id]
	if st == nil {
		cur, err := n.scaler.replicas(r)
		if err != nil {
			n.fail("error handling point", fmt.Errorf("could not determine initial scale for %q: %w", r.String(), err))
			return nil
		}
		st = &resourceState{current: cur}
		n.states[r.id] = st
	}
	want, err := n.eval(st.current, group, p)
	if err != nil {
		n.fail("error handling point", fmt.Errorf("failed to evaluate the replicas expression: %w", err))
		return nil
	}
	old := st.current
	if n.max > 0 && want > n.max {
		want = n.max
	}
	if want < n.min {
		want = n.min
	}
	if want == old {
		return nil
	}
	next := *st
	next.current = want
	t := p.Timestamp
	switch {
	case want > old:
		if next.increased && t < next.lastIncrease+int64(n.increaseCooldown) {
			n.counts.cooldownDrops++
			return nil
		}
		next.lastIncrease, next.increased = t, true
	default:
		if next.decreased && t < next.lastDecrease+int64(n.decreaseCooldown) {
			n.counts.cooldownDrops++
			return nil
		}
		next.lastDecrease, next.decreased = t, true
	}
	if err := n.scaler.setReplicas(r, want); err != nil {
		n.fail("error handling point", fmt.Errorf("failed to apply scaling event: failed to set new replica count for %q: %w", r.String(), err))
		return nil
	}
	*st = next
	if want > old {
		n.counts.increase++
	} else {
		n.counts.decrease++
	}
	q := &n.scratch
	var tags []Tag
	for _, d := range dims.TagNames {
		v, _ := p.Tag(d)
		tags = append(tags, Tag{Key: d, Value: v})
	}
	q.SetTags(tags...)
	n.scaler.tag(r, q)
	q.SetFields(Field{Key: "new", Value: eval.IntValue(want)}, Field{Key: "old", Value: eval.IntValue(old)})
	q.Name, q.Database, q.RP, q.Timestamp = name, "", "", t
	q.SetDims(dims)
	q.Group = group
	return q
}

// eval evaluates the replicas lambda, with the current count as a field
// when .currentField() is set.
func (n *autoscaleNode) eval(current int64, group string, p *Point) (int64, error) {
	scope := p
	if n.currentField != "" {
		q := p.Clone()
		q.SetField(n.currentField, eval.IntValue(current))
		scope = q
	}
	v, err := n.replicas.get(group).Eval(scope)
	if err != nil {
		return 0, err
	}
	if v.Kind != eval.Int {
		return 0, fmt.Errorf("expression returned unexpected type %s", goTypeName(v.Kind))
	}
	return v.Int(), nil
}

// readBody reads (a bounded part of) an answer's body.
func readBody(resp *http.Response) []byte {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return b
}

// autoscaleTimeout bounds each API call (Kapacitor's clients have none).
const autoscaleTimeout = 10 * time.Second

var (
	_ batchNode = (*autoscaleNode)(nil)
	_ starter   = (*autoscaleNode)(nil)
	_ validator = (*autoscaleNode)(nil)
)
