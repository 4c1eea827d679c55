package pipeline

import (
	"fmt"
	"sort"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

// edge is the kind of data a node consumes or produces (nodes.md §0.1).
type edge int

const (
	streamEdge edge = iota // points
	batchEdge              // batches (window output)
	anyEdge                // whatever the parent provides
)

// Spec describes one node kind: the chain method that creates it, its
// arguments, its properties and how to build it. A node kind is added in
// one place: a file that calls register with its Spec.
type Spec struct {
	Method   string    // chain method name, e.g. "stateCount"
	Kind     string    // prefix of node names, e.g. "state_count" (language.md §6.1)
	Doc      string    // one line for docs and errors
	Args     []argKind // arguments of the chain method
	MinArgs  int       // fewer arguments are an error; default len(Args)
	Variadic argKind   // kind of any further arguments (0: none allowed)
	Wants    edge
	Provides edge
	Props    []*Prop
	// New returns a node configured from the chain method's arguments.
	New func(b *binder, call *ast.Chain, args []value) (node, error)
}

// Prop is one property method of a node: `.name(args)`.
type Prop struct {
	Name     string
	Doc      string
	Args     []argKind
	MinArgs  int     // fewer arguments are an error; default len(Args), -1 for none
	Variadic argKind // kind of further arguments (0: none)
	set      func(b *binder, n node, at *ast.Chain, args []value) error
}

var registry = map[string]*Spec{}

// register adds a node kind; registering a method twice is a programming
// error.
func register(s *Spec) {
	if _, dup := registry[s.Method]; dup {
		panic("pipeline: node " + s.Method + " registered twice")
	}
	if s.MinArgs == 0 {
		s.MinArgs = len(s.Args)
	}
	if s.prop("quiet") == nil && s.Method != "stream" {
		s.Props = append(s.Props, &Prop{Name: "quiet", Doc: "do not log per-point errors",
			set: func(_ *binder, n node, _ *ast.Chain, _ []value) error { n.base().quiet = true; return nil }})
	}
	for _, p := range s.Props {
		if p.MinArgs == 0 && p.Variadic == 0 {
			p.MinArgs = len(p.Args)
		}
		if p.MinArgs < 0 { // all arguments optional
			p.MinArgs = 0
		}
	}
	registry[s.Method] = s
}

// prop returns the property called name.
func (s *Spec) prop(name string) *Prop {
	for _, p := range s.Props {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Specs returns every registered node kind sorted by method name, for docs
// and tests.
func Specs() []*Spec {
	out := make([]*Spec, 0, len(registry))
	for _, s := range registry {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Method < out[j].Method })
	return out
}

// argKind is the type of a method argument.
type argKind int

const (
	argNone argKind = iota
	argString
	argInt
	argFloat
	argBool
	argDuration
	argLambda
	argStar
	argStringOrStar // a string, or * (groupBy)
	argScalar       // float, int, string or bool (default().field)
	argNumber       // int or float
	argIntOrDuration
	argAny // anything (arguments tickrun only checks loosely)
)

func (k argKind) String() string {
	switch k {
	case argString:
		return "a string"
	case argInt:
		return "an integer"
	case argFloat:
		return "a float"
	case argBool:
		return "a boolean"
	case argDuration:
		return "a duration"
	case argLambda:
		return "a lambda"
	case argStar:
		return "*"
	case argStringOrStar:
		return "a string or *"
	case argScalar:
		return "a float, integer, string or boolean"
	case argNumber:
		return "a number"
	case argIntOrDuration:
		return "an integer or a duration"
	case argAny:
		return "anything"
	}
	return "nothing"
}

// value is what a script expression evaluates to while the script is bound.
type value struct {
	pos      ast.Pos
	node     node       // a node
	lambda   *compiled  // a lambda
	scalar   eval.Value // a literal or constant expression
	isScalar bool
	list     []value        // a string list
	star     bool           // *
	ref      *ast.Reference // a reference used outside a lambda (always an error)
	broken   bool           // a variable whose definition failed (already reported)
	call     *ast.Call      // time(d[, offset]) of a batch query's groupBy
}

// compiled is a lambda argument: its source and its compiled form.
type compiled struct {
	src    *ast.Lambda
	lambda *eval.Lambda
}

func (v value) describe() string {
	switch {
	case v.node != nil:
		return "a node"
	case v.lambda != nil:
		return "a lambda"
	case v.isScalar && v.scalar.Kind == eval.Int:
		return "an int"
	case v.isScalar:
		return "a " + v.scalar.Kind.String()
	case v.list != nil:
		return "a list"
	case v.star:
		return "*"
	case v.ref != nil:
		return "a reference"
	}
	return "nothing"
}

// matches reports whether v is acceptable for k.
func (k argKind) matches(v value) bool {
	switch k {
	case argString:
		return v.isScalar && v.scalar.Kind == eval.String
	case argInt:
		return v.isScalar && v.scalar.Kind == eval.Int
	case argFloat:
		return v.isScalar && v.scalar.Kind == eval.Float
	case argBool:
		return v.isScalar && v.scalar.Kind == eval.Bool
	case argDuration:
		return v.isScalar && v.scalar.Kind == eval.Duration
	case argLambda:
		return v.lambda != nil
	case argStar:
		return v.star
	case argStringOrStar:
		return v.star || v.isScalar && v.scalar.Kind == eval.String
	case argScalar:
		return v.isScalar && (v.scalar.Kind == eval.Float || v.scalar.Kind == eval.Int || v.scalar.Kind == eval.String || v.scalar.Kind == eval.Bool)
	case argNumber:
		return v.isScalar && (v.scalar.Kind == eval.Float || v.scalar.Kind == eval.Int)
	case argIntOrDuration:
		return v.isScalar && (v.scalar.Kind == eval.Int || v.scalar.Kind == eval.Duration)
	case argAny:
		return true
	}
	return false
}

// checkArgs checks count and kinds of method arguments.
func checkArgs(what string, at *ast.Chain, kinds []argKind, min int, variadic argKind, args []value) error {
	if len(args) < min {
		return ast.Errorf(at.Method.Pos, "not enough arguments to %s: want %d, got %d", what, min, len(args))
	}
	if len(args) > len(kinds) && variadic == argNone {
		return ast.Errorf(at.Method.Pos, "too many arguments to %s: want %d, got %d", what, len(kinds), len(args))
	}
	for i, a := range args {
		k := variadic
		if i < len(kinds) {
			k = kinds[i]
		}
		if !k.matches(a) {
			msg := fmt.Sprintf("argument %d of %s must be %s, got %s", i+1, what, k, a.describe())
			if a.ref != nil && (k == argString || k == argStringOrStar || k == argScalar) {
				msg += "; did you use double quotes instead of single quotes?"
			}
			if a.lambda == nil && a.isScalar && a.scalar.Kind == eval.Bool && k == argLambda {
				msg += "; write lambda: before the expression"
			}
			return ast.Errorf(a.pos, "%s", msg)
		}
	}
	return nil
}

// Typed property constructors: each turns a typed setter into a Prop, so a
// node file lists its properties as a table.

func propNone[N any](name, doc string, set func(n *N)) *Prop {
	return &Prop{Name: name, Doc: doc, set: func(_ *binder, n node, _ *ast.Chain, _ []value) error {
		set(any(n).(*N))
		return nil
	}}
}

func propString[N any](name, doc string, set func(n *N, s string) error) *Prop {
	return &Prop{Name: name, Doc: doc, Args: []argKind{argString}, set: func(_ *binder, n node, at *ast.Chain, a []value) error {
		return positioned(a[0].pos, set(any(n).(*N), a[0].scalar.Str()))
	}}
}

func propDuration[N any](name, doc string, set func(n *N, d time.Duration) error) *Prop {
	return &Prop{Name: name, Doc: doc, Args: []argKind{argDuration}, set: func(_ *binder, n node, at *ast.Chain, a []value) error {
		return positioned(a[0].pos, set(any(n).(*N), a[0].scalar.Duration()))
	}}
}

func propInt[N any](name, doc string, set func(n *N, i int64) error) *Prop {
	return &Prop{Name: name, Doc: doc, Args: []argKind{argInt}, set: func(_ *binder, n node, at *ast.Chain, a []value) error {
		return positioned(a[0].pos, set(any(n).(*N), a[0].scalar.Int()))
	}}
}

func propStrings[N any](name, doc string, set func(n *N, s []string) error) *Prop {
	return &Prop{Name: name, Doc: doc, Variadic: argString, set: func(_ *binder, n node, at *ast.Chain, a []value) error {
		ss := make([]string, len(a))
		for i, v := range a {
			ss[i] = v.scalar.Str()
		}
		return positioned(at.Method.Pos, set(any(n).(*N), ss))
	}}
}

// propLambda compiles its argument wanting a result of kind want (eval.Bool
// for conditions, eval.Missing for any).
func propLambda[N any](name, doc string, want eval.Kind, set func(n *N, l *compiled) error) *Prop {
	return &Prop{Name: name, Doc: doc, Args: []argKind{argLambda}, set: func(b *binder, n node, at *ast.Chain, a []value) error {
		l, err := b.compileLambda(a[0], want)
		if err != nil {
			return err
		}
		return positioned(a[0].pos, set(any(n).(*N), l))
	}}
}

// positioned attaches pos to a plain error returned by a setter.
func positioned(pos ast.Pos, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*ast.Error); ok {
		return err
	}
	return &ast.Error{Pos: pos, Msg: err.Error()}
}

// suggest returns ` (did you mean "x"?)` for a close candidate (ast.Suggest).
func suggest(name string, candidates []string) string { return ast.Suggest(name, candidates) }
