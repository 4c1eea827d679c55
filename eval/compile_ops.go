package eval

import (
	"fmt"
	"unicode"

	"github.com/tickrun/tickrun/ast"
)

// binaryInfo is what a binary node needs at run time to report a failure.
type binaryInfo struct {
	hint   int // the Expr's hint slot for a reference lookup (HintedScope)
	op     ast.Op
	x, y   string // reference names of the operands, if isRef
	xIsRef bool
	yIsRef bool
}

// fail returns Kapacitor's error for operands the table does not accept:
// a missing reference in a comparison or logical operator is named
// (lambda.md §7), anything else gets determineError's wording (§4).
func (b *binaryInfo) fail(l, r Value) error {
	if b.op.IsComparison() || b.op.IsLogical() {
		if l.Kind == Missing && b.xIsRef {
			return fmt.Errorf(msgLeftMissing, b.x)
		}
		if r.Kind == Missing && b.yIsRef {
			return fmt.Errorf(msgRightMissing, b.y)
		}
	}
	return typeError(b.op, l.Kind, r.Kind)
}

// maxNestedSteps is how many operators of one run leaning left, such as
// a + b + c …, compile into closures each calling the one on its left.
// The operators of a longer run are applied in a loop (loopFn), so that
// evaluation does not recurse once per operator; short runs keep the
// specialised closures of the hot path.
const maxNestedSteps = 32

// binary compiles a binary expression. The left operand of a + b + c … is a
// Binary as deep as the run is long, so the run is walked with a loop, from
// the innermost operator out.
func (c *compiler) binary(b *ast.Binary) *node {
	run := []*ast.Binary{b}
	for {
		x, ok := run[len(run)-1].X.(*ast.Binary)
		if !ok {
			break
		}
		run = append(run, x)
	}
	x := c.compile(run[len(run)-1].X)
	base, steps := x, []stepFn(nil) // evaluation: base, then each step
	for i := len(run) - 1; i >= 0; i-- {
		sb := run[i]
		n, step := c.binaryNode(sb, x, c.rightOperand(sb))
		if n.isConst {
			base, steps = n, nil
		} else {
			steps = append(steps, step)
		}
		x = n
	}
	if len(steps) > maxNestedSteps || c.loopAll && len(steps) > 0 {
		x.fn, x.bfn = loopFn(base.fn, steps), nil
	}
	return x
}

// rightOperand compiles the right operand of b. A parsed tree holds a
// right operand of lower or equal precedence only inside a Paren, which
// counts as a nesting level; a tree built by hand may hold it bare, and
// then it counts the same.
func (c *compiler) rightOperand(b *ast.Binary) *node {
	if y, ok := b.Y.(*ast.Binary); ok && y.Op.Precedence() <= b.Op.Precedence() {
		ok := c.enter(y)
		defer c.leave()
		if !ok {
			return c.tooDeep(y)
		}
	}
	return c.compile(b.Y)
}

// binaryNode checks and compiles b over its compiled operands, and returns
// the same operator as a step of a loop over a long run.
func (c *compiler) binaryNode(b *ast.Binary, x, y *node) (*node, stepFn) {
	op := b.Op
	if !op.IsMath() && !op.IsComparison() && !op.IsLogical() {
		err := fmt.Errorf("unknown binary operator %v", op)
		c.errorf(b, "%s", err)
		return failing(err), func(*Expr, Scope, Value) (Value, error) { return Value{}, err }
	}
	info := &binaryInfo{op: op, x: x.ref, y: y.ref, xIsRef: x.isRef, yIsRef: y.isRef, hint: c.lambda.hints}
	c.lambda.hints++
	n := &node{fn: binaryFn(info, x, y), bfn: binaryBoolFn(info, x, y)}
	step := binaryStep(info, y)
	c.checkQuotes(b)
	if x.kinds == 0 || y.kinds == 0 {
		return n, step // an operand always fails; it was reported already
	}
	if isRegexLit(b.X) {
		c.errorf(b.X, "a regex can only be used on the right of =~ or !~")
		return n, step
	}
	if isRegexLit(b.Y) && op != ast.OpMatch && op != ast.OpNotMatch {
		c.errorf(b.Y, "a regex can only be used on the right of =~ or !~, not %v", op)
		return n, step
	}
	n.kinds = binaryResult(op, x.kinds, y.kinds)
	if n.kinds == 0 {
		xk, xok := x.kinds.single()
		yk, yok := y.kinds.single()
		switch {
		case x.isConst && y.isConst:
			// Kapacitor type-checks constant operands when the task starts.
			c.errorf(b, "%s", typeError(op, xk, yk))
		case xok && yok:
			c.warnf(b, "%s", typeError(op, xk, yk))
		default:
			c.warnf(b, "operator %v cannot be applied to %s and %s", op, x.kinds, y.kinds)
		}
		return n, step
	}
	if x.isConst && y.isConst {
		return c.fold(n, b), step
	}
	return n, step
}

