package eval_test

import (
	"fmt"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/parser"
)

// parseExpr parses a lambda body with the real parser, so test tables are
// written as TICKscript text.
func parseExpr(src string) (ast.Expr, error) {
	return parser.ParseExpr("lambda", src)
}

func mustParse(src string) ast.Expr {
	x, err := parseExpr(src)
	if err != nil {
		panic(fmt.Sprintf("parse %q: %v", src, err))
	}
	return x
}
