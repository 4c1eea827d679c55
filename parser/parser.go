package parser

import (
	"github.com/alecthomas/participle/v2/lexer"

	"github.com/tickrun/tickrun/ast"
)

// Parse parses the TICKscript src, named name in positions and errors. On
// failure it returns a single *ast.Error: the first lexical or syntax error,
// or the error of ast.NestingError for expressions nested more than
// ast.MaxNesting levels deep (parentheses, brackets, argument lists and
// prefix operators).
func Parse(name, src string) (*ast.Program, error) {
	s := scan(name, src)
	toks, comments := s.toks, s.comments
	if s.deep {
		return nil, tooDeep(parseProgramOnly, toks, s.deepPos, wantStatement)
	}
	g, err := programParser.ParseFromLexer(upgrade(toks))
	if err != nil {
		return nil, syntaxError(err, toks, wantStatement)
	}
	l := &lowering{}
	p := l.program(g)
	if l.err != nil {
		return nil, l.err
	}
	p.Comments = comments
	return p, nil
}

// ParseExpr parses a bare lambda body: an operator expression without the
// "lambda:" introducer, such as the match expression of a topic handler,
// `level() >= WARNING AND "host" == 'web01'`. Comments are allowed and
// dropped.
func ParseExpr(name, src string) (ast.Expr, error) {
	s := scan(name, src)
	toks := s.toks
	if s.deep {
		return nil, tooDeep(parseExprOnly, toks, s.deepPos, wantOperator)
	}
	g, err := parseOpExpr(upgrade(toks))
	if err != nil {
		return nil, syntaxError(err, toks, wantOperator)
	}
	l := &lowering{}
	x := l.opExpr(g)
	if l.err != nil {
		return nil, l.err
	}
	return x, nil
}

// What may follow a complete statement or expression, for error messages.
const (
	wantStatement = "a statement (var, dbrp or an expression)"
	wantOperator  = "an operator or the end of the expression"
)

// parseProgramOnly and parseExprOnly parse without lowering, for tooDeep.
func parseProgramOnly(lex *lexer.PeekingLexer) error {
	_, err := programParser.ParseFromLexer(lex)
	return err
}

func parseExprOnly(lex *lexer.PeekingLexer) error {
	_, err := parseOpExpr(lex)
	return err
}

func upgrade(toks []lexer.Token) *lexer.PeekingLexer {
	p, err := lexer.Upgrade(&sliceLexer{toks: toks})
	if err != nil { // sliceLexer never fails
		panic(err)
	}
	return p
}
