package eval

import (
	"fmt"
	"regexp"
	"sort"
	"unique"

	"github.com/tickrun/tickrun/ast"
)

// Env is what a lambda may refer to besides the point.
type Env struct {
	// Var resolves an identifier used inside a lambda to its script
	// variable's value (Kapacitor substitutes variables at definition
	// time). It returns an error message (e.g. `name "y" is undefined.
	// Names in scope: stream,time`) that Compile reports at the
	// identifier's position. Nil Var: every identifier is undefined.
	Var func(name string) (Value, error)
	// Funcs adds functions beyond the built-ins (the topic handler `match:`
	// uses level(), changed(), name(), taskName(), alertDuration()). A
	// built-in of the same name wins, as in Kapacitor.
	Funcs map[string]*Func
	// Field, if set, tells the kind a field is known to have where the
	// lambda runs (tickrun infers it from the nodes upstream, e.g. the
	// float of mean()). It only sharpens checking: the compiled lambda
	// still handles whatever kind arrives.
	Field func(name string) (Kind, bool)
}

// Func is an extra function: its overloads for checking and its
// implementation.
type Func struct {
	Signatures [][]Kind // accepted argument kinds, one slice per overload
	Result     Kind     // the kind Call returns
	// Call runs the function on arguments whose kinds match one of
	// Signatures. s is the Scope passed to Eval (callers may type-assert
	// it); args is only valid during the call.
	Call func(s Scope, args []Value) (Value, error)
}

// evalFn is a compiled node: it evaluates the node for one point.
type evalFn func(e *Expr, s Scope) (Value, error)

// node is the result of checking and compiling one expression.
type node struct {
	kinds   kindSet // what it may produce; 0 if it always fails
	isConst bool    // folded: val is its value
	val     Value
	ref     string // the name, if the node is a reference (through parentheses)
	isRef   bool
	fn      evalFn
	bfn     boolFn // set when a faster boolean closure exists
}

// Lambda is a compiled expression: immutable and safe to share between
// goroutines. Stateful functions keep their state in an Expr instance, so
// each user of the lambda that needs its own count()/sigma()/spread() state
// calls New.
type Lambda struct {
	body     ast.Expr
	fn       evalFn
	bfn      boolFn // the root's boolean closure, if it has one
	kinds    kindSet
	refs     []string // sorted, deduplicated reference names
	rootRef  string   // the name, if the body is a bare reference
	stateful bool
	bufSize  int // argument slots the call sites need
	hints    int // lookup hint slots (HintedScope)
	names    []unique.Handle[string]
}

// Expr is one instance of a Lambda: it owns the state of the stateful
// functions and the scratch space of the function calls. It is not safe for
// concurrent use.
type Expr struct {
	l      *Lambda
	bfn    boolFn  // l.bfn
	buf    []Value // function arguments, one region per call site
	hints  []int   // where each reference site found its field last time
	count  int64   // count(): shared by every count() call of the lambda
	sigma  sigmaState
	spread spreadState
	rng    randState
}

// New returns a fresh expression instance with its own state for count(),
// sigma() and spread().
func (l *Lambda) New() *Expr {
	e := &Expr{l: l, bfn: l.bfn, buf: make([]Value, l.bufSize), hints: make([]int, l.hints)}
	if e.bfn == nil {
		e.bfn = (*Expr).evalBool
	}
	e.spread.reset()
	e.rng.seed(nextSeed())
	return e
}

// Stateful reports whether the lambda calls a stateful function (count,
// sigma or spread), whose results depend on the points seen before.
func (l *Lambda) Stateful() bool { return l.stateful }

// References returns the names of the fields and tags (and "time") the
// lambda reads, sorted and deduplicated.
func (l *Lambda) References() []string { return append([]string(nil), l.refs...) }

// String returns the lambda body printed back as TICKscript (identifiers as
// written, not substituted).
func (l *Lambda) String() string { return FormatExpr(l.body) }

// Seed makes rand() of this instance deterministic.
func (e *Expr) Seed(seed uint64) { e.rng.seed(seed) }

// Eval evaluates the expression over the point s. A missing result (a bare
// reference to an absent field) is the error `missing value: "name"`.
func (e *Expr) Eval(s Scope) (Value, error) {
	v, err := e.l.fn(e, s)
	if err != nil {
		return Value{}, err
	}
	if v.Kind == Missing {
		return Value{}, fmt.Errorf(msgMissingValue, e.l.rootRef)
	}
	return v, nil
}

// EvalBool evaluates the expression and requires a boolean result; any other
// kind is the error "TypeGuard: expression returned unexpected type int,
// expected boolean".
func (e *Expr) EvalBool(s Scope) (bool, error) {
	return e.bfn(e, s) // small enough to be inlined: one call less on the hot path
}

func (e *Expr) evalBool(s Scope) (bool, error) {
	v, err := e.l.fn(e, s)
	if err != nil {
		return false, err
	}
	if v.Kind != Bool {
		if v.Kind == Missing {
			return false, fmt.Errorf(msgMissingValue, e.l.rootRef)
		}
		return false, typeGuard(v.Kind, Bool)
	}
	return v.Bool(), nil
}

