package eval

import (
	"strings"
	"time"

	"github.com/tickrun/tickrun/ast"
)

// binFn applies a binary operator to operands of the kinds of its table row.
type binFn func(l, r Value) (Value, error)

// binaryRow is one row of lambda.md §4: the operators it covers for a
// (left, right) kind pair, the result kind, and a constructor returning the
// implementation specialised for one operator.
type binaryRow struct {
	ops    string // space-separated spellings
	l, r   Kind
	result Kind
	impl   func(op ast.Op) binFn
}

// binaryRows is lambda.md §4, row for row (tick/stateful/evaluation_funcs.go).
// Anything not listed is an error. AND and OR short-circuit in the compiler
// (compileLogical) but are typed by this table like every other operator.
var binaryRows = []binaryRow{
	{"+ - * / %", Int, Int, Int, intMath},
	{"== != < <= > >=", Int, Int, Bool, intCompare},
	{"+ - * /", Float, Float, Float, floatMath},
	{"== != < <= > >=", Float, Float, Bool, floatCompare},
	{"== != < <= > >=", Int, Float, Bool, intFloatCompare},
	{"== != < <= > >=", Float, Int, Bool, floatIntCompare},
	{"+", String, String, String, stringConcat},
	{"== != < <= > >=", String, String, Bool, stringCompare},
	{"=~ !~", String, Regex, Bool, regexMatch},
	{"AND OR == !=", Bool, Bool, Bool, boolOp},
	{"+ -", Duration, Duration, Duration, durationMath},
	{"/", Duration, Duration, Int, durationQuotient},
	{"== != < <= > >=", Duration, Duration, Bool, durationCompare},
	{"*", Duration, Int, Duration, durationTimesInt},
	{"*", Int, Duration, Duration, intTimesDuration},
	{"*", Duration, Float, Duration, durationTimesFloat},
	{"*", Float, Duration, Duration, floatTimesDuration},
	{"/", Duration, Int, Duration, durationDivInt},
	{"/", Duration, Float, Duration, durationDivFloat},
}

// binImpl is an entry of the operator index built from binaryRows.
type binImpl struct {
	result Kind
	fn     binFn // nil: the combination is an error
}

const numOps = int(ast.OpNeg) + 1

var (
	// binTable indexes binaryRows by operator and operand kinds.
	binTable [numOps][numKinds][numKinds]binImpl
	// opKinds holds, per operator, every kind that occurs on either side of
	// it in the table (Kapacitor's typeToBinaryOperators).
	opKinds [numOps]kindSet
)

func init() {
	for _, row := range binaryRows {
		for _, spelling := range strings.Fields(row.ops) {
			op, ok := ast.BinaryOps[spelling]
			if !ok {
				panic("eval: unknown operator " + spelling)
			}
			if binTable[op][row.l][row.r].fn != nil {
				panic("eval: duplicate operator row " + spelling)
			}
			binTable[op][row.l][row.r] = binImpl{result: row.result, fn: row.impl(op)}
			opKinds[op] |= setOf(row.l, row.r)
		}
	}
}

// lookupBinary returns the implementation of op for (l, r).
func lookupBinary(op ast.Op, l, r Kind) (binImpl, bool) {
	if int(op) >= numOps || int(l) >= numKinds || int(r) >= numKinds {
		return binImpl{}, false
	}
	b := binTable[op][l][r]
	return b, b.fn != nil
}

// binaryResult returns the kinds op may produce for operands of kinds l and r.
func binaryResult(op ast.Op, l, r kindSet) kindSet {
	var out kindSet
	for _, lk := range l.kinds() {
		for _, rk := range r.kinds() {
			if b, ok := lookupBinary(op, lk, rk); ok {
				out |= 1 << b.result
			}
		}
	}
	return out
}

// Comparison outcomes, as bits, so that one mask per operator decides the
// result: unordered is a NaN operand, true only for !=.
const (
	cmpLess uint8 = 1 << iota
	cmpEqual
	cmpGreater
	cmpUnordered
)

func cmpMask(op ast.Op) uint8 {
	switch op {
	case ast.OpEq:
		return cmpEqual
	case ast.OpNe:
		return cmpLess | cmpGreater | cmpUnordered
	case ast.OpLt:
		return cmpLess
	case ast.OpLe:
		return cmpLess | cmpEqual
	case ast.OpGt:
		return cmpGreater
	case ast.OpGe:
		return cmpGreater | cmpEqual
	}
	panic("eval: not a comparison: " + op.String())
}

// compare returns the comparison outcome of a and b: for floats a NaN
// operand is unordered; ints, durations and strings are always ordered.
func compare[T int64 | float64 | string](a, b T) uint8 {
	switch {
	case a < b:
		return cmpLess
	case a > b:
		return cmpGreater
	case a == b:
		return cmpEqual
	}
	return cmpUnordered
}

var (
	valTrue  = BoolValue(true)
	valFalse = BoolValue(false)
)

func boolVal(b bool) Value {
	if b {
		return valTrue
	}
	return valFalse
}

