package parser

import (
	"github.com/alecthomas/participle/v2/lexer"

	"github.com/tickrun/tickrun/ast"
)

// nesting counts, token by token, the nesting levels the parser will
// recurse through: each open bracket ("(" of a group, a call or a chain
// method, "[" of a list) and each prefix operator still waiting for its
// operand is one level. The grammar, the lowering and the lambda compiler
// recurse once (or a bounded number of times) per level, never per item of
// a list or link of a chain, so bounding the levels bounds every recursion
// on the script (ast.MaxNesting).
type nesting struct {
	open      []bool // per open level: true for a bracket, false for a prefix operator
	afterName bool   // the last token was an identifier: "(" now opens its call
}

// add accounts for t and reports whether t opens level ast.MaxNesting+1.
func (n *nesting) add(t lexer.Token) bool {
	if n.afterName {
		n.afterName = false
		if t.Type != tokPunct || t.Value != "(" {
			n.operandDone() // the identifier was the operand
		}
	}
	switch t.Type {
	case tokUnary:
		n.open = append(n.open, false)
	case tokIdent:
		n.afterName = true
		return false
	case tokBool, tokNumber, tokDuration, tokString, tokReference, tokRegex, tokStar:
		n.operandDone()
		return false
	case tokPunct:
		switch t.Value {
		case "(", "[":
			n.open = append(n.open, true)
		case ")", "]":
			// Close the bracket, with any prefix operator left open inside
			// it (a syntax error the parser reports); the group, call or
			// list is an operand.
			for len(n.open) > 0 {
				bracket := n.open[len(n.open)-1]
				n.open = n.open[:len(n.open)-1]
				if bracket {
					break
				}
			}
			n.operandDone()
			return false
		default:
			return false
		}
	default:
		return false
	}
	return len(n.open) > ast.MaxNesting
}

// operandDone closes the prefix operators an operand completes.
func (n *nesting) operandDone() {
	for len(n.open) > 0 && !n.open[len(n.open)-1] {
		n.open = n.open[:len(n.open)-1]
	}
}

// tooDeep returns the error for a script the lexer cut at pos, where the
// nesting went past ast.MaxNesting; toks are the tokens before pos and an
// EOF there. A syntax error before pos comes first, as it would without the
// cut: the parser reports the first problem.
func tooDeep(parse func(*lexer.PeekingLexer) error, toks []lexer.Token, pos lexer.Position, atEnd string) *ast.Error {
	if err := parse(upgrade(toks)); err != nil {
		if e := syntaxError(err, toks, atEnd); e.Pos.Offset < pos.Offset {
			return e
		}
	}
	return ast.NestingError(toPos(pos))
}
