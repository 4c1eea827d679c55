package ast

import (
	"regexp"
	"time"
)

// Node is any element of the syntax tree.
type Node interface {
	// Position returns where the node starts in the source.
	Position() Pos
	node()
}

// Stmt is a top-level statement.
type Stmt interface {
	Node
	stmt()
}

// Expr is an expression: a literal, a reference, an operator, a lambda, a
// list, a function call or a chain of node methods.
type Expr interface {
	Node
	expr()
}

// Program is a parsed script: its statements in source order.
type Program struct {
	Stmts    []Stmt
	Comments []*Comment // every comment, in source order (for the printer)
}

// Comment is a run of consecutive "//" comment lines.
type Comment struct {
	Pos  Pos
	Text string // the comment text including the leading "//" of each line
	// Trailing is set when the comment starts on a line after code, as in
	// `var x = 5 // five`: Format keeps it at the end of the line. Like Pos,
	// it is layout, not meaning.
	Trailing bool
}

// VarDecl is "var Name = Value" or, with Type set and Value nil, the typed
// declaration "var Name Type" whose value is supplied from outside.
type VarDecl struct {
	Pos   Pos
	Name  *Ident
	Type  *Ident // set for a typed declaration
	Value Expr   // set for an assignment
}

// DBRP is `dbrp "db"."rp"`.
type DBRP struct {
	Pos Pos
	DB  *Reference
	RP  *Reference
}

// ExprStmt is an expression standing alone as a statement, usually a chain
// such as `stream|from()...`.
type ExprStmt struct {
	X Expr
}

// Ident is an identifier: a variable, a method or a function name.
type Ident struct {
	Pos  Pos
	Name string
}

// IntLit is an integer literal (octal when written with a leading 0).
type IntLit struct {
	Pos   Pos
	Value int64
	Raw   string // as written
}

// FloatLit is a float literal.
type FloatLit struct {
	Pos   Pos
	Value float64
	Raw   string
}

// DurationLit is a duration literal such as 10s or 5m.
type DurationLit struct {
	Pos   Pos
	Value time.Duration
	Raw   string
}

// StringLit is a single- or triple-quoted string literal.
type StringLit struct {
	Pos    Pos
	Value  string // with \' unescaped
	Triple bool   // written with '''
}

// BoolLit is TRUE or FALSE.
type BoolLit struct {
	Pos   Pos
	Value bool
}

// RegexLit is a /regex/ literal.
type RegexLit struct {
	Pos     Pos
	Pattern string         // with \/ unescaped: what RE2 compiles
	Regexp  *regexp.Regexp // compiled by the parser
}

// Star is the * literal (groupBy(*)).
type Star struct {
	Pos Pos
}

// Reference is a "double-quoted" name: a field or tag inside a lambda.
type Reference struct {
	Pos  Pos
	Name string // with \" unescaped
}

// ListLit is a [a, 'b', *] string list.
type ListLit struct {
	Pos   Pos
	Items []Expr // *Ident, *StringLit or *Star
}

// Lambda is "lambda: Body".
type Lambda struct {
	Pos  Pos
	Body Expr
}

// Unary is a prefix operator applied to an operand.
type Unary struct {
	Pos Pos
	Op  Op // OpNeg or OpNot
	X   Expr
}

// Binary is a binary operator expression.
type Binary struct {
	Pos   Pos // position of the left operand
	OpPos Pos // position of the operator
	Op    Op
	X, Y  Expr
}

// Paren is a parenthesised expression; kept so the printer can reproduce
// the user's grouping.
type Paren struct {
	Pos Pos
	X   Expr
}

// Call is a function call inside an expression, e.g. sigma("value").
type Call struct {
	Pos  Pos
	Func *Ident
	Args []Expr
}

// ChainOp is the operator linking a chain method to its receiver.
type ChainOp int

const (
	// Pipe is "|": a chaining method creating a child node.
	Pipe ChainOp = iota
	// Dot is ".": a property method on the receiver.
	Dot
	// At is "@": a user-defined function (UDF) node.
	At
)

// String returns the operator as written.
func (o ChainOp) String() string {
	switch o {
	case Pipe:
		return "|"
	case Dot:
		return "."
	case At:
		return "@"
	}
	return "?"
}