// compiler checks and compiles one lambda body (or one constant expression).
type compiler struct {
	env       *Env
	lambda    *Lambda
	probs     ast.ErrorList
	refs      map[string]bool
	constMode bool  // Const: references and impure calls are errors
	loopAll   bool  // tests: evaluate every run of operators in a loop (see maxNestedSteps)
	depth     int   // nesting levels open (see enter)
	deep      bool  // the nesting error was reported
	scratch   *Expr // the instance fold evaluates constant nodes with
}

// Compile checks a lambda body and compiles it to closures. want is the
// result kind the caller requires (Bool for where, alert levels and state
// nodes; Missing accepts any kind).
//
// The returned list holds errors (Warning false), which Kapacitor reports
// before any data — undefined variables, type errors between constants,
// misplaced regexes, lists or lambdas inside the body — and warnings
// (Warning true), which Kapacitor only meets per point: unknown functions,
// arguments no signature accepts, operators no possible operand kinds
// support, a result that can never be of kind want. Entries are sorted by
// position. With only warnings the Lambda is usable and fails per point
// exactly as Kapacitor does.
func Compile(body ast.Expr, env *Env, want Kind) (*Lambda, ast.ErrorList) {
	return compile(&compiler{env: env}, body, want)
}

func compile(c *compiler, body ast.Expr, want Kind) (*Lambda, ast.ErrorList) {
	l := &Lambda{body: body}
	c.lambda, c.refs = l, map[string]bool{}
	n := c.compile(body)
	if isRegexLit(body) && n.kinds != 0 {
		c.errorf(body, "a regex can only be used on the right of =~ or !~ or as a function argument")
	}
	c.checkWant(n, body, want)
	l.fn, l.bfn, l.kinds = n.fn, n.bfn, n.kinds
	if n.isRef {
		l.rootRef = n.ref
	}
	for name := range c.refs {
		l.refs = append(l.refs, name)
	}
	sort.Strings(l.refs)
	c.probs.Sort()
	return l, c.probs
}

// Const evaluates an expression outside a lambda at script-definition time
// (`var p = 5m * 2`, `.message('a' + 'b')`, `var x = -5`). References,
// stateful or time-dependent functions and any evaluation failure are
// errors, positioned at the offending node.
func Const(x ast.Expr, env *Env) (Value, *ast.Error) {
	c := &compiler{env: env, lambda: &Lambda{body: x}, refs: map[string]bool{}, constMode: true}
	n := c.compile(x)
	if len(c.probs) > 0 {
		c.probs.Sort()
		first := *c.probs[0]
		first.Warning = false
		return Value{}, &first
	}
	if !n.isConst {
		return Value{}, ast.Errorf(x.Position(), "expression cannot be evaluated when the script is defined")
	}
	return n.val, nil
}

func (c *compiler) errorf(at ast.Expr, format string, args ...any) {
	c.probs.Add(ast.Errorf(at.Position(), format, args...))
}

func (c *compiler) warnf(at ast.Expr, format string, args ...any) {
	e := ast.Errorf(at.Position(), format, args...)
	e.Warning = true
	c.probs.Add(e)
}

// failing is a node that always fails with err (after an error was reported).
func failing(err error) *node {
	return &node{fn: func(*Expr, Scope) (Value, error) { return Value{}, err }}
}

func constNode(v Value) *node {
	return &node{kinds: 1 << v.Kind, isConst: true, val: v, fn: func(*Expr, Scope) (Value, error) { return v, nil }}
}

// enter opens a nesting level for x — a group, a prefix operator, a call
// — and reports whether it is within ast.MaxNesting. Compiling recurses
// once per level, so deeper trees (a parsed script never is one: the
// parser has the same limit) are rejected instead of risking a fatal stack
// overflow. Call leave when done, whatever enter returned.
func (c *compiler) enter(x ast.Expr) bool {
	c.depth++
	return c.depth <= ast.MaxNesting
}

func (c *compiler) leave() { c.depth-- }

// tooDeep reports the nesting error once, at x, and returns a failing node.
func (c *compiler) tooDeep(x ast.Expr) *node {
	if !c.deep {
		c.deep = true
		c.probs.Add(ast.NestingError(x.Position()))
	}
	return failing(errTooDeep)
}

var errTooDeep = fmt.Errorf("expression nested too deeply")

