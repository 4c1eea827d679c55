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
// Comments stay where they were written, as far as that layout allows: a
// comment on its own line is printed on its own line before the printed
// line holding the code that followed it (inside a chain, before that
// link), and a trailing comment (Comment.Trailing) at the end of the
// printed line holding the code before it. A printed line takes one
// trailing comment; a second one (two lines of a lambda joined into one)
// moves below it, on its own line. Parsing the result gives back p up to
// positions, and formatting that again gives the same text.
func Format(p *Program) string {
	lines := layout(p)
	slots := placeComments(p.Comments, lines)
	w := &printer{blank: true}
	for j, ln := range lines {
		lead := slots[2*j]
		if j > 0 && ln.first && (len(lead) > 0 || !keepTogether(p.Stmts[lines[j-1].stmt], p.Stmts[ln.stmt])) {
			w.blankLine()
		}
		for _, c := range lead {
			w.comment(ln.indent, "", c)
		}
		if trailing := slots[2*j+1]; len(trailing) > 0 {
			w.comment(ln.indent, ln.indent+ln.text+" ", trailing[0])
		} else {
			w.line(ln.indent+ln.text, false)
		}
	}
	if end := slots[2*len(lines)]; len(end) > 0 {
		w.blankLine()
		for _, c := range end {
			w.comment("", "", c)
		}
	}
	return w.b.String()
}

// FormatExpr prints e on one line; chains are written inline
// (stream|from().measurement('cpu')).
func FormatExpr(e Expr) string {
	var b strings.Builder
	formatExpr(&b, e)
	return b.String()
}

// printer writes the lines of Format and remembers what the last one was,
// so that two comments never end up on consecutive lines: the lexer would
// merge them into one.
type printer struct {
	b         strings.Builder
	inComment bool // the last line written is a comment on its own line
	blank     bool // the last line written is blank, or nothing was written
}

func (w *printer) line(s string, comment bool) {
	w.b.WriteString(s)
	w.b.WriteByte('\n')
	w.inComment, w.blank = comment, false
}

func (w *printer) blankLine() {
	if !w.blank {
		w.b.WriteByte('\n')
		w.inComment, w.blank = false, true
	}
}

// comment writes c, each of its lines indented by indent; with code set,
// the first line of c goes at the end of code (a trailing comment).
func (w *printer) comment(indent, code string, c *Comment) {
	if code == "" && w.inComment {
		w.blankLine()
	}
	for i, l := range strings.Split(c.Text, "\n") {
		l = strings.TrimLeft(l, " \t")
		if i == 0 && code != "" {
			// The lexer never merges a trailing comment with the line
			// below, so what follows may be a comment.
			w.line(code+l, false)
			continue
		}
		w.line(indent+l, true)
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

// printedLine is one line of Format's output: the head of a statement or
// one link of a chain, with the source offsets of the first and the last
// node printed on it, which place the comments.
type printedLine struct {
	stmt   int  // index of the statement
	first  bool // the first line of the statement
	indent string
	text   string
	start  int // offset of the first node on the line
	last   int // offset of the last node on the line
}

// layout returns the printed lines of every statement of p, in order.
func layout(p *Program) []printedLine {
	var out []printedLine
	for i, s := range p.Stmts {
		var chain *Chain
		head := ""
		switch s := s.(type) {
		case *VarDecl:
			if c, ok := s.Value.(*Chain); ok {
				chain, head = c, "var "+s.Name.Name+" = "
			}
		case *ExprStmt:
			chain, _ = s.X.(*Chain)
		}
		if chain == nil {
			var b strings.Builder
			formatStmt(&b, s)
			out = append(out, printedLine{stmt: i, first: true, text: b.String(), start: startOffset(s), last: lastOffset(s)})
			continue
		}
		links := chain.Links()
		recv := links[0].Receiver
		last := lastOffset(recv)
		if d, ok := s.(*VarDecl); ok {
			last = max(last, d.Name.Pos.Offset)
		}
		out = append(out, printedLine{stmt: i, first: true, text: head + FormatExpr(recv), start: startOffset(s), last: last})
		sawNode := false
		for _, l := range links {
			indent := "    "
			if l.Op == Dot && sawNode {
				indent = "        "
			}
			if l.Op != Dot {
				sawNode = true
			}
			var b strings.Builder
			formatLink(&b, l)
			last := l.Pos.Offset
			if l.Method != nil {
				last = max(last, l.Method.Pos.Offset)
			}
			for _, a := range l.Args {
				last = max(last, lastOffset(a))
			}
			out = append(out, printedLine{stmt: i, indent: indent, text: b.String(), start: l.Pos.Offset, last: last})
		}
	}
	return out
}

// placeComments puts each comment in a slot: slot 2j holds the comments
// printed on their own lines before line j, slot 2j+1 the comment at the
// end of line j, and slot 2len(lines) the comments after the last
// statement. Slots never go backwards in source order, so the comments
// print in the order they were written.
func placeComments(comments []*Comment, lines []printedLine) [][]*Comment {
	out := make([][]*Comment, 2*len(lines)+1)
	cs := append([]*Comment(nil), comments...)
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Pos.Offset < cs[j].Pos.Offset })
	prev := 0
	for _, c := range cs {
		var slot int
		if c.Trailing {
			// After the line holding the last node before the comment.
			j := sort.Search(len(lines), func(i int) bool { return lines[i].start >= c.Pos.Offset }) - 1
			slot = max(2*j+1, 0)
		} else {
			// Before the line holding the first node after the comment.
			slot = 2 * sort.Search(len(lines), func(i int) bool { return lines[i].last > c.Pos.Offset })
		}
		slot = max(slot, prev)
		if slot%2 == 1 && len(out[slot]) > 0 {
			slot++ // the line has its trailing comment: print this one below it
		}
		out[slot] = append(out[slot], c)
		prev = slot
	}
	return out
}

