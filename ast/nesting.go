package ast

import "fmt"

// MaxNesting is how deeply a script may nest expressions: parentheses,
// brackets, argument lists and prefix operators each open a level. The
// parser and the lambda compiler are recursive, and Go's stack overflow is
// fatal (a server taking scripts from outside would go down with it), so
// both reject deeper input with NestingError instead. A long chain at one
// level — `a + b + c …` or `stream|from()|window()…` — opens no level and
// has no limit.
const MaxNesting = 1000

// NestingError is the error for input nested more than MaxNesting levels
// deep, at the position of the token or node that opens level
// MaxNesting+1.
func NestingError(pos Pos) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(msgTooDeep, MaxNesting)}
}

const msgTooDeep = "expression nested too deeply: more than %d levels"
