package eval_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/eval"
)

// hotCases are lambdas evaluated on every point; none may allocate.
var hotCases = []struct{ name, src string }{
	{"ref_lt_int", `"usage_idle" < 10`},
	{"ref_lt_float", `"usage_idle" < 10.0`},
	{"and_regex", `"usage_idle" < 10.0 AND "host" =~ /^my/`},
	{"math", `"f" * 2.0 + 1.0 > "usage_idle"`},
	{"int_math", `"i" * 3 % 5 == 4`},
	{"tag_eq", `"host" == 'myweb01'`},
	{"call", `strLength("host") > 3 AND abs("f") < 2.0`},
	{"if", `if("b", "f", 0.0) > 1.0`},
	{"time", `hour("time") >= 9 AND hour("time") < 17`},
	{"sigma", `sigma("usage_idle") > 3.0`},
	{"count", `count() > 10`},
	{"const_folded", `"usage_idle" < 5.0 * 2.0 + float(warn) / 8.0`},
}

func compileHot(tb testing.TB, src string) *eval.Expr {
	l, probs := eval.Compile(mustParse(src), testEnv(), eval.Bool)
	require.Empty(tb, probs)
	return l.New()
}

// BenchmarkEval measures EvalBool over a small point (a slice scan scope).
func BenchmarkEval(b *testing.B) {
	for _, bc := range hotCases {
		b.Run(bc.name, func(b *testing.B) {
			e := compileHot(b, bc.src)
			p := testPoint()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.EvalBool(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestEvalAllocs asserts the hot path does not allocate.
func TestEvalAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	for _, hc := range hotCases {
		e := compileHot(t, hc.src)
		p := testPoint()
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := e.EvalBool(p); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per EvalBool, want 0", hc.name, allocs)
		}
	}
}

// slowScope hides a scope's LookupField fast path.
type slowScope struct{ *point }

func (slowScope) LookupField(string, *int) *eval.Value { return nil }

// TestFieldFastPathMatchesSlow: the comparison closures that read a float
// field through Scope.LookupField give the results and errors of the
// general path, NaN and infinities included, for every operator.
func TestFieldFastPathMatchesSlow(t *testing.T) {
	values := []eval.Value{
		eval.FloatValue(5), eval.FloatValue(10), eval.FloatValue(15), eval.FloatValue(math.NaN()),
		eval.FloatValue(math.Inf(1)), eval.FloatValue(math.Inf(-1)), eval.IntValue(10), eval.StringValue("x"),
	}
	for _, op := range []string{"<", "<=", ">", ">=", "==", "!="} {
		for _, c := range []string{"10", "10.0", "-1.5"} {
			src := `"x" ` + op + ` ` + c
			for _, v := range values {
				p := &point{fields: []kv{{"a", eval.IntValue(1)}, {"x", v}}}
				fast, slow := compileHot(t, src), compileHot(t, src)
				for range 2 { // the second time through the hint
					got, gotErr := fast.EvalBool(p)
					want, wantErr := slow.EvalBool(slowScope{p})
					require.Equal(t, want, got, "%s with x = %v", src, v)
					require.Equal(t, fmt.Sprint(wantErr), fmt.Sprint(gotErr), "%s with x = %v", src, v)
				}
			}
		}
	}
}