// checkQuotes warns about `"host" == "cpu-total"`: a comparison whose right
// operand is a reference that cannot be a field, so that the string was
// surely meant (see looksLikeString); Kapacitor would report the missing
// field "cpu-total" on every point. A name the environment knows as a
// field is left alone.
func (c *compiler) checkQuotes(b *ast.Binary) {
	r, ok := b.Y.(*ast.Reference)
	if !ok || c.constMode || !b.Op.IsComparison() || b.Op == ast.OpMatch || b.Op == ast.OpNotMatch || !looksLikeString(r.Name) {
		return
	}
	if c.env != nil && c.env.Field != nil {
		if _, known := c.env.Field(r.Name); known {
			return
		}
	}
	c.warnf(r, msgQuotedString, quoteString(r.Name))
}

// looksLikeString reports whether a reference name is clearly a string
// value written in the wrong quotes rather than a field or tag name: it is
// empty, starts with a digit (10.0.0.1, 5xx) or holds a character other
// than letters, digits, "_", "." and ":" (cpu-total, /var/log, web 01).
// Field and tag keys as Telegraf and most writers make them use only those
// characters (Prometheus names use ":" too), while tag values — what a
// lambda compares a tag with — are full of "-", "/" and spaces.
func looksLikeString(name string) bool {
	if name == "" {
		return true
	}
	for i, r := range name {
		if i == 0 && unicode.IsDigit(r) {
			return true
		}
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '.' && r != ':' {
			return true
		}
	}
	return false
}

// stepFn applies one operator of a long run (see maxNestedSteps) to l, the
// value of everything on its left.
type stepFn func(e *Expr, s Scope, l Value) (Value, error)

// binaryStep is binaryFn with the left operand given: the same table
// lookup, short circuit and errors.
func binaryStep(info *binaryInfo, y *node) stepFn {
	yf, op := y.fn, info.op
	if op.IsLogical() {
		decided := op == ast.OpOr
		return func(e *Expr, s Scope, l Value) (Value, error) {
			if l.Kind != Bool {
				return Value{}, info.fail(l, Value{Kind: Bool})
			}
			if l.Bool() == decided {
				return l, nil
			}
			r, err := yf(e, s)
			if err != nil {
				return Value{}, err
			}
			if r.Kind != Bool {
				return Value{}, info.fail(l, r)
			}
			return r, nil
		}
	}
	return func(e *Expr, s Scope, l Value) (Value, error) {
		r, err := yf(e, s)
		if err != nil {
			return Value{}, err
		}
		if b, ok := lookupBinary(op, l.Kind, r.Kind); ok {
			return b.fn(l, r)
		}
		return Value{}, info.fail(l, r)
	}
}

// loopFn evaluates base, then applies each step to the result.
func loopFn(base evalFn, steps []stepFn) evalFn {
	return func(e *Expr, s Scope) (Value, error) {
		v, err := base(e, s)
		for _, step := range steps {
			if err != nil {
				return Value{}, err
			}
			v, err = step(e, s, v)
		}
		if err != nil {
			return Value{}, err
		}
		return v, nil
	}
}

