package eval_test

import (
	"errors"
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
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 200 {
			return
		}
		x, err := parseExpr(src)
		if err != nil {
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
