package eval_test

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

// at is the position of column col on line 1.
func at(col int) ast.Pos { return ast.Pos{Offset: col - 1, Line: 1, Col: col} }

// leftRun builds x op y op y … with n operators, leaning left as the
// parser builds it.
func leftRun(x ast.Expr, op ast.Op, n int, y func(i int) ast.Expr) ast.Expr {
	for i := range n {
		x = &ast.Binary{Pos: x.Position(), Op: op, X: x, Y: y(i)}
	}
	return x
}

// hostileLambda is a lambda body built by hand (the parser would reject
// the deep ones) to probe the compiler (issue 16, item 17). Compiling or
// evaluating one used to recurse once per level or per operator, and a
// stack overflow is fatal, so each runs in a child process.
type hostileLambda struct {
	name string
	body func() ast.Expr
	// deepAt is the column of the node opening level ast.MaxNesting+1, for
	// the shapes Compile must reject; 0 for those it must compile.
	deepAt int
	check  func(t *testing.T, l *eval.Lambda) // for the shapes that compile
}

const million = 1_000_000

var hostileLambdas = []hostileLambda{
	{name: "parens", deepAt: ast.MaxNesting + 1, body: func() ast.Expr {
		var x ast.Expr = &ast.BoolLit{Pos: at(million + 1), Value: true}
		for i := million; i >= 1; i-- {
			x = &ast.Paren{Pos: at(i), X: x}
		}
		return x
	}},
	{name: "negation", deepAt: ast.MaxNesting + 1, body: func() ast.Expr {
		var x ast.Expr = &ast.IntLit{Pos: at(million + 1), Value: 1}
		for i := million; i >= 1; i-- {
			x = &ast.Unary{Pos: at(i), Op: ast.OpNeg, X: x}
		}
		return x
	}},
	{name: "calls", deepAt: 2*ast.MaxNesting + 1, body: func() ast.Expr {
		var x ast.Expr = &ast.FloatLit{Pos: at(2*million + 1), Value: 1}
		for i := million; i >= 1; i-- {
			x = &ast.Call{Pos: at(2*i - 1), Func: &ast.Ident{Pos: at(2*i - 1), Name: "abs"}, Args: []ast.Expr{x}}
		}
		return x
	}},
	{name: "right-leaning run without parens", deepAt: 2*ast.MaxNesting + 3, body: func() ast.Expr {
		// 1 - (1 - (1 - …)) as a tree built by hand, without Paren nodes:
		// each right operand would need parentheses, so each is a level.
		var x ast.Expr = &ast.IntLit{Pos: at(2*million + 1), Value: 1}
		for i := million; i >= 1; i-- {
			x = &ast.Binary{Pos: at(2*i - 1), Op: ast.OpSub, X: &ast.IntLit{Pos: at(2*i - 1), Value: 1}, Y: x}
		}
		return x
	}},
	{name: "long sum of a field", body: func() ast.Expr {
		return leftRun(&ast.Reference{Pos: at(1), Name: "f"}, ast.OpAdd, 100_000, func(int) ast.Expr { return &ast.FloatLit{Value: 1} })
	}, check: func(t *testing.T, l *eval.Lambda) {
		v, err := l.New().Eval(testPoint())
		require.NoError(t, err)
		assert.Equal(t, 100_001.5, v.Float())
	}},
	{name: "long sum of constants", body: func() ast.Expr {
		return leftRun(&ast.Ident{Pos: at(1), Name: "n"}, ast.OpAdd, 100_000, func(int) ast.Expr { return &ast.Ident{Name: "n"} })
	}, check: func(t *testing.T, l *eval.Lambda) {
		v, err := l.New().Eval(testPoint())
		require.NoError(t, err)
		assert.Equal(t, int64(4*100_001), v.Int())
	}},
	{name: "long conjunction", body: func() ast.Expr {
		cmp := func() ast.Expr {
			return &ast.Binary{Op: ast.OpLt, X: &ast.Reference{Name: "usage_idle"}, Y: &ast.FloatLit{Value: 10}}
		}
		return leftRun(cmp(), ast.OpAnd, 100_000, func(int) ast.Expr { return cmp() })
	}, check: func(t *testing.T, l *eval.Lambda) {
		ok, err := l.New().EvalBool(testPoint())
		require.NoError(t, err)
		assert.True(t, ok)
		_, err = l.New().EvalBool(&point{})
		assert.EqualError(t, err, `left reference value "usage_idle" is missing value`)
	}},
	{name: "long disjunction stops at true", body: func() ast.Expr {
		return leftRun(&ast.Reference{Name: "b"}, ast.OpOr, 100_000, func(int) ast.Expr {
			return &ast.Binary{Op: ast.OpGt, X: &ast.Reference{Name: "missing"}, Y: &ast.IntLit{Value: 1}}
		})
	}, check: func(t *testing.T, l *eval.Lambda) {
		ok, err := l.New().EvalBool(testPoint())
		require.NoError(t, err)
		assert.True(t, ok)
	}},
}

// childLambda names the shape a child process compiles.
const childLambda = "TICKRUN_HOSTILE_LAMBDA"

