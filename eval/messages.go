package eval

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tickrun/tickrun/ast"
)

// Kapacitor's exact error wording (lambda.md). Users grep logs for these, so
// they keep Kapacitor's capitalisation and punctuation.

// ErrDivideByZero is returned when an integer or duration is divided (or
// taken modulo) by zero; Kapacitor panics there (lambda.md §4).
var ErrDivideByZero = errors.New("runtime error: integer divide by zero")

const (
	// lambda.md §4 (eval_binary_node.go determineError).
	msgInvalidOperator = "invalid %s operator %v for type %s"
	msgMismatched      = "mismatched type to binary operator. got %s %v %s. see bool(), int(), float(), string(), duration()"
	// lambda.md §7.
	msgLeftMissing  = "left reference value %q is missing value"
	msgRightMissing = "right reference value %q is missing value"
	msgRefMissing   = "reference %q is missing value"
	msgMissingValue = "missing value: %q"
	// lambda.md §1 and §6 (node_evaluator.go ErrTypeGuardFailed).
	msgTypeGuard = "TypeGuard: expression returned unexpected type %s, expected %s"
	// lambda.md §8 (functions.go).
	msgUndefinedFunc  = "undefined function: %q"
	msgWrongSignature = "Cannot call function %q with args %s, available signatures are %s."
	msgMissingArg     = "Cannot call function %q argument %s is missing, values in scope are [%s]"
	msgMissingArgs    = "Cannot call function %q arguments %s are missing, values in scope are [%s]"
	msgCallFailed     = "error calling %q: %s"
	msgArgFailed      = "Failed to handle %d argument: %w"
)

// tickrun's own hints, beyond Kapacitor's messages.
const (
	// msgQuotedString is the warning for `"host" == "cpu-total"`
	// (checkQuotes); %s is the name in single quotes.
	msgQuotedString = "double quotes are a field reference; use single quotes for a string: %s"
)

// opClass names the operator family as determineError does.
func opClass(op ast.Op) string {
	switch {
	case op.IsMath():
		return "math"
	case op.IsComparison():
		return "comparison"
	case op.IsLogical():
		return "logical"
	}
	return "INVALID"
}

// typeError is Kapacitor's determineError for an operator applied to kinds
// the table does not have: "invalid ... operator" when the left kind never
// occurs with op, "mismatched type" otherwise.
func typeError(op ast.Op, l, r Kind) error {
	if !opKinds[op].has(l) {
		return fmt.Errorf(msgInvalidOperator, opClass(op), op, l)
	}
	return fmt.Errorf(msgMismatched, l, op, r)
}

// typeGuard is the error for a value of the wrong kind where one kind is
// required ("TypeGuard: expression returned unexpected type int, expected
// boolean").
func typeGuard(got, want Kind) error {
	return fmt.Errorf(msgTypeGuard, got, want)
}

// signaturesString prints overloads as Kapacitor does: [(float), (int,duration)].
func signaturesString(sigs []signature) string {
	parts := make([]string, len(sigs))
	for i, s := range sigs {
		parts[i] = kindsTuple(s.args)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func kindsTuple(ks []Kind) string {
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.String()
	}
	return "(" + strings.Join(names, ",") + ")"
}

// argsString prints call arguments with their kinds: (-5: int,'a': string).
func argsString(src []string, kinds []string) string {
	parts := make([]string, len(src))
	for i := range src {
		parts[i] = src[i] + ": " + kinds[i]
	}
	return "(" + strings.Join(parts, ",") + ")"
}