// binaryFn picks the closure for a binary node: short-circuit for AND/OR,
// a fused lookup-and-compare for a reference against a number, and the
// table lookup on the operands' runtime kinds otherwise.
func binaryFn(info *binaryInfo, x, y *node) evalFn {
	if info.op.IsLogical() {
		return logicalFn(info, x.fn, y.fn)
	}
	if f := refCompareConstFn(info, x, y); f != nil {
		return func(e *Expr, s Scope) (Value, error) {
			b, err := f(e, s)
			if err != nil {
				return Value{}, err
			}
			return boolVal(b), nil
		}
	}
	xf, yf, op := x.fn, y.fn, info.op
	return func(e *Expr, s Scope) (Value, error) {
		l, err := xf(e, s)
		if err != nil {
			return Value{}, err
		}
		r, err := yf(e, s)
		if err != nil {
			return Value{}, err
		}
		if b, ok := lookupBinary(op, l.Kind, r.Kind); ok {
			return b.fn(l, r)
		}
		return Value{}, info.fail(l, r)
	}
}

// boolFn is a closure for a node known to produce a boolean: EvalBool
// calls it directly, without boxing the result in a Value.
type boolFn func(*Expr, Scope) (bool, error)

// binaryBoolFn returns the boolean closure of a comparison of a reference
// with a constant, or of AND/OR over such closures; nil otherwise.
func binaryBoolFn(info *binaryInfo, x, y *node) boolFn {
	if !info.op.IsLogical() {
		return refCompareConstFn(info, x, y)
	}
	xf, yf := x.bfn, y.bfn
	if xf == nil || yf == nil {
		return nil
	}
	if info.op == ast.OpAnd {
		return func(e *Expr, s Scope) (bool, error) {
			if l, err := xf(e, s); err != nil || !l {
				return false, err
			}
			return yf(e, s)
		}
	}
	return func(e *Expr, s Scope) (bool, error) {
		if l, err := xf(e, s); err != nil || l {
			return l, err
		}
		return yf(e, s)
	}
}

// logicalFn evaluates AND/OR left first and skips the right operand once
// the result is decided; an error of the left operand is always returned
// (lambda.md §5).
func logicalFn(info *binaryInfo, xf, yf evalFn) evalFn {
	decided := info.op == ast.OpOr // OR stops at true, AND at false
	return func(e *Expr, s Scope) (Value, error) {
		l, err := xf(e, s)
		if err != nil {
			return Value{}, err
		}
		if l.Kind != Bool {
			return Value{}, info.fail(l, Value{Kind: Bool})
		}
		if l.Bool() == decided {
			return l, nil
		}
		r, err := yf(e, s)
		if err != nil {
			return Value{}, err
		}
		if r.Kind != Bool {
			return Value{}, info.fail(l, r)
		}
		return r, nil
	}
}

// refCompareConstFn returns the hot-path closure for `"field" < 10` and
// friends: one lookup, one switch on the field's kind, a comparison with the
// constant precomputed as float64 and int64. It returns nil when the node
// does not have that shape.
func refCompareConstFn(info *binaryInfo, x, y *node) boolFn {
	op := info.op
	if !x.isRef || x.ref == "time" || !y.isConst || op == ast.OpMatch || op == ast.OpNotMatch || !op.IsComparison() {
		return nil
	}
	c := y.val
	name, m, slot := x.ref, cmpMask(op), info.hint
	switch c.Kind {
	case Int, Float:
		// An int field is compared as an int with an int constant, as a
		// float with a float one.
		intConst := c.Kind == Int
		var ci int64
		cf := c.Float()
		if intConst {
			ci = c.Int()
			cf = float64(ci)
		}
		return floatFieldFast(name, slot, op, cf, func(e *Expr, s Scope) (bool, error) {
			v, err := lookup(e, s, name, slot)
			if err != nil {
				return false, err
			}
			switch {
			case v.Kind == Float:
				return compare(v.Float(), cf)&m != 0, nil
			case v.Kind == Int && intConst:
				return compare(v.Int(), ci)&m != 0, nil
			case v.Kind == Int:
				return compare(float64(v.Int()), cf)&m != 0, nil
			}
			return false, info.fail(v, c)
		})
	case String:
		cs := c.Str()
		return func(e *Expr, s Scope) (bool, error) {
			v, err := lookup(e, s, name, slot)
			if err != nil {
				return false, err
			}
			if v.Kind == String {
				return compare(v.Str(), cs)&m != 0, nil
			}
			return false, info.fail(v, c)
		}
	}
	return nil
}