// TestIssue16HostileLambdas compiles (and evaluates) each hostile lambda in
// a child process with a stack of 8 MiB: the deep ones must be rejected
// with the nesting error at the node opening level ast.MaxNesting+1, the
// long runs must compile and evaluate to the right value.
func TestIssue16HostileLambdas(t *testing.T) {
	if name := os.Getenv(childLambda); name != "" {
		runHostileLambda(t, name)
		return
	}
	for _, h := range hostileLambdas {
		t.Run(h.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestIssue16HostileLambdas$")
			cmd.Env = append(os.Environ(), childLambda+"="+h.name)
			out, err := cmd.CombinedOutput()
			text := string(out)
			if i := strings.Index(text, "\ngoroutine "); i >= 0 {
				text = text[:i]
			}
			require.NoError(t, err, "child died:\n%s", text)
			assert.Contains(t, text, "PASS")
		})
	}
}

func runHostileLambda(t *testing.T, name string) {
	var h *hostileLambda
	for i := range hostileLambdas {
		if hostileLambdas[i].name == name {
			h = &hostileLambdas[i]
		}
	}
	require.NotNil(t, h, "no shape %q", name)
	body := h.body()
	debug.SetMaxStack(8 << 20)
	l, probs := eval.Compile(body, testEnv(), eval.Missing)
	if h.deepAt > 0 {
		require.Len(t, probs, 1)
		assert.Equal(t, fmt.Sprintf("1:%d: expression nested too deeply: more than %d levels", h.deepAt, ast.MaxNesting), probs[0].Error())
		assert.False(t, probs[0].Warning)
		_, err := eval.Const(body, testEnv())
		require.NotNil(t, err)
		assert.Equal(t, probs[0].Error(), err.Error())
		return
	}
	require.Empty(t, probs)
	h.check(t, l)
	_ = l.String() // printing a long run loops too
}

// TestCompileLinear compiles runs of 10,000 and 40,000 operators and
// requires the bytes allocated to grow about as the run does (4×, with
// slack to 6×): folding used to allocate a scratch instance sized to every
// slot so far for each constant operator, quadratic in the run.
func TestCompileLinear(t *testing.T) {
	for _, tc := range []struct {
		name string
		x    func() ast.Expr
		y    func() ast.Expr
	}{
		{"constants", func() ast.Expr { return &ast.Ident{Name: "n"} }, func() ast.Expr { return &ast.Ident{Name: "n"} }},
		{"fields", func() ast.Expr { return &ast.Reference{Name: "f"} }, func() ast.Expr { return &ast.Reference{Name: "i"} }},
		{"calls", func() ast.Expr { return &ast.Reference{Name: "f"} }, func() ast.Expr {
			return &ast.Call{Func: &ast.Ident{Name: "abs"}, Args: []ast.Expr{&ast.FloatLit{Value: -1}}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bytes := func(n int) uint64 {
				body := leftRun(tc.x(), ast.OpAdd, n, func(int) ast.Expr { return tc.y() })
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				_, probs := eval.Compile(body, testEnv(), eval.Missing)
				runtime.ReadMemStats(&after)
				require.Empty(t, probs)
				return after.TotalAlloc - before.TotalAlloc
			}
			small, large := bytes(10_000), bytes(40_000)
			ratio := float64(large) / float64(small)
			t.Logf("%d bytes for 10k operators, %d for 40k: %.1f×", small, large, ratio)
			assert.Less(t, ratio, 6.0)
		})
	}
}

// TestLoopMatchesNested compiles each lambda twice, once with every run of
// operators in the loop of long runs, and requires the same values and
// errors on every point.
func TestLoopMatchesNested(t *testing.T) {
	for _, src := range []string{
		`"f" + 1.0 + 2.0 * "f" - 3.0`,
		`"i" + 1 + "i" * 2 - "neg" % 3`,
		`"usage_idle" < 10 AND "host" == 'myweb01' AND "b"`,
		`"nb" OR "missing" > 1 OR "b"`,
		`"b" AND "missing" > 1`,
		`"missing" + 1`,
		`1 + 2 + "f"`,
		`"f" + 1 + 2`,
		`"s" + 'x' + 1`,
		`"b" AND 'x' AND "b"`,
		`"nb" OR 5 OR TRUE`,
		`5m + 1m - period + "time" - "time"`,
		`"i" / "zero" + 1`,
		`strLength("s") + strLength("host") + count()`,
		`"f" > 1.0 == TRUE != FALSE`,
		`("f" + 1.0) + ("f" + 2.0) + -"f"`,
	} {
		t.Run(src, func(t *testing.T) {
			nested, np := eval.Compile(mustParse(src), testEnv(), eval.Missing)
			looped, lp := eval.CompileLooping(mustParse(src), testEnv(), eval.Missing)
			require.Equal(t, problems(np), problems(lp))
			require.Nil(t, np.Err())
			compareEval(t, src, nested, looped)
		})
	}
}

// compareEval evaluates two compilations of src on every fuzz point and
// fails on any difference in values or errors.
func compareEval(t *testing.T, src string, a, b *eval.Lambda) {
	t.Helper()
	ea, eb := a.New(), b.New()
	ea.Seed(1)
	eb.Seed(1)
	for _, p := range fuzzPoints() {
		va, erra := ea.Eval(p)
		vb, errb := eb.Eval(p)
		if fmt.Sprint(erra) != fmt.Sprint(errb) || erra == nil && !sameValue(va, vb) {
			t.Fatalf("%s: nested gives %v, %v; loop gives %v, %v", src, va, erra, vb, errb)
		}
		ba, erra := ea.EvalBool(p)
		bb, errb := eb.EvalBool(p)
		if fmt.Sprint(erra) != fmt.Sprint(errb) || ba != bb {
			t.Fatalf("%s as a condition: nested gives %v, %v; loop gives %v, %v", src, ba, erra, bb, errb)
		}
	}
}
