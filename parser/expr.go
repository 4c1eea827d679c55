package parser

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"

	"github.com/tickrun/tickrun/ast"
)

// opExpr is an operator expression (language.md §4: Unary { binop Unary },
// with function calls and groups as operands), as a lambda body, a
// declared value or the head of a chain. participle hands the tokens to
// its Parse method (participle.Parseable) instead of matching a grammar:
// the expression is the bulk of most scripts, and participle's reflection,
// branches and captures cost some 6 kB and 15 µs per operand, while this
// recursive descent builds the ast nodes directly. It recurses only into
// groups and argument lists, which the lexer bounds to ast.MaxNesting
// levels; operators and prefix operators are loops.
type opExpr struct {
	X         ast.Expr   // the expression, folded by precedence
	chainable bool       // a bare identifier or a call: it may start a chain
	err       *ast.Error // a literal that did not convert (see lowering.literal)
}

var _ participle.Parseable = (*opExpr)(nil)

// Parse parses an operator expression from lex. It returns
// participle.NextMatch when the next token cannot start one, so that
// participle tries the other alternatives, and an
// *participle.UnexpectedTokenError naming what was wanted, as participle's
// own grammar did, so that syntaxError words both the same way.
func (o *opExpr) Parse(lex *lexer.PeekingLexer) error {
	if !startsOperand(lex.Peek()) {
		return participle.NextMatch
	}
	p := &exprParser{lex: lex}
	x, err := p.opExpr()
	if err != nil {
		return err
	}
	o.X, o.err = x, p.low.err
	switch x.(type) {
	case *ast.Ident, *ast.Call:
		o.chainable = true
	}
	return nil
}

// exprParser is the state of one opExpr parse.
type exprParser struct {
	lex *lexer.PeekingLexer
	low lowering // for literal, and its first error
}

// What participle's grammar named, for syntaxError's table.
const (
	expectOperand = "Unary"
	expectClose   = `")"`
)

func (p *exprParser) unexpected(want string) error {
	return &participle.UnexpectedTokenError{Unexpected: *p.lex.Peek(), Expect: want}
}

// opExpr parses operands and the binary operators between them and folds
// them by precedence (climbFrom).
func (p *exprParser) opExpr() (ast.Expr, error) {
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	if t := p.lex.Peek(); t.Type != tokOp {
		return x, nil // one operand: the common case, with no slices
	}
	operands := []ast.Expr{x}
	var ops []ast.Op
	var opPos []ast.Pos
	for p.lex.Peek().Type == tokOp {
		t := p.lex.Next()
		y, err := p.unary()
		if err != nil {
			return nil, err
		}
		operands = append(operands, y)
		ops = append(ops, ast.BinaryOps[t.Value])
		opPos = append(opPos, toPos(t.Pos))
	}
	return climbFrom(operands, ops, opPos), nil
}

// unary parses prefix operators and their operand; a run of them is a
// loop, the operand's nodes are wrapped innermost first.
func (p *exprParser) unary() (ast.Expr, error) {
	var prefix []*lexer.Token
	for p.lex.Peek().Type == tokUnary {
		prefix = append(prefix, p.lex.Next())
	}
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for i := len(prefix) - 1; i >= 0; i-- {
		op := ast.OpNeg
		if prefix[i].Value == "!" {
			op = ast.OpNot
		}
		x = &ast.Unary{Pos: toPos(prefix[i].Pos), Op: op, X: x}
	}
	return x, nil
}

// primary parses an operand: a group, a literal, a call or an identifier.
func (p *exprParser) primary() (ast.Expr, error) {
	t := p.lex.Peek()
	switch {
	case t.Type == tokPunct && t.Value == "(":
		p.lex.Next()
		x, err := p.opExpr()
		if err != nil {
			return nil, err
		}
		if !isPunct(p.lex.Peek(), ")") {
			return nil, p.unexpected(expectClose)
		}
		p.lex.Next()
		return &ast.Paren{Pos: toPos(t.Pos), X: x}, nil
	case t.Type == tokIdent:
		p.lex.Next()
		if !isPunct(p.lex.Peek(), "(") {
			return &ast.Ident{Pos: toPos(t.Pos), Name: t.Value}, nil
		}
		p.lex.Next()
		return p.call(t)
	case isLiteral(t):
		p.lex.Next()
		return p.low.literal(*t), nil
	}
	return nil, p.unexpected(expectOperand)
}

// call parses the arguments of name( up to the closing parenthesis; a
// trailing comma is allowed.
func (p *exprParser) call(name *lexer.Token) (ast.Expr, error) {
	c := &ast.Call{Pos: toPos(name.Pos), Func: &ast.Ident{Pos: toPos(name.Pos), Name: name.Value}, Args: []ast.Expr{}}
	for !isPunct(p.lex.Peek(), ")") {
		if !startsOperand(p.lex.Peek()) {
			return nil, p.unexpected(expectClose)
		}
		x, err := p.opExpr()
		if err != nil {
			return nil, err
		}
		c.Args = append(c.Args, x)
		if !isPunct(p.lex.Peek(), ",") {
			if !isPunct(p.lex.Peek(), ")") {
				return nil, p.unexpected(expectClose)
			}
			break
		}
		p.lex.Next()
	}
	p.lex.Next()
	return c, nil
}

// startsOperand reports whether t may start an operand.
func startsOperand(t *lexer.Token) bool {
	return t.Type == tokUnary || t.Type == tokIdent || isLiteral(t) || isPunct(t, "(")
}

// isLiteral reports whether t is a literal operand.
func isLiteral(t *lexer.Token) bool {
	switch t.Type {
	case tokNumber, tokDuration, tokString, tokBool, tokRegex, tokStar, tokReference:
		return true
	}
	return false
}

// parseOpExpr parses a whole token stream as one operator expression, for
// ParseExpr: what follows the expression is an error.
func parseOpExpr(lex *lexer.PeekingLexer) (*opExpr, error) {
	o := &opExpr{}
	if err := o.Parse(lex); err != nil {
		if err == participle.NextMatch {
			return nil, &participle.UnexpectedTokenError{Unexpected: *lex.Peek(), Expect: expectOperand}
		}
		return nil, err
	}
	if t := lex.Peek(); !t.EOF() {
		return nil, &participle.UnexpectedTokenError{Unexpected: *t}
	}
	return o, nil
}
