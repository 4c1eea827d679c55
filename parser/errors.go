package parser

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"

	"github.com/tickrun/tickrun/ast"
)

// What the parser wanted, in TICKscript words, keyed by the first element
// of participle's expectation (the grammar struct or literal it tried).
// The keys are grammar names; the values are what a user reads.
var expectations = []struct{ prefix, want string }{
	{`")"`, `")"`},
	{`"]"`, `"]"`},
	{`"("`, `"("`},
	{`"."`, `"."`},
	{`"="`, `"="`},
	{`<reference>`, `reference`},
	{`MethodCall`, `identifier`},
	{`Property`, `identifier`},
	{`Ident (`, `identifier`},
	{`Ident`, `identifier`},
	{`(("=" Expression) | Ident)`, `"=" or a type name`},
	{`Unary`, operandWant},
	{`opExpr`, operandWant},
	{`Expression`, `an expression (a name, a literal, lambda: or a list)`},
}

// operandWant lists what may start an operand (language.md §4, Primary).
const operandWant = `an operand: number, duration, string, reference, regex, identifier, TRUE, FALSE, "(", "-" or "!"`

// syntaxError rewrites a participle error as a positioned *ast.Error in
// TICKscript words: "unexpected <found>, expected <wanted>"; atEnd says
// what may follow a complete statement (Parse) or expression (ParseExpr). A lexer error
// reached by the parser is reported with the lexer's own message.
func syntaxError(err error, toks []lexer.Token, atEnd string) *ast.Error {
	var ute *participle.UnexpectedTokenError
	if errors.As(err, &ute) {
		tok := ute.Unexpected
		if tok.Type == tokError {
			return &ast.Error{Pos: toPos(tok.Pos), Msg: tok.Value}
		}
		if msg := hint(toks, tok); msg != "" {
			return &ast.Error{Pos: toPos(tok.Pos), Msg: msg}
		}
		msg := "unexpected " + describe(tok)
		if want := expected(ute.Message(), prevToken(toks, tok), atEnd); want != "" {
			msg += ", expected " + want
		}
		return &ast.Error{Pos: toPos(tok.Pos), Msg: msg}
	}
	var pe participle.Error
	if errors.As(err, &pe) {
		return &ast.Error{Pos: toPos(pe.Position()), Msg: pe.Message()}
	}
	return &ast.Error{Pos: ast.Pos{Line: 1, Col: 1}, Msg: err.Error()}
}

// hint returns the message for an unexpected token that shows what was
// meant — `=` for ==, `and` for AND — or "" for the usual message.
func hint(toks []lexer.Token, tok lexer.Token) string {
	i := tokenIndex(toks, tok)
	if i <= 0 {
		return ""
	}
	prev := &toks[i-1]
	if !isOperandToken(prev) && !isPunct(prev, ")", "]") {
		return ""
	}
	switch {
	case tok.Type == tokPunct && tok.Value == "=":
		// `x = 5` where a statement starts is a declaration without var;
		// anywhere else it is a comparison.
		if prev.Type == tokIdent && (i == 1 || isOperandToken(&toks[i-2]) || isPunct(&toks[i-2], ")", "]")) {
			return fmt.Sprintf(msgAssignVar, prev.Value)
		}
		return msgAssign
	case tok.Type == tokIdent && (strings.EqualFold(tok.Value, "and") || strings.EqualFold(tok.Value, "or")):
		return fmt.Sprintf(msgLowerOp, tok.Value, strings.ToUpper(tok.Value))
	}
	return ""
}

// tokenIndex returns the index of tok in toks, or -1.
func tokenIndex(toks []lexer.Token, tok lexer.Token) int {
	i := sort.Search(len(toks), func(i int) bool { return toks[i].Pos.Offset >= tok.Pos.Offset })
	if i < len(toks) && toks[i].Pos.Offset == tok.Pos.Offset {
		return i
	}
	return -1
}

// expected turns participle's expectation, found at the end of msg, into
// TICKscript words. atEnd is what may follow a complete statement or
// expression.
func expected(msg string, prev *lexer.Token, atEnd string) string {
	i := strings.Index(msg, " (expected ")
	if i < 0 {
		if prev == nil || prev.Type == tokPunct && prev.Value == ")" || isOperandToken(prev) {
			return atEnd
		}
		return ""
	}
	exp := strings.TrimSuffix(msg[i+len(" (expected "):], ")")
	for _, e := range expectations {
		if strings.HasPrefix(exp, e.prefix) {
			if e.want == `"]"` && isPunct(prev, "[", ",") {
				return `a list item (identifier, string or "*") or "]"`
			}
			if e.want == `")"` && prev != nil && prev.Type == tokPunct && (prev.Value == "(" || prev.Value == ",") {
				return `an argument or ")"`
			}
			return e.want
		}
	}
	return ""
}

func isPunct(t *lexer.Token, values ...string) bool {
	if t == nil || t.Type != tokPunct {
		return false
	}
	for _, v := range values {
		if t.Value == v {
			return true
		}
	}
	return false
}

func isOperandToken(t *lexer.Token) bool {
	switch t.Type {
	case tokIdent, tokBool, tokNumber, tokDuration, tokString, tokReference, tokRegex, tokStar:
		return true
	}
	return false
}

// prevToken returns the token before tok, or nil.
func prevToken(toks []lexer.Token, tok lexer.Token) *lexer.Token {
	for i := range toks {
		if toks[i].Pos.Offset >= tok.Pos.Offset {
			if i == 0 {
				return nil
			}
			return &toks[i-1]
		}
	}
	return nil
}

// describe names a token for an error message.
func describe(t lexer.Token) string {
	switch t.Type {
	case lexer.EOF:
		return "end of script"
	case tokIdent:
		return "identifier " + t.Value
	case tokKeyword:
		return "keyword " + t.Value
	case tokLambda, tokBool:
		return t.Value
	case tokNumber:
		return "number " + t.Value
	case tokDuration:
		return "duration " + t.Value
	case tokString:
		return "string " + shorten(t.Value)
	case tokReference:
		return "reference " + shorten(t.Value)
	case tokRegex:
		return "regex " + shorten(t.Value)
	}
	return `"` + t.Value + `"`
}

// shorten cuts a long literal for an error message.
func shorten(s string) string {
	const max = 24
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
