package pipeline

import (
	"sync/atomic"

	"github.com/tickrun/tickrun/eval"
)

// Field kinds known at bind time. A lambda's references are fields whose
// kind is usually unknown until points arrive, but some nodes fix them: an
// eval's results, an aggregate's output, stateCount's counter. Knowing them
// lets the checker find type errors Kapacitor only finds per point, such as
// `"mean" + 'x'` after |mean(). This is checking only; it changes nothing
// at run time.

// fieldKinder is implemented by nodes whose output fields have kinds known
// at bind time; given the kinds known of their input, they return those of
// their output (nil: nothing known). Nodes that do not implement it pass
// their input's knowledge through.
type fieldKinder interface {
	fieldKinds(in map[string]eval.Kind) map[string]eval.Kind
}

// knownFields returns the field kinds known of n's output. The result is
// kept on the node (binding stays linear in the length of a chain) until a
// property of the node or of an ancestor changes (forgetKinds).
func knownFields(n node) map[string]eval.Kind {
	if n == nil {
		return nil
	}
	nb := n.base()
	if nb.kindsKnown {
		return nb.kinds
	}
	kindsComputed.Add(1)
	var in map[string]eval.Kind
	if p := nb.parent; p != nil {
		in = knownFields(p)
	}
	var out map[string]eval.Kind
	if k, ok := n.(fieldKinder); ok {
		out = k.fieldKinds(in)
	} else {
		switch n.(type) {
		case *streamNode, *fromNode:
		default:
			out = in
		}
	}
	nb.kinds, nb.kindsKnown = out, true
	return out
}

// kindsComputed counts what knownFields computed (not kept), for the test
// that binding is linear in the length of a chain.
var kindsComputed atomic.Int64

// forgetKinds drops what knownFields kept of n and its descendants: a
// property of n was set.
func forgetKinds(n node) {
	nb := n.base()
	if !nb.kindsKnown {
		return
	}
	nb.kindsKnown, nb.kinds = false, nil
	for _, c := range nb.children {
		forgetKinds(target(c).self)
	}
}

func (n *evalNode) fieldKinds(in map[string]eval.Kind) map[string]eval.Kind {
	out := map[string]eval.Kind{}
	if n.keep && len(n.keepList) == 0 {
		for k, v := range in {
			out[k] = v
		}
	}
	for i, l := range n.lambdas {
		if i >= len(n.as) || n.tags[n.as[i]] && !n.keep {
			continue
		}
		if k, ok := l.ResultKind(); ok {
			out[n.as[i]] = k
		} else {
			delete(out, n.as[i])
		}
	}
	return out
}

func (n *aggNode) fieldKinds(in map[string]eval.Kind) map[string]eval.Kind {
	var k eval.Kind
	switch n.fn.name {
	case "count":
		k = eval.Int
	case "mean", "median", "stddev":
		k = eval.Float
	default: // the kind of the input field, when known
		var ok bool
		if k, ok = in[n.field]; !ok {
			return nil
		}
	}
	if n.fn.selector {
		out := map[string]eval.Kind{}
		for f, fk := range in {
			out[f] = fk
		}
		delete(out, n.field)
		out[n.as] = k
		return out
	}
	return map[string]eval.Kind{n.as: k}
}

func (n *stateNode) fieldKinds(in map[string]eval.Kind) map[string]eval.Kind {
	out := map[string]eval.Kind{}
	for f, k := range in {
		out[f] = k
	}
	if n.duration {
		out[n.as] = eval.Float
	} else {
		out[n.as] = eval.Int
	}
	return out
}

func (n *deleteNode) fieldKinds(in map[string]eval.Kind) map[string]eval.Kind {
	out := map[string]eval.Kind{}
	for f, k := range in {
		out[f] = k
	}
	for _, f := range n.fields {
		delete(out, f)
	}
	return out
}

func (n *defaultNode) fieldKinds(in map[string]eval.Kind) map[string]eval.Kind {
	out := map[string]eval.Kind{}
	for f, k := range in {
		out[f] = k
	}
	for _, f := range n.fields {
		if k, ok := out[f.Key]; ok && k != f.Value.Kind {
			delete(out, f.Key) // either kind may arrive
		}
	}
	return out
}
