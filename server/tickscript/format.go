package tickscript

import (
	"strings"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/parser"
)

// Format returns src as Kapacitor's task API shows it with
// script-format=formatted: each statement formatted canonically (4-space
// chain indentation) and every statement separated from the next by one
// blank line, even two var declarations in a row, with each comment kept
// above the statement it precedes. A script that does not parse is an
// error; the API then shows the raw text, as Kapacitor does.
func Format(src string) (string, error) {
	prog, err := parser.Parse("script", src)
	if err != nil {
		return "", err
	}
	return FormatProgram(prog, src), nil
}

// FormatProgram formats a parsed program (see Format); src is its text.
func FormatProgram(prog *ast.Program, src string) string {
	if len(prog.Stmts) == 0 {
		return ast.Format(prog)
	}
	groups := make([][]*ast.Comment, len(prog.Stmts)+1)
	for _, c := range prog.Comments {
		groups[stmtOfComment(prog, src, c)] = append(groups[stmtOfComment(prog, src, c)], c)
	}
	var b strings.Builder
	for i, s := range prog.Stmts {
		if i > 0 {
			b.WriteByte('\n')
		}
		one := &ast.Program{Stmts: []ast.Stmt{s}, Comments: groups[i]}
		b.WriteString(ast.Format(one))
	}
	if trailing := groups[len(prog.Stmts)]; len(trailing) > 0 {
		b.WriteByte('\n')
		b.WriteString(ast.Format(&ast.Program{Comments: trailing}))
	}
	return b.String()
}

// stmtOfComment returns the index of the statement a comment belongs to:
// the first statement that starts after it, unless source text other than
// white space and comments lies between the comment and that statement,
// in which case the comment sits inside the statement before. The index
// len(prog.Stmts) stands for "after the last statement".
func stmtOfComment(prog *ast.Program, src string, c *ast.Comment) int {
	next := len(prog.Stmts)
	for i, s := range prog.Stmts {
		if s.Position().Offset > c.Pos.Offset {
			next = i
			break
		}
	}
	end := len(src)
	if next < len(prog.Stmts) {
		end = prog.Stmts[next].Position().Offset
	}
	start := min(c.Pos.Offset, end)
	if onlySpaceAndComments(src[start:end]) || next == 0 {
		return next
	}
	return next - 1
}

// onlySpaceAndComments reports whether s holds nothing but white space
// and // comments.
func onlySpaceAndComments(s string) bool {
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if t != "" && !strings.HasPrefix(t, "//") {
			return false
		}
	}
	return true
}
