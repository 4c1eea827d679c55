package parser

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// The grammar of language.md §4 as participle structs. They are not the
// syntax tree: lower.go turns them into ast nodes. Operator expressions
// (opExpr) are parsed by hand in expr.go and folded by precedence in
// lower.go.

// program is a whole script.
type program struct {
	Pos   lexer.Position
	Stmts []*statement `parser:"@@*"`
}

// statement is a declaration, a dbrp statement or an expression.
type statement struct {
	Pos  lexer.Position
	Var  *varDecl    `parser:"  @@"`
	DBRP *dbrpStmt   `parser:"| @@"`
	Expr *expression `parser:"| @@"`
}

// varDecl is "var name = Expression" or the typed "var name type".
type varDecl struct {
	Pos   lexer.Position
	Name  *ident      `parser:"\"var\" @@"`
	Value *expression `parser:"( \"=\" @@"`
	Type  *ident      `parser:"| @@ )"`
}

// dbrpStmt is `parser:"dbrp \"db\".\"rp\""`.
type dbrpStmt struct {
	Pos lexer.Position
	DB  lexer.Token `parser:"\"dbrp\" @Reference"`
	RP  lexer.Token `parser:"\".\" @Reference"`
}

// ident is an identifier with its position.
type ident struct {
	Pos  lexer.Position
	Name string `parser:"@Ident"`
}

// expression is what a declaration binds, a statement holds or an
// argument of a chain method is.
type expression struct {
	Pos    lexer.Position
	Lambda *opExpr     `parser:"  Lambda @@"`
	List   *stringList `parser:"| @@"`
	Chain  *chainExpr  `parser:"| @@"`
}

// chainExpr is an operator expression optionally followed by chain links.
// Links are only valid after an identifier or a call; lower.go checks that.
type chainExpr struct {
	Pos   lexer.Position
	Head  *opExpr `parser:"@@"`
	Links []*link `parser:"@@*"`
}

// link is one |method(...), .property[(...)] or @udf(...).
type link struct {
	Pos  lexer.Position
	Pipe *methodCall `parser:"  \"|\" @@"`
	At   *methodCall `parser:"| \"@\" @@"`
	Dot  *property   `parser:"| \".\" @@"`
}

// methodCall is the name and mandatory argument list of a | or @ link.
type methodCall struct {
	Pos    lexer.Position
	Method *ident        `parser:"@@"`
	Args   []*expression `parser:"\"(\" ( @@ ( \",\" @@ )* \",\"? )? \")\""`
}

// property is the name and optional argument list of a . link.
type property struct {
	Pos    lexer.Position
	Method *ident        `parser:"@@"`
	Parens bool          `parser:"( @\"(\""`
	Args   []*expression `parser:"  ( @@ ( \",\" @@ )* \",\"? )? \")\" )?"`
}

// stringList is [a, 'b', *].
type stringList struct {
	Pos   lexer.Position
	Items []*listItem `parser:"\"[\" ( @@ ( \",\" @@ )* \",\"? )? \"]\""`
}

// listItem is an identifier, a string or *.
type listItem struct {
	Tok lexer.Token `parser:"@(Ident | String | Star)"`
}

// The parser is built once; a built participle parser is safe for
// concurrent use. It is built in init, not in a var initializer, because
// participle reaches the token table only through an interface, which Go's
// initialization order does not see.
var programParser *participle.Parser[program]

func init() {
	opts := []participle.Option{
		participle.Lexer(definition{}),
		participle.UseLookahead(participle.MaxLookahead),
	}
	programParser = participle.MustBuild[program](opts...)
}
