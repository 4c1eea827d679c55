package parser

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/ast"
)

// hostileShape is a script generated to probe the parser (issue 16, items
// 17 and 18). Before the nesting limit each deep shape overflowed Go's
// stack, which is fatal and cannot be recovered, so the shapes run in a
// child process of the test binary.
type hostileShape struct {
	name string
	src  func() string
	// maxStack is the child's stack limit in MiB: ample for the parser at
	// ast.MaxNesting levels, far below what recursing once per level (or
	// per link) over the whole input needs.
	maxStack int
	// err is the error Parse must return; "" when the script must parse
	// and survive Format.
	err string
}

const deep = 1_000_000

var hostileShapes = []hostileShape{
	{"parens", func() string {
		return "stream|where(lambda: " + strings.Repeat("(", deep) + `"v" > 1` + strings.Repeat(")", deep) + ")"
	}, 64, tooDeepAt("1:1021")},
	{"negation", func() string { return "var x = " + strings.Repeat("-", deep) + "1" }, 64, tooDeepAt("1:1009")},
	{"not", func() string { return "stream|where(lambda: " + strings.Repeat("!", deep) + "TRUE)" }, 64, tooDeepAt("1:1021")},
	{"mixed prefix and parens", func() string {
		return "var x = " + strings.Repeat("-(", deep/2) + "1" + strings.Repeat(")", deep/2)
	}, 64, tooDeepAt("1:1009")},
	{"calls", func() string { return "var x = " + strings.Repeat("f(", deep) + "1" + strings.Repeat(")", deep) }, 64, tooDeepAt("1:2010")},
	{"chain arguments", func() string { return strings.Repeat("a|b(", deep/4) + strings.Repeat(")", deep/4) }, 64, tooDeepAt("1:4004")},
	{"lambdas in chain arguments", func() string {
		return strings.Repeat("a|b(lambda: -(1), ", deep/16) + strings.Repeat(")", deep/16)
	}, 64, tooDeepAt("1:17978")},
	// Lists do not nest: the second "[" is a syntax error, found before
	// the parser goes any deeper.
	{"lists", func() string { return "var x = " + strings.Repeat("[", deep) }, 64,
		`1:10: unexpected "[", expected a list item (identifier, string or "*") or "]"`},
	{"long binary", func() string { return "stream|where(lambda: \"a\"" + strings.Repeat(` + "a"`, 20_000) + " > 0)" }, 1, ""},
	{"long logical", func() string {
		return "stream|where(lambda: \"a\" > 1" + strings.Repeat(` AND "a" > 1 OR "b" < 2`, 5_000) + ")"
	}, 1, ""},
	{"long node chain", func() string { return "stream|from()" + strings.Repeat("|window()", 10_000) }, 1, ""},
	{"long property chain", func() string { return "stream|from()" + strings.Repeat(".prop(1)", 10_000) }, 1, ""},
	{"long chain with comments", func() string {
		return "stream // s\n" + strings.Repeat("    |window() // w\n        // p\n        .period(1m)\n", 3_000)
	}, 1, ""},
}

// tooDeepAt is the nesting error at line:col.
func tooDeepAt(pos string) string {
	return pos + ": " + fmt.Sprintf("expression nested too deeply: more than %d levels", ast.MaxNesting)
}

// childShape names the shape a child process runs.
const childShape = "TICKRUN_HOSTILE_SHAPE"

// TestIssue16Hostile parses each hostile shape in a child process and
// checks what the child reports: deep shapes fail with the nesting error
// where level ast.MaxNesting+1 opens, long shapes parse and survive
// Format and Parse again within a stack of 1 MiB. A stack overflow shows as
// the child dying.
func TestIssue16Hostile(t *testing.T) {
	if name := os.Getenv(childShape); name != "" {
		runHostileShape(t, name)
		return
	}
	for _, sh := range hostileShapes {
		t.Run(sh.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestIssue16Hostile$")
			cmd.Env = append(os.Environ(), childShape+"="+sh.name)
			out, err := cmd.CombinedOutput()
			text := string(out)
			if i := strings.Index(text, "\ngoroutine "); i >= 0 {
				text = text[:i] // the first lines of a crash say enough
			}
			require.NoError(t, err, "child died:\n%s", text)
			assert.Contains(t, text, "PASS")
		})
	}
}

