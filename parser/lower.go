package parser

import (
	"regexp"
	"strconv"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/tickrun/tickrun/ast"
)

// lowering turns grammar structs into ast nodes. It stops at the first
// error, which it keeps in err.
type lowering struct {
	err *ast.Error
}

func (l *lowering) fail(pos ast.Pos, format string, args ...any) {
	if l.err == nil {
		l.err = ast.Errorf(pos, format, args...)
	}
}

func (l *lowering) program(p *program) *ast.Program {
	out := &ast.Program{}
	for _, s := range p.Stmts {
		out.Stmts = append(out.Stmts, l.statement(s))
	}
	return out
}

func (l *lowering) statement(s *statement) ast.Stmt {
	switch {
	case s.Var != nil:
		d := &ast.VarDecl{Pos: toPos(s.Var.Pos), Name: lowerIdent(s.Var.Name)}
		if s.Var.Type != nil {
			d.Type = lowerIdent(s.Var.Type)
		} else {
			d.Value = l.expression(s.Var.Value)
		}
		return d
	case s.DBRP != nil:
		return &ast.DBRP{
			Pos: toPos(s.DBRP.Pos),
			DB:  lowerReference(s.DBRP.DB),
			RP:  lowerReference(s.DBRP.RP),
		}
	default:
		return &ast.ExprStmt{X: l.expression(s.Expr)}
	}
}

func lowerIdent(i *ident) *ast.Ident {
	return &ast.Ident{Pos: toPos(i.Pos), Name: i.Name}
}

func lowerReference(t lexer.Token) *ast.Reference {
	return &ast.Reference{Pos: toPos(t.Pos), Name: unquote(t.Value, '"')}
}

func (l *lowering) expression(e *expression) ast.Expr {
	switch {
	case e.Lambda != nil:
		return &ast.Lambda{Pos: toPos(e.Pos), Body: l.opExpr(e.Lambda)}
	case e.List != nil:
		list := &ast.ListLit{Pos: toPos(e.List.Pos), Items: []ast.Expr{}}
		for _, t := range e.List.Items {
			list.Items = append(list.Items, l.literal(t.Tok))
		}
		return list
	default:
		return l.chain(e.Chain)
	}
}

// chain lowers a head expression and its links into nested ast.Chain
// nodes, innermost first.
func (l *lowering) chain(c *chainExpr) ast.Expr {
	x := l.opExpr(c.Head)
	if len(c.Links) > 0 && !c.Head.chainable {
		first := c.Links[0]
		l.fail(toPos(first.Pos), "unexpected %q, only a name or a call can start a chain", linkOp(first).String())
		return x
	}
	for _, k := range c.Links {
		ch := &ast.Chain{Pos: toPos(k.Pos), Receiver: x, Op: linkOp(k)}
		switch {
		case k.Pipe != nil:
			ch.Method, ch.Args, ch.Parens = lowerIdent(k.Pipe.Method), l.args(k.Pipe.Args), true
		case k.At != nil:
			ch.Method, ch.Args, ch.Parens = lowerIdent(k.At.Method), l.args(k.At.Args), true
		default:
			ch.Method, ch.Parens = lowerIdent(k.Dot.Method), k.Dot.Parens
			if k.Dot.Parens {
				ch.Args = l.args(k.Dot.Args)
			}
		}
		x = ch
	}
	return x
}

func linkOp(k *link) ast.ChainOp {
	switch {
	case k.Pipe != nil:
		return ast.Pipe
	case k.At != nil:
		return ast.At
	}
	return ast.Dot
}

func (l *lowering) args(in []*expression) []ast.Expr {
	out := []ast.Expr{}
	for _, a := range in {
		out = append(out, l.expression(a))
	}
	return out
}

// opExpr returns the expression expr.go parsed, reporting a literal it
// could not convert.
func (l *lowering) opExpr(o *opExpr) ast.Expr {
	if o.err != nil {
		l.fail(o.err.Pos, "%s", o.err.Msg)
	}
	return o.X
}

// climbFrom is the precedence-climbing fold over operands and the
// operators between them; all binary operators are left-associative
// (language.md §7). It recurses once per precedence level, not per
// operator.
func climbFrom(operands []ast.Expr, ops []ast.Op, opPos []ast.Pos) ast.Expr {
	next := 0 // index of the next operator
	var climb func(minPrec int) ast.Expr
	climb = func(minPrec int) ast.Expr {
		x := operands[next]
		for next < len(ops) && ops[next].Precedence() >= minPrec {
			op, pos := ops[next], opPos[next]
			next++
			y := climb(op.Precedence() + 1)
			x = &ast.Binary{Pos: x.Position(), OpPos: pos, Op: op, X: x, Y: y}
		}
		return x
	}
	return climb(0)
}

// literal lowers a literal token. The lexer has already checked that
// numbers, durations and regexes are valid, so conversions cannot fail
// here; if one does anyway, it is reported rather than ignored.
func (l *lowering) literal(t lexer.Token) ast.Expr {
	pos := toPos(t.Pos)
	switch t.Type {
	case tokIdent:
		return &ast.Ident{Pos: pos, Name: t.Value}
	case tokStar:
		return &ast.Star{Pos: pos}
	case tokBool:
		return &ast.BoolLit{Pos: pos, Value: t.Value == "TRUE"}
	case tokReference:
		return &ast.Reference{Pos: pos, Name: unquote(t.Value, '"')}
	case tokString:
		if len(t.Value) >= 6 && t.Value[:3] == "'''" {
			return &ast.StringLit{Pos: pos, Value: t.Value[3 : len(t.Value)-3], Triple: true}
		}
		return &ast.StringLit{Pos: pos, Value: unquote(t.Value, '\'')}
	case tokRegex:
		pattern := unquote(t.Value, '/')
		re, err := regexp.Compile(pattern)
		if err != nil {
			l.fail(pos, "%v", err)
		}
		return &ast.RegexLit{Pos: pos, Pattern: pattern, Regexp: re}
	case tokDuration:
		d, err := parseDuration(splitDuration(t.Value))
		if err != nil {
			l.fail(pos, "%v", err)
		}
		return &ast.DurationLit{Pos: pos, Value: d, Raw: t.Value}
	case tokNumber:
		if isFloat(t.Value) {
			f, err := strconv.ParseFloat(t.Value, 64)
			if err != nil {
				l.fail(pos, msgIllegalNumber, t.Value)
			}
			return &ast.FloatLit{Pos: pos, Value: f, Raw: t.Value}
		}
		n, err := strconv.ParseInt(t.Value, 0, 64)
		if err != nil {
			l.fail(pos, msgIllegalNumber, t.Value)
		}
		return &ast.IntLit{Pos: pos, Value: n, Raw: t.Value}
	}
	l.fail(pos, "unexpected %s", describe(t))
	return &ast.Ident{Pos: pos, Name: t.Value}
}

func isFloat(raw string) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] == '.' {
			return true
		}
	}
	return false
}
