package ast

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// Format prints p as canonical TICKscript, in the style of Kapacitor's
// tickfmt: one statement after another, separated by a blank line (runs of
// one-line var declarations and of dbrp statements stay together); a chain
// puts each |link on its own line indented by 4 spaces and each .property
// of a node on its own line indented by 8; lambdas and other expressions
// print on one line with the parentheses the user wrote.
//
// Comments are printed before the statement they precede or sit inside
// (best effort: a comment inside a chain moves above the statement).
// Parsing the result gives back p up to positions.
func Format(p *Program) string {
	var b strings.Builder
	comments := attachComments(p)
	var prev Stmt
	for i, s := range p.Stmts {
		if i > 0 {
			b.WriteByte('\n')
			if !keepTogether(prev, s) || len(comments[i]) > 0 {
				b.WriteByte('\n')
			}
		}
		writeComments(&b, comments[i])
		formatStmt(&b, s)
		prev = s
	}
	if trailing := comments[len(p.Stmts)]; len(trailing) > 0 {
		if len(p.Stmts) > 0 {
			b.WriteString("\n\n")
		}
		writeComments(&b, trailing)
	}
	out := b.String()
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	return out
}

// FormatExpr prints e on one line; chains are written inline
// (stream|from().measurement('cpu')).
func FormatExpr(e Expr) string {
	var b strings.Builder
	formatExpr(&b, e)
	return b.String()
}

// writeComments prints comments, one block per Comment; separate comments
// are kept apart by a blank line so that parsing does not merge them.
func writeComments(b *strings.Builder, cs []*Comment) {
	for i, c := range cs {
		if i > 0 {
			b.WriteByte('\n')
		}
		for _, line := range strings.Split(c.Text, "\n") {
			b.WriteString(strings.TrimLeft(line, " \t"))
			b.WriteByte('\n')
		}
	}
}

// keepTogether reports whether two statements print on adjacent lines.
func keepTogether(a, b Stmt) bool {
	switch a := a.(type) {
	case *DBRP:
		_, ok := b.(*DBRP)
		return ok
	case *VarDecl:
		bv, ok := b.(*VarDecl)
		return ok && simpleDecl(a) && simpleDecl(bv)
	}
	return false
}

// simpleDecl reports whether d prints on one line: every declaration but
// one binding a chain, which Format spreads over several lines.
func simpleDecl(d *VarDecl) bool {
	_, chain := d.Value.(*Chain)
	return !chain
}

// attachComments assigns each comment of p to the statement it sits inside,
// ends the line of, or precedes; index len(p.Stmts) holds the comments
// after the last statement.
func attachComments(p *Program) [][]*Comment {
	out := make([][]*Comment, len(p.Stmts)+1)
	ends := make([]Pos, len(p.Stmts))
	for i, s := range p.Stmts {
		ends[i] = lastPos(s, s.Position())
	}
	cs := append([]*Comment(nil), p.Comments...)
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Pos.Offset < cs[j].Pos.Offset })
	for _, c := range cs {
		at := len(p.Stmts)
		for i, end := range ends {
			if c.Pos.Offset < end.Offset || c.Pos.Line == end.Line {
				at = i
				break
			}
		}
		out[at] = append(out[at], c)
	}
	return out
}

// lastPos returns the position of the last node within n, or last if it is
// later.
func lastPos(n Node, last Pos) Pos {
	if p := n.Position(); p.Offset > last.Offset {
		last = p
	}
	for _, c := range children(n) {
		last = lastPos(c, last)
	}
	return last
}

// children returns the direct sub-nodes of n.
func children(n Node) []Node {
	var out []Node
	add := func(ns ...Node) {
		for _, c := range ns {
			if c != nil && !isNilNode(c) {
				out = append(out, c)
			}
		}
	}
	switch n := n.(type) {
	case *VarDecl:
		add(n.Name)
		if n.Type != nil {
			add(n.Type)
		}
		if n.Value != nil {
			add(n.Value)
		}
	case *DBRP:
		add(n.DB, n.RP)
	case *ExprStmt:
		add(n.X)
	case *ListLit:
		for _, x := range n.Items {
			add(x)
		}
	case *Lambda:
		add(n.Body)
	case *Unary:
		add(n.X)
	case *Binary:
		add(n.X, n.Y)
	case *Paren:
		add(n.X)
	case *Call:
		add(n.Func)
		for _, x := range n.Args {
			add(x)
		}
	case *Chain:
		add(n.Receiver, n.Method)
		for _, x := range n.Args {
			add(x)
		}
	}
	return out
}

// isNilNode catches typed nil pointers stored in interfaces.
func isNilNode(n Node) bool {
	switch n := n.(type) {
	case *Ident:
		return n == nil
	case *Reference:
		return n == nil
	}
	return false
}

func formatStmt(b *strings.Builder, s Stmt) {
	switch s := s.(type) {
	case *VarDecl:
		b.WriteString("var ")
		b.WriteString(s.Name.Name)
		if s.Type != nil && s.Value == nil {
			b.WriteByte(' ')
			b.WriteString(s.Type.Name)
			return
		}
		b.WriteString(" = ")
		formatTop(b, s.Value)
	case *DBRP:
		b.WriteString("dbrp ")
		b.WriteString(quoteReference(s.DB.Name))
		b.WriteByte('.')
		b.WriteString(quoteReference(s.RP.Name))
	case *ExprStmt:
		formatTop(b, s.X)
	}
}