func runHostileShape(t *testing.T, name string) {
	var sh *hostileShape
	for i := range hostileShapes {
		if hostileShapes[i].name == name {
			sh = &hostileShapes[i]
		}
	}
	require.NotNil(t, sh, "no shape %q", name)
	src := sh.src()
	debug.SetMaxStack(sh.maxStack << 20)
	p, err := Parse("hostile.tick", src)
	if sh.err != "" {
		var e *ast.Error
		require.True(t, errors.As(err, &e), "want an *ast.Error, got %v", err)
		assert.Equal(t, sh.err, e.Error())
		// The caret line stays short however long the script is.
		rendered := ast.NewSource("hostile.tick", src).Render(err)
		assert.Less(t, len(rendered), 1000, "%s", rendered)
		return
	}
	require.NoError(t, err)
	out := ast.Format(p)
	q, err := Parse("formatted", out)
	require.NoError(t, err)
	require.Equal(t, out, ast.Format(q))
	require.Equal(t, len(p.Comments), len(q.Comments))
	if strings.Contains(src, "//") {
		// Written in fmt style: every comment stays where it is.
		require.Equal(t, src, out)
	}
}

// TestNestingLimit checks the edge of the limit on small scripts: exactly
// ast.MaxNesting levels parse, one more is the error, at the token that
// opens it, and a syntax error before that token wins.
func TestNestingLimit(t *testing.T) {
	n := ast.MaxNesting
	open, closing := strings.Repeat("(", n), strings.Repeat(")", n)
	_, err := ParseExpr("m", open+"1"+closing)
	require.NoError(t, err)
	_, err = ParseExpr("m", "-"+open+"1"+closing)
	require.EqualError(t, err, fmt.Sprintf("1:%d: expression nested too deeply: more than %d levels", n+1, n))
	_, err = ParseExpr("m", "(("+open+"1"+closing+"))")
	require.EqualError(t, err, fmt.Sprintf("1:%d: expression nested too deeply: more than %d levels", n+1, n))
	// Levels close: a long run of groups one after another is no deeper.
	_, err = ParseExpr("m", strings.Repeat("(1) + ", 3*n)+"1")
	require.NoError(t, err)
	_, err = ParseExpr("m", strings.Repeat("-", n)+"1 + "+strings.Repeat("!", n)+"TRUE")
	require.NoError(t, err)
	// A chain method's parentheses count: .crit( is one level.
	body := strings.Repeat("(", n-1) + "TRUE" + strings.Repeat(")", n-1)
	_, err = Parse("s", "stream|alert().crit(lambda: "+body+")")
	require.NoError(t, err)
	_, err = Parse("s", "stream|alert().crit(lambda: ("+body+"))")
	require.EqualError(t, err, fmt.Sprintf("1:%d: expression nested too deeply: more than %d levels", 29+n-1, n))
	// A syntax error before the deep part is the first problem.
	_, err = Parse("s", "var x = 1 +\nvar y = "+open+"(1"+closing+")")
	require.EqualError(t, err, `2:1: unexpected keyword var, expected `+operandWant)
	// So is a lexer error.
	_, err = Parse("s", "var x = #\nvar y = "+open+"(1"+closing+")")
	require.EqualError(t, err, `1:9: unexpected character '#': comments start with //`)
	// A lexer error after the cut is not reached.
	_, err = Parse("s", "var y = "+open+"(1"+closing+") #")
	require.EqualError(t, err, fmt.Sprintf("1:%d: expression nested too deeply: more than %d levels", 9+n, n))
}
