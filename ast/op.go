package ast

// Op is a lambda operator.
type Op int

// The operators of TICKscript expressions (language.md §3.9).
const (
	OpInvalid  Op = iota
	OpAdd         // +
	OpSub         // -
	OpMul         // *
	OpDiv         // /
	OpMod         // %
	OpEq          // ==
	OpNe          // !=
	OpLt          // <
	OpLe          // <=
	OpGt          // >
	OpGe          // >=
	OpMatch       // =~
	OpNotMatch    // !~
	OpAnd         // AND
	OpOr          // OR
	OpNot         // ! (unary)
	OpNeg         // - (unary)
)

var opNames = [...]string{
	OpInvalid: "?", OpAdd: "+", OpSub: "-", OpMul: "*", OpDiv: "/", OpMod: "%",
	OpEq: "==", OpNe: "!=", OpLt: "<", OpLe: "<=", OpGt: ">", OpGe: ">=",
	OpMatch: "=~", OpNotMatch: "!~", OpAnd: "AND", OpOr: "OR", OpNot: "!", OpNeg: "-",
}

// String returns the operator as written in TICKscript.
func (o Op) String() string {
	if o < 0 || int(o) >= len(opNames) {
		return "?"
	}
	return opNames[o]
}

// Precedence returns the binding strength of a binary operator, from 0
// (OR, lowest) to 5 (* / %), following Kapacitor's precedence table
// (language.md §7). Non-binary operators return -1.
func (o Op) Precedence() int {
	switch o {
	case OpOr:
		return 0
	case OpAnd:
		return 1
	case OpEq, OpNe, OpMatch, OpNotMatch:
		return 2
	case OpLt, OpLe, OpGt, OpGe:
		return 3
	case OpAdd, OpSub:
		return 4
	case OpMul, OpDiv, OpMod:
		return 5
	}
	return -1
}

// BinaryOps maps the spelling of each binary operator to its Op.
var BinaryOps = map[string]Op{
	"+": OpAdd, "-": OpSub, "*": OpMul, "/": OpDiv, "%": OpMod,
	"==": OpEq, "!=": OpNe, "<": OpLt, "<=": OpLe, ">": OpGt, ">=": OpGe,
	"=~": OpMatch, "!~": OpNotMatch, "AND": OpAnd, "OR": OpOr,
}

// IsMath reports whether o is an arithmetic operator.
func (o Op) IsMath() bool { return o >= OpAdd && o <= OpMod }

// IsComparison reports whether o compares its operands.
func (o Op) IsComparison() bool { return o >= OpEq && o <= OpNotMatch }

// IsLogical reports whether o is AND or OR.
func (o Op) IsLogical() bool { return o == OpAnd || o == OpOr }