// floatFieldFast wraps the comparison of a reference with a numeric
// constant: when the scope has the name as a float field at the hinted
// place (Scope.LookupField), it compares at once with Go's operator (whose
// NaN semantics are compare's); anything else (an int field, a tag, a
// missing name, a moved field) takes slow. One small closure per operator
// keeps the hot path to a lookup and one comparison.
func floatFieldFast(name string, slot int, op ast.Op, cf float64, slow boolFn) boolFn {
	field := func(e *Expr, s Scope) *Value {
		if v := s.LookupField(name, &e.hints[slot]); v != nil && v.Kind == Float {
			return v
		}
		return nil
	}
	switch op {
	case ast.OpLt:
		return func(e *Expr, s Scope) (bool, error) {
			if v := field(e, s); v != nil {
				return v.Float() < cf, nil
			}
			return slow(e, s)
		}
	case ast.OpLe:
		return func(e *Expr, s Scope) (bool, error) {
			if v := field(e, s); v != nil {
				return v.Float() <= cf, nil
			}
			return slow(e, s)
		}
	case ast.OpGt:
		return func(e *Expr, s Scope) (bool, error) {
			if v := field(e, s); v != nil {
				return v.Float() > cf, nil
			}
			return slow(e, s)
		}
	case ast.OpGe:
		return func(e *Expr, s Scope) (bool, error) {
			if v := field(e, s); v != nil {
				return v.Float() >= cf, nil
			}
			return slow(e, s)
		}
	case ast.OpEq:
		return func(e *Expr, s Scope) (bool, error) {
			if v := field(e, s); v != nil {
				return v.Float() == cf, nil
			}
			return slow(e, s)
		}
	case ast.OpNe:
		return func(e *Expr, s Scope) (bool, error) {
			if v := field(e, s); v != nil {
				return v.Float() != cf, nil
			}
			return slow(e, s)
		}
	}
	return slow
}

// Unary operators (lambda.md §6).

func (c *compiler) unary(u *ast.Unary) *node {
	x := c.compile(u.X)
	if isRegexLit(u.X) && x.kinds != 0 {
		c.errorf(u.X, "a regex can only be used on the right of =~ or !~")
		return &node{fn: unaryFn(u.Op, x)}
	}
	var allowed kindSet
	switch u.Op {
	case ast.OpNeg:
		allowed = setOf(Int, Float, Duration)
	case ast.OpNot:
		allowed = setOf(Bool)
	default:
		c.errorf(u, "unknown unary operator %v", u.Op)
		return failing(fmt.Errorf("unknown unary operator %v", u.Op))
	}
	n := &node{fn: unaryFn(u.Op, x)}
	if x.kinds == 0 {
		return n
	}
	n.kinds = x.kinds & allowed
	if n.kinds == 0 {
		if k, ok := x.kinds.single(); ok {
			c.warnf(u, "%s", unaryError(Value{Kind: k}, x))
		} else {
			c.warnf(u, "operator %v cannot be applied to %s", u.Op, x.kinds)
		}
		return n
	}
	if x.isConst {
		return c.fold(n, u)
	}
	return n
}

func unaryError(v Value, x *node) error {
	if v.Kind == Missing && x.isRef {
		return fmt.Errorf(msgRefMissing, x.ref)
	}
	return fmt.Errorf(msgTypeGuard, "invalid type", v.Kind)
}

func unaryFn(op ast.Op, x *node) evalFn {
	xf := x.fn
	if op == ast.OpNot {
		return func(e *Expr, s Scope) (Value, error) {
			v, err := xf(e, s)
			if err != nil {
				return Value{}, err
			}
			if v.Kind != Bool {
				return Value{}, unaryError(v, x)
			}
			return boolVal(!v.Bool()), nil
		}
	}
	return func(e *Expr, s Scope) (Value, error) {
		v, err := xf(e, s)
		if err != nil {
			return Value{}, err
		}
		switch v.Kind {
		case Int:
			return IntValue(-v.Int()), nil
		case Float:
			return FloatValue(-v.Float()), nil
		case Duration:
			return DurationValue(-v.Duration()), nil
		}
		return Value{}, unaryError(v, x)
	}
}

// lookup reads a reference through the Expr's hint for this site.
func lookup(e *Expr, s Scope, name string, slot int) (Value, error) {
	return s.LookupHint(name, &e.hints[slot])
}
