package eval_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

// fuzzPoints are the points every fuzzed lambda runs over: the usual test
// point, an empty one, and one with other kinds under the same names.
func fuzzPoints() []*point {
	other := &point{fields: []kv{
		{"f", eval.IntValue(0)}, {"i", eval.FloatValue(math.NaN())}, {"s", eval.BoolValue(false)},
		{"usage_idle", eval.StringValue("")}, {"big", eval.IntValue(math.MinInt64)}, {"zero", eval.FloatValue(math.Inf(-1))},
	}, time: math.MinInt64}
	return []*point{testPoint(), {}, other}
}

// FuzzLambda parses lambda text with the real parser, compiles it and
// evaluates it. It must never panic; every compile problem must be a
// positioned *ast.Error inside the input; a lambda that compiled without
// errors must evaluate to a value or an error on every point, and stay
// usable after errors.
func FuzzLambda(f *testing.F) {
	for _, seed := range []string{
		`"usage_idle" < 10`, `"a" + 'b' =~ /x/`, `count() + count()`, `strSubstring("s", 3, 1)`,
		`if("b", 1m, 2m) / 0`, `-"s"`, `!"missing" OR 1 / 0 == 1`, `humanBytes(-1.5e3 * 1.0)`,
		`duration('1h30m', 1s) * 2.5`, `sigma(float("i")) > spread("f")`, `"big" % -1`, `5m / (1m - 1m)`,
		`rand(0)`, `pow10(400)`, `string(-0.0)`, `year("time") - 1970`,
		// Issue 16: hints, long runs (evaluated in a loop past
		// maxNestedSteps) and the nesting limit, either side of it.
		`"cpu" == "cpu-total" OR "host" != "10.0.0.1"`,
		`"f"` + strings.Repeat(` + 1.0 - "f" * 2.0`, 20),
		`"b"` + strings.Repeat(` AND "missing" > 1 OR "nb"`, 20),
		`1` + strings.Repeat(` + n`, 40) + ` + "i"` + strings.Repeat(` * 2`, 40),
		strings.Repeat("(", ast.MaxNesting) + `"f" > 1` + strings.Repeat(")", ast.MaxNesting),
		strings.Repeat("(", ast.MaxNesting+1) + `"f" > 1` + strings.Repeat(")", ast.MaxNesting+1),
		strings.Repeat("-", ast.MaxNesting) + `"f"`,
		strings.Repeat("abs(", ast.MaxNesting/2) + `"f"` + strings.Repeat(")", ast.MaxNesting/2),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 5000 {
			return
		}
		x, err := parseExpr(src)
		if err != nil {
			var pe *ast.Error
			if !errors.As(err, &pe) || !pe.Pos.IsValid() || pe.Pos.Offset > len(src) {
				t.Fatalf("parse error %v for %q is not a positioned *ast.Error", err, src)
			}
			return
		}
		for _, want := range []eval.Kind{eval.Missing, eval.Bool} {
			l, probs := eval.Compile(x, testEnv(), want)
			for _, p := range probs {
				if !p.Pos.IsValid() || p.Pos.Offset < 0 || p.Pos.Offset > len(src) || p.Msg == "" {
					t.Fatalf("bad problem position %v for %q in %q", p.Pos, p.Msg, src)
				}
			}
			_ = l.String()
			_ = l.References()
			if probs.Err() != nil {
				continue
			}
			// The loop of long runs must agree with the nested closures.
			looped, lprobs := eval.CompileLooping(x, testEnv(), want)
			if fmt.Sprint(problems(lprobs)) != fmt.Sprint(problems(probs)) {
				t.Fatalf("looping compile of %q reports %v, not %v", src, problems(lprobs), problems(probs))
			}
			compareEval(t, src, l, looped)
			e := l.New()
			for _, p := range fuzzPoints() {
				v, err := e.Eval(p)
				if err == nil && v.Kind == eval.Missing {
					t.Fatalf("missing value returned without error for %q", src)
				}
				if err != nil {
					var pe *ast.Error
					if errors.As(err, &pe) || strings.TrimSpace(err.Error()) == "" {
						t.Fatalf("runtime error %q for %q is not a plain runtime error", err, src)
					}
				}
				_, _ = e.EvalBool(p)
			}
		}
		if v, err := eval.Const(x, testEnv()); err == nil {
			_ = v.String()
		} else if !err.Pos.IsValid() {
			t.Fatalf("Const error without position for %q: %v", src, err)
		}
	})
}