func intMath(op ast.Op) binFn {
	switch op {
	case ast.OpAdd:
		return func(l, r Value) (Value, error) { return IntValue(l.Int() + r.Int()), nil }
	case ast.OpSub:
		return func(l, r Value) (Value, error) { return IntValue(l.Int() - r.Int()), nil }
	case ast.OpMul:
		return func(l, r Value) (Value, error) { return IntValue(l.Int() * r.Int()), nil }
	case ast.OpDiv:
		return func(l, r Value) (Value, error) {
			if r.Int() == 0 {
				return Value{}, ErrDivideByZero
			}
			return IntValue(l.Int() / r.Int()), nil
		}
	}
	return func(l, r Value) (Value, error) {
		if r.Int() == 0 {
			return Value{}, ErrDivideByZero
		}
		return IntValue(l.Int() % r.Int()), nil
	}
}

func floatMath(op ast.Op) binFn {
	switch op {
	case ast.OpAdd:
		return func(l, r Value) (Value, error) { return FloatValue(l.Float() + r.Float()), nil }
	case ast.OpSub:
		return func(l, r Value) (Value, error) { return FloatValue(l.Float() - r.Float()), nil }
	case ast.OpMul:
		return func(l, r Value) (Value, error) { return FloatValue(l.Float() * r.Float()), nil }
	}
	return func(l, r Value) (Value, error) { return FloatValue(l.Float() / r.Float()), nil }
}

func intCompare(op ast.Op) binFn {
	m := cmpMask(op)
	return func(l, r Value) (Value, error) { return boolVal(compare(l.Int(), r.Int())&m != 0), nil }
}

func floatCompare(op ast.Op) binFn {
	m := cmpMask(op)
	return func(l, r Value) (Value, error) { return boolVal(compare(l.Float(), r.Float())&m != 0), nil }
}

func intFloatCompare(op ast.Op) binFn {
	m := cmpMask(op)
	return func(l, r Value) (Value, error) { return boolVal(compare(float64(l.Int()), r.Float())&m != 0), nil }
}

func floatIntCompare(op ast.Op) binFn {
	m := cmpMask(op)
	return func(l, r Value) (Value, error) { return boolVal(compare(l.Float(), float64(r.Int()))&m != 0), nil }
}

func stringConcat(ast.Op) binFn {
	return func(l, r Value) (Value, error) { return StringValue(l.Str() + r.Str()), nil }
}

func stringCompare(op ast.Op) binFn {
	m := cmpMask(op)
	return func(l, r Value) (Value, error) { return boolVal(compare(l.Str(), r.Str())&m != 0), nil }
}

func regexMatch(op ast.Op) binFn {
	want := op == ast.OpMatch
	return func(l, r Value) (Value, error) { return boolVal(r.Regexp().MatchString(l.Str()) == want), nil }
}

func boolOp(op ast.Op) binFn {
	switch op {
	case ast.OpAnd:
		return func(l, r Value) (Value, error) { return boolVal(l.Bool() && r.Bool()), nil }
	case ast.OpOr:
		return func(l, r Value) (Value, error) { return boolVal(l.Bool() || r.Bool()), nil }
	case ast.OpEq:
		return func(l, r Value) (Value, error) { return boolVal(l.Bool() == r.Bool()), nil }
	}
	return func(l, r Value) (Value, error) { return boolVal(l.Bool() != r.Bool()), nil }
}

func durationMath(op ast.Op) binFn {
	if op == ast.OpAdd {
		return func(l, r Value) (Value, error) { return DurationValue(l.Duration() + r.Duration()), nil }
	}
	return func(l, r Value) (Value, error) { return DurationValue(l.Duration() - r.Duration()), nil }
}

func durationQuotient(ast.Op) binFn {
	return func(l, r Value) (Value, error) {
		if r.Duration() == 0 {
			return Value{}, ErrDivideByZero
		}
		return IntValue(int64(l.Duration() / r.Duration())), nil
	}
}

func durationCompare(op ast.Op) binFn {
	m := cmpMask(op)
	return func(l, r Value) (Value, error) {
		return boolVal(compare(int64(l.Duration()), int64(r.Duration()))&m != 0), nil
	}
}

func durationTimesInt(ast.Op) binFn {
	return func(l, r Value) (Value, error) { return DurationValue(l.Duration() * time.Duration(r.Int())), nil }
}

func intTimesDuration(ast.Op) binFn {
	return func(l, r Value) (Value, error) { return DurationValue(time.Duration(l.Int()) * r.Duration()), nil }
}

func durationTimesFloat(ast.Op) binFn {
	return func(l, r Value) (Value, error) {
		return DurationValue(time.Duration(float64(l.Duration()) * r.Float())), nil
	}
}

func floatTimesDuration(ast.Op) binFn {
	return func(l, r Value) (Value, error) {
		return DurationValue(time.Duration(l.Float() * float64(r.Duration()))), nil
	}
}

func durationDivInt(ast.Op) binFn {
	return func(l, r Value) (Value, error) {
		if r.Int() == 0 {
			return Value{}, ErrDivideByZero
		}
		return DurationValue(l.Duration() / time.Duration(r.Int())), nil
	}
}

func durationDivFloat(ast.Op) binFn {
	return func(l, r Value) (Value, error) {
		return DurationValue(time.Duration(float64(l.Duration()) / r.Float())), nil
	}
}