func (c *compiler) compile(x ast.Expr) *node {
	switch x.(type) {
	case *ast.Paren, *ast.Unary, *ast.Call:
		ok := c.enter(x)
		defer c.leave()
		if !ok {
			return c.tooDeep(x)
		}
	}
	switch x := x.(type) {
	case *ast.IntLit:
		return constNode(IntValue(x.Value))
	case *ast.FloatLit:
		return constNode(FloatValue(x.Value))
	case *ast.DurationLit:
		return constNode(DurationValue(x.Value))
	case *ast.StringLit:
		return constNode(StringValue(x.Value))
	case *ast.BoolLit:
		return constNode(BoolValue(x.Value))
	case *ast.RegexLit:
		re := x.Regexp
		if re == nil {
			var err error
			if re, err = regexp.Compile(x.Pattern); err != nil {
				c.errorf(x, "invalid regex /%s/: %v", x.Pattern, err)
				return failing(err)
			}
		}
		return constNode(RegexValue(re))
	case *ast.Ident:
		return c.ident(x)
	case *ast.Reference:
		return c.reference(x)
	case *ast.Paren:
		if x.X == nil {
			c.errorf(x, "empty parentheses")
			return failing(fmt.Errorf("empty parentheses"))
		}
		return c.compile(x.X)
	case *ast.Unary:
		return c.unary(x)
	case *ast.Binary:
		return c.binary(x)
	case *ast.Call:
		return c.call(x)
	case *ast.ListLit:
		c.errorf(x, "a list cannot be used inside an expression")
	case *ast.Star:
		c.errorf(x, "* cannot be used inside an expression")
	case *ast.Lambda:
		c.errorf(x, "a lambda cannot be used inside an expression")
	case *ast.Chain:
		c.errorf(x, "a node or property chain cannot be used inside an expression")
	case nil:
		c.probs.Add(&ast.Error{Msg: "missing expression"})
	default:
		c.errorf(x, "unsupported expression")
	}
	return failing(fmt.Errorf("invalid expression"))
}

func (c *compiler) ident(x *ast.Ident) *node {
	if c.env == nil || c.env.Var == nil {
		err := fmt.Errorf("name %q is undefined", x.Name)
		c.errorf(x, "%s", err)
		return failing(err)
	}
	v, err := c.env.Var(x.Name)
	if err != nil {
		c.errorf(x, "%s", err)
		return failing(err)
	}
	return constNode(v)
}

func (c *compiler) reference(x *ast.Reference) *node {
	if c.constMode {
		err := fmt.Errorf("the field reference \"%s\" can only be used inside a lambda (use single quotes for a string)", x.Name)
		c.errorf(x, "%s", err)
		return failing(err)
	}
	// The canonical string (unique.Make) shares its bytes with equal field
	// keys a decoder interned the same way, so looking it up compares
	// pointers; the handle keeps it canonical while the lambda lives.
	h := unique.Make(x.Name)
	c.lambda.names = append(c.lambda.names, h)
	name := h.Value()
	c.refs[name] = true
	n := &node{ref: name, isRef: true}
	if name == "time" {
		// lambda.md §2: "time" is always the point's time, never a field.
		n.kinds = setOf(Time)
		n.fn = func(_ *Expr, s Scope) (Value, error) { return TimeValue(s.Time()), nil }
		return n
	}
	n.kinds = refKinds
	if c.env != nil && c.env.Field != nil {
		if k, ok := c.env.Field(name); ok {
			n.kinds = setOf(k)
		}
	}
	n.fn = func(_ *Expr, s Scope) (Value, error) { return s.Lookup(name) }
	return n
}

// fold evaluates a node whose operands are all constant. A failure is
// reported as a warning (Kapacitor would fail on every point) and the node
// stays a runtime node that returns the same error.
//
// One scratch instance serves every fold of the compilation, grown to the
// argument and hint slots allocated so far: a new one per fold would make
// compiling a long run of constants quadratic. Sharing it is safe because
// only pure functions fold, and they keep no state in the instance.
func (c *compiler) fold(n *node, at ast.Expr) *node {
	if c.scratch == nil {
		c.scratch = &Expr{l: c.lambda}
	}
	tmp := c.scratch
	tmp.buf = grow(tmp.buf, c.lambda.bufSize)
	tmp.hints = grow(tmp.hints, c.lambda.hints)
	tmp.spread.reset()
	v, err := n.fn(tmp, nil)
	if err != nil {
		c.warnf(at, "%s", err)
		n.kinds = 0
		return n
	}
	return constNode(v)
}

// grow returns s extended to length n (never shorter), amortised like append.
func grow[T any](s []T, n int) []T {
	if n > len(s) {
		s = append(s, make([]T, n-len(s))...)
	}
	return s
}

// checkWant warns when the lambda can never produce the kind its user needs.
func (c *compiler) checkWant(n *node, body ast.Expr, want Kind) {
	if want == Missing || n.kinds == 0 {
		return
	}
	ks := n.kinds &^ setOf(Missing)
	if ks.has(want) {
		return
	}
	if k, ok := ks.single(); ok {
		c.warnf(body, "%s", typeGuard(k, want))
		return
	}
	c.warnf(body, "expression returns %s, never %s", ks, want)
}

// isRegexLit reports whether x is a regex literal, possibly parenthesised.
func isRegexLit(x ast.Expr) bool {
	for {
		switch y := x.(type) {
		case *ast.Paren:
			x = y.X
		case *ast.RegexLit:
			return true
		default:
			return false
		}
	}
}

// ResultKind returns the kind the lambda produces when it does not fail,
// if there is only one (e.g. float for `100.0 - "usage_idle"`).
func (l *Lambda) ResultKind() (Kind, bool) {
	return (l.kinds &^ setOf(Missing)).single()
}