// formatTop prints a statement-level expression; chains go multi-line.
func formatTop(b *strings.Builder, e Expr) {
	c, ok := e.(*Chain)
	if !ok {
		formatExpr(b, e)
		return
	}
	links := flatten(c)
	formatExpr(b, links[0].Receiver)
	sawNode := false
	for _, l := range links {
		indent := "\n    "
		if l.Op == Dot && sawNode {
			indent = "\n        "
		}
		if l.Op != Dot {
			sawNode = true
		}
		b.WriteString(indent)
		formatLink(b, l)
	}
}

// flatten returns the links of a chain, innermost (first written) first.
func flatten(c *Chain) []*Chain {
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

func formatLink(b *strings.Builder, c *Chain) {
	b.WriteString(c.Op.String())
	b.WriteString(c.Method.Name)
	if c.Parens || c.Op != Dot || len(c.Args) > 0 {
		b.WriteByte('(')
		for i, a := range c.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			formatExpr(b, a)
		}
		b.WriteByte(')')
	}
}

func formatExpr(b *strings.Builder, e Expr) {
	switch e := e.(type) {
	case nil:
	case *Ident:
		b.WriteString(e.Name)
	case *IntLit:
		if e.Raw != "" {
			b.WriteString(e.Raw)
		} else {
			b.WriteString(strconv.FormatInt(e.Value, 10))
		}
	case *FloatLit:
		if e.Raw != "" {
			b.WriteString(e.Raw)
		} else {
			s := strconv.FormatFloat(e.Value, 'f', -1, 64)
			if !strings.Contains(s, ".") {
				s += ".0"
			}
			b.WriteString(s)
		}
	case *DurationLit:
		if e.Raw != "" {
			b.WriteString(e.Raw)
		} else {
			b.WriteString(formatDuration(e.Value))
		}
	case *StringLit:
		b.WriteString(quoteString(e.Value, e.Triple))
	case *BoolLit:
		if e.Value {
			b.WriteString("TRUE")
		} else {
			b.WriteString("FALSE")
		}
	case *RegexLit:
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(e.Pattern, "/", `\/`))
		b.WriteByte('/')
	case *Star:
		b.WriteByte('*')
	case *Reference:
		b.WriteString(quoteReference(e.Name))
	case *ListLit:
		b.WriteByte('[')
		for i, x := range e.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			formatExpr(b, x)
		}
		b.WriteByte(']')
	case *Lambda:
		b.WriteString("lambda: ")
		formatExpr(b, e.Body)
	case *Unary:
		b.WriteString(e.Op.String())
		formatOperand(b, e.X, needsParensUnary(e.X))
	case *Binary:
		p := e.Op.Precedence()
		formatOperand(b, e.X, binaryPrec(e.X) >= 0 && binaryPrec(e.X) < p)
		b.WriteByte(' ')
		b.WriteString(e.Op.String())
		b.WriteByte(' ')
		formatOperand(b, e.Y, binaryPrec(e.Y) >= 0 && binaryPrec(e.Y) <= p)
	case *Paren:
		b.WriteByte('(')
		formatExpr(b, e.X)
		b.WriteByte(')')
	case *Call:
		b.WriteString(e.Func.Name)
		b.WriteByte('(')
		for i, a := range e.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			formatExpr(b, a)
		}
		b.WriteByte(')')
	case *Chain:
		formatExpr(b, e.Receiver)
		formatLink(b, e)
	}
}

// formatOperand prints e, in parentheses when the tree needs them but holds
// no Paren (a tree built by hand rather than parsed).
func formatOperand(b *strings.Builder, e Expr, parens bool) {
	if parens {
		b.WriteByte('(')
	}
	formatExpr(b, e)
	if parens {
		b.WriteByte(')')
	}
}

// binaryPrec returns the precedence of e if it is a binary expression, or -1.
func binaryPrec(e Expr) int {
	if x, ok := e.(*Binary); ok {
		return x.Op.Precedence()
	}
	return -1
}

// needsParensUnary reports whether the operand of a prefix operator needs
// parentheses: prefix operators bind to the next primary only.
func needsParensUnary(e Expr) bool {
	switch e.(type) {
	case *Binary, *Lambda, *ListLit, *Chain:
		return true
	}
	return false
}

// quoteString writes a string literal that parses back to v. Triple quotes
// are used when asked for and possible (v holds no three quotes in a row
// and does not end with a quote); single quotes escape a quote with a
// backslash and cannot end with a backslash.
func quoteString(v string, triple bool) string {
	tripleOK := !strings.Contains(v, "'''") && !strings.HasSuffix(v, "'")
	if tripleOK && (triple || strings.HasSuffix(v, `\`)) {
		return "'''" + v + "'''"
	}
	return "'" + strings.ReplaceAll(v, "'", `\'`) + "'"
}

// quoteReference writes a "reference", escaping " as \".
func quoteReference(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `\"`) + `"`
}

// formatDuration writes d with the largest unit that divides it exactly.
func formatDuration(d time.Duration) string {
	units := []struct {
		u    time.Duration
		name string
	}{
		{7 * 24 * time.Hour, "w"}, {24 * time.Hour, "d"}, {time.Hour, "h"},
		{time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "u"},
	}
	if d > 0 {
		for _, u := range units {
			if d%u.u == 0 {
				return strconv.FormatInt(int64(d/u.u), 10) + u.name
			}
		}
	}
	return strconv.FormatInt(int64(d/time.Microsecond), 10) + "u"
}
