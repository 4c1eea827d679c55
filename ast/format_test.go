package ast

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func id(name string) *Ident { return &Ident{Name: name} }

func TestFormatChain(t *testing.T) {
	from := &Chain{Receiver: id("stream"), Op: Pipe, Method: id("from"), Args: []Expr{}, Parens: true}
	meas := &Chain{Receiver: from, Op: Dot, Method: id("measurement"), Args: []Expr{&StringLit{Value: "cpu"}}, Parens: true}
	alert := &Chain{Receiver: meas, Op: Pipe, Method: id("alert"), Parens: true}
	crit := &Chain{Receiver: alert, Op: Dot, Method: id("crit"), Parens: true, Args: []Expr{
		&Lambda{Body: &Binary{Op: OpLt, X: &Reference{Name: "usage_idle"}, Y: &IntLit{Value: 10}}},
	}}
	p := &Program{Stmts: []Stmt{
		&DBRP{DB: &Reference{Name: "telegraf"}, RP: &Reference{Name: "autogen"}},
		&ExprStmt{X: crit},
	}}
	want := `dbrp "telegraf"."autogen"

stream
    |from()
        .measurement('cpu')
    |alert()
        .crit(lambda: "usage_idle" < 10)
`
	assert.Equal(t, want, Format(p))
	assert.Equal(t, `stream|from().measurement('cpu')|alert().crit(lambda: "usage_idle" < 10)`, FormatExpr(crit))
	assert.Equal(t, []*Chain{from, meas, alert, crit}, crit.Links())
	assert.Equal(t, []*Chain{from}, from.Links())
}

func TestFormatStatements(t *testing.T) {
	p := &Program{
		Stmts: []Stmt{
			&VarDecl{Pos: Pos{Offset: 10, Line: 2, Col: 1}, Name: id("a"), Value: &IntLit{Value: 1, Raw: "1"}},
			&VarDecl{Pos: Pos{Offset: 20, Line: 3, Col: 1}, Name: id("t"), Type: id("duration")},
			&VarDecl{Pos: Pos{Offset: 30, Line: 4, Col: 1}, Name: id("d"), Value: &Chain{
				Pos: Pos{Offset: 45, Line: 4, Col: 16}, Receiver: &Ident{Pos: Pos{Offset: 38, Line: 4, Col: 9}, Name: "stream"},
				Op: Pipe, Method: &Ident{Pos: Pos{Offset: 46, Line: 4, Col: 17}, Name: "from"}, Parens: true,
			}},
		},
		Comments: []*Comment{
			{Pos: Pos{Offset: 0, Line: 1, Col: 1}, Text: "// head\n// more"},
			{Pos: Pos{Offset: 14, Line: 2, Col: 5}, Text: "// after a", Trailing: true},
			{Pos: Pos{Offset: 60, Line: 5, Col: 1}, Text: "// tail"},
		},
	}
	want := `// head
// more
var a = 1 // after a
var t duration

var d = stream
    |from()

// tail
`
	assert.Equal(t, want, Format(p))
	assert.Equal(t, "", Format(&Program{}))
}

func TestFormatExprLiterals(t *testing.T) {
	tests := []struct {
		e    Expr
		want string
	}{
		{&StringLit{Value: "it's"}, `'it\'s'`},
		{&StringLit{Value: `a\nb`}, `'a\nb'`},
		{&StringLit{Value: "two\nlines", Triple: true}, "'''two\nlines'''"},
		{&StringLit{Value: "ends'", Triple: true}, `'ends\''`},
		{&StringLit{Value: `ends\`}, `'''ends\'''`},
		{&Reference{Name: `a"b`}, `"a\"b"`},
		{&RegexLit{Pattern: "a/b", Regexp: regexp.MustCompile("a/b")}, `/a\/b/`},
		{&DurationLit{Value: 90 * time.Second}, "90s"},
		{&DurationLit{Value: 2 * time.Hour, Raw: "120m"}, "120m"},
		{&DurationLit{Value: 1500 * time.Microsecond}, "1500u"},
		{&FloatLit{Value: 2}, "2.0"},
		{&FloatLit{Value: 0.5, Raw: ".5"}, ".5"},
		{&IntLit{Value: 8, Raw: "010"}, "010"},
		{&BoolLit{Value: true}, "TRUE"},
		{&Star{}, "*"},
		{&ListLit{Items: []Expr{id("host"), &StringLit{Value: "dc"}, &Star{}}}, `[host, 'dc', *]`},
		{&Call{Func: id("sigma"), Args: []Expr{&Reference{Name: "v"}, &IntLit{Value: 2}}}, `sigma("v", 2)`},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, FormatExpr(tc.e))
	}
}

func TestFormatParens(t *testing.T) {
	one, two, three := &IntLit{Value: 1}, &IntLit{Value: 2}, &IntLit{Value: 3}
	tests := []struct {
		e    Expr
		want string
	}{
		// Trees built by hand get the parentheses their shape needs.
		{&Binary{Op: OpSub, X: &Binary{Op: OpSub, X: one, Y: two}, Y: three}, "1 - 2 - 3"},
		{&Binary{Op: OpSub, X: one, Y: &Binary{Op: OpSub, X: two, Y: three}}, "1 - (2 - 3)"},
		{&Binary{Op: OpMul, X: &Binary{Op: OpAdd, X: one, Y: two}, Y: three}, "(1 + 2) * 3"},
		{&Binary{Op: OpAdd, X: one, Y: &Binary{Op: OpMul, X: two, Y: three}}, "1 + 2 * 3"},
		{&Unary{Op: OpNot, X: &Binary{Op: OpGt, X: &Reference{Name: "v"}, Y: two}}, `!("v" > 2)`},
		{&Unary{Op: OpNeg, X: &Unary{Op: OpNeg, X: one}}, "--1"},
		// A Paren is printed as written.
		{&Paren{X: &Binary{Op: OpAdd, X: one, Y: two}}, "(1 + 2)"},
		{&Binary{Op: OpAdd, X: &Paren{X: one}, Y: two}, "(1) + 2"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, FormatExpr(tc.e))
	}
}
