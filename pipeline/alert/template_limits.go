package alert

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"text/template/parse"
	"time"
)

// Limits bound the rendering of one template for one event: a script
// must not be able to make tickrun (or a server running many tasks) spin
// or fill memory. An event over a bound is dropped and counted; a template
// that could never stay within them is a compile error (see checkTrees).
type Limits struct {
	Time time.Duration // per template and event (default 100ms)
	Size int           // bytes of output per template and event (default 1 MiB)
}

// DefaultLimits are the bounds when none are given.
var DefaultLimits = Limits{Time: 100 * time.Millisecond, Size: 1 << 20}

func (l Limits) withDefaults() Limits {
	if l.Time <= 0 {
		l.Time = DefaultLimits.Time
	}
	if l.Size <= 0 {
		l.Size = DefaultLimits.Size
	}
	return l
}

// ErrTemplateLimit is wrapped by the errors of a rendering that went over
// its Limits.
var ErrTemplateLimit = errors.New("template over its limit")

// limitWriter is the buffer templates execute into: it fails the
// execution once the output grows past the size bound or, checked at
// every write, once the time bound has passed.
type limitWriter struct {
	buf      bytes.Buffer
	max      int
	deadline time.Time
	limits   Limits
}

func (w *limitWriter) reset(l Limits) {
	w.buf.Reset()
	w.limits, w.max, w.deadline = l, l.Size, time.Now().Add(l.Time)
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.max {
		return 0, fmt.Errorf("%w: output over %d bytes", ErrTemplateLimit, w.max)
	}
	if time.Now().After(w.deadline) {
		return 0, fmt.Errorf("%w: rendering took over %v", ErrTemplateLimit, w.limits.Time)
	}
	return w.buf.Write(p)
}

// maxRangeIterations bounds what ranges over integer literals may do,
// nested ones multiplied: `{{range 200000000}}` is rejected when the
// script is compiled instead of spinning at every event.
const maxRangeIterations = 1_000_000

// maxRangeNesting bounds how deep ranges nest: ranges over the data (the
// tags and fields of a point) are bounded by the data, but nested deeply
// they multiply.
const maxRangeNesting = 3

// checkTrees rejects templates that cannot stay within any bound: ranges
// over integer literals of more than maxRangeIterations iterations
// (nested ones multiplied), ranges nested deeper than maxRangeNesting, and
// templates that call themselves ({{define "x"}}{{template "x"}}{{end}}),
// directly or through others, which text/template would only stop after
// 100,000 levels.
func checkTrees(trees map[string]*parse.Tree, root string) error {
	calls := map[string][]string{}
	for name, t := range trees {
		if t == nil || t.Root == nil {
			continue
		}
		var err error
		walk(t.Root, 1, 0, func(n parse.Node, product float64, depth int) {
			if err != nil {
				return
			}
			switch n := n.(type) {
			case *parse.TemplateNode:
				calls[name] = append(calls[name], n.Name)
			case *parse.RangeNode:
				if depth > maxRangeNesting {
					err = fmt.Errorf("ranges nested %d deep: at most %d", depth, maxRangeNesting)
				} else if product > maxRangeIterations {
					err = fmt.Errorf("range of %.0f iterations: at most %d", product, maxRangeIterations)
				}
			}
		})
		if err != nil {
			return err
		}
	}
	// A template reachable from itself recurses without end.
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string) error
	visit = func(name string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("template %q calls itself: it would recurse without end", name)
		case 2:
			return nil
		}
		state[name] = 1
		for _, c := range calls[name] {
			if err := visit(c); err != nil {
				return err
			}
		}
		state[name] = 2
		return nil
	}
	for name := range trees {
		if err := visit(name); err != nil {
			return err
		}
	}
	return nil
}

// walk calls f for every node under n with the product of the iteration
// counts of the enclosing ranges over integer literals and the range
// nesting depth (a range node sees its own count and depth).
func walk(n parse.Node, product float64, depth int, f func(parse.Node, float64, int)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walk(c, product, depth, f)
		}
	case *parse.RangeNode:
		p := product * rangeCount(n.Pipe)
		f(n, p, depth+1)
		walk(n.List, p, depth+1, f)
		walk(n.ElseList, product, depth, f)
	case *parse.IfNode:
		f(n, product, depth)
		walk(n.List, product, depth, f)
		walk(n.ElseList, product, depth, f)
	case *parse.WithNode:
		f(n, product, depth)
		walk(n.List, product, depth, f)
		walk(n.ElseList, product, depth, f)
	default:
		f(n, product, depth)
	}
}

// rangeCount is the iteration count of a range over an integer literal
// (1 for a range over data, which the data bounds).
func rangeCount(pipe *parse.PipeNode) float64 {
	if pipe == nil || len(pipe.Cmds) != 1 || len(pipe.Cmds[0].Args) != 1 {
		return 1
	}
	if num, ok := pipe.Cmds[0].Args[0].(*parse.NumberNode); ok && num.IsInt {
		if n, err := strconv.ParseFloat(num.Text, 64); err == nil && n > 1 {
			return n
		}
	}
	return 1
}