// Chain is one link of a method chain: Receiver Op Method(Args).
// `stream|from().measurement('cpu')` is a Chain (.measurement) whose
// receiver is a Chain (|from) whose receiver is the Ident stream.
type Chain struct {
	Pos      Pos // position of the operator
	Receiver Expr
	Op       ChainOp
	Method   *Ident
	Args     []Expr
	Parens   bool // false for a property read written without parentheses
}

func (*VarDecl) node()     {}
func (*DBRP) node()        {}
func (*ExprStmt) node()    {}
func (*Ident) node()       {}
func (*IntLit) node()      {}
func (*FloatLit) node()    {}
func (*DurationLit) node() {}
func (*StringLit) node()   {}
func (*BoolLit) node()     {}
func (*RegexLit) node()    {}
func (*Star) node()        {}
func (*Reference) node()   {}
func (*ListLit) node()     {}
func (*Lambda) node()      {}
func (*Unary) node()       {}
func (*Binary) node()      {}
func (*Paren) node()       {}
func (*Call) node()        {}
func (*Chain) node()       {}

func (*VarDecl) stmt()  {}
func (*DBRP) stmt()     {}
func (*ExprStmt) stmt() {}

func (*Ident) expr()       {}
func (*IntLit) expr()      {}
func (*FloatLit) expr()    {}
func (*DurationLit) expr() {}
func (*StringLit) expr()   {}
func (*BoolLit) expr()     {}
func (*RegexLit) expr()    {}
func (*Star) expr()        {}
func (*Reference) expr()   {}
func (*ListLit) expr()     {}
func (*Lambda) expr()      {}
func (*Unary) expr()       {}
func (*Binary) expr()      {}
func (*Paren) expr()       {}
func (*Call) expr()        {}
func (*Chain) expr()       {}

// Position implementations.

// Position returns where the node starts.
func (n *VarDecl) Position() Pos { return n.Pos }

// Position returns where the node starts.
func (n *DBRP) Position() Pos { return n.Pos }

// Position returns where the node starts.
func (n *ExprStmt) Position() Pos { return n.X.Position() }

// Position returns where the node starts.
func (n *Ident) Position() Pos { return n.Pos }

// Position returns where the node starts.
func (n *IntLit) Position() Pos { return n.Pos }

// Position returns where the node starts.
func (n *FloatLit) Position() Pos { return n.Pos }

// Position returns where the node starts.
func (n *DurationLit) Position() Pos { return n.Pos }

// Position returns where the node starts.
func (n *StringLit) Position() Pos { return n.Pos }

// Position returns where the node starts.
func (n *BoolLit) Position() Pos { return n.Pos }

// Position returns where the node starts.
func (n *RegexLit) Position() Pos { return n.Pos }

// Position returns where the node starts.
func (n *Star) Position() Pos { return n.Pos }

// Position returns where the node starts.
func (n *Reference) Position() Pos { return n.Pos }

// Position returns where the node starts.
func (n *ListLit) Position() Pos { return n.Pos }

// Position returns where the node starts.
func (n *Lambda) Position() Pos { return n.Pos }

// Position returns where the node starts.
func (n *Unary) Position() Pos { return n.Pos }

// Position returns where the node starts.
func (n *Binary) Position() Pos { return n.Pos }

// Position returns where the node starts.
func (n *Paren) Position() Pos { return n.Pos }

// Position returns where the node starts.
func (n *Call) Position() Pos { return n.Pos }

// Position returns where the node starts.
func (n *Chain) Position() Pos { return n.Pos }

// Links returns the links of the chain ending at c, innermost (first
// written) first: for `stream|from().measurement('cpu')`, the |from and
// the .measurement links; Links()[0].Receiver is the head, stream. It walks
// the receivers with a loop, so a walker that visits the links in this
// order does not recurse once per link of a long chain.
func (c *Chain) Links() []*Chain {
	var links []*Chain
	for {
		links = append(links, c)
		r, ok := c.Receiver.(*Chain)
		if !ok {
			break
		}
		c = r
	}
	for i, j := 0, len(links)-1; i < j; i, j = i+1, j-1 {
		links[i], links[j] = links[j], links[i]
	}
	return links
}