// startOffset returns the offset where s starts: a chain starts at its
// innermost receiver, not at the operator of its last link.
func startOffset(s Stmt) int {
	x, ok := s.(*ExprStmt)
	if !ok {
		return s.Position().Offset
	}
	e := x.X
	for {
		c, ok := e.(*Chain)
		if !ok {
			return e.Position().Offset
		}
		e = c.Receiver
	}
}

// lastOffset returns the largest offset of any node within n. It walks the
// tree with an explicit stack: a long chain or a long run of binary
// operators nests as deep as it is long.
func lastOffset(n Node) int {
	last := -1
	stack := []Node{n}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		last = max(last, n.Position().Offset)
		stack = append(stack, children(n)...)
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
		formatExpr(b, s.Value)
	case *DBRP:
		b.WriteString("dbrp ")
		b.WriteString(quoteReference(s.DB.Name))
		b.WriteByte('.')
		b.WriteString(quoteReference(s.RP.Name))
	case *ExprStmt:
		formatExpr(b, s.X)
	}
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
		formatBinary(b, e)
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
		links := e.Links()
		formatExpr(b, links[0].Receiver)
		for _, l := range links {
			formatLink(b, l)
		}
	}
}

// formatBinary prints a binary expression. The left operand of `a + b + c
// …` is a Binary as deep as the run is long, so the run of left operands
// that print without parentheses is walked with a loop.
func formatBinary(b *strings.Builder, e *Binary) {
	run := []*Binary{e}
	for {
		top := run[len(run)-1]
		x, ok := top.X.(*Binary)
		if !ok || x.Op.Precedence() < top.Op.Precedence() {
			break
		}
		run = append(run, x)
	}
	inner := run[len(run)-1]
	formatOperand(b, inner.X, binaryPrec(inner.X) >= 0 && binaryPrec(inner.X) < inner.Op.Precedence())
	for i := len(run) - 1; i >= 0; i-- {
		x := run[i]
		b.WriteByte(' ')
		b.WriteString(x.Op.String())
		b.WriteByte(' ')
		formatOperand(b, x.Y, binaryPrec(x.Y) >= 0 && binaryPrec(x.Y) <= x.Op.Precedence())
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
