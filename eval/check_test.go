package eval_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

// TestCompileProblems checks what Compile reports before any data: errors
// (Kapacitor fails the task) and warnings (Kapacitor fails per point).
func TestCompileProblems(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want eval.Kind
		out  []string
	}{
		{src: `"usage_idle" < 10`, want: eval.Bool},
		{src: `"x"`, want: eval.Bool},
		{src: `1 + 2.0 > 0`, want: eval.Bool, out: []string{"E 1: mismatched type to binary operator. got int + float" + mismatch}},
		{src: `"v" > 1 + 2.0`, want: eval.Bool, out: []string{"E 7: mismatched type to binary operator. got int + float" + mismatch}},
		{src: `TRUE < FALSE`, out: []string{"E 1: invalid comparison operator < for type boolean"}},
		{src: `5.0 % 3.0`, out: []string{"E 1: invalid math operator % for type float"}},
		{src: `'a' + 1`, out: []string{"E 1: mismatched type to binary operator. got string + int" + mismatch}},
		{src: `5m + 1`, out: []string{"E 1: mismatched type to binary operator. got duration + int" + mismatch}},
		{src: `"v" > y`, want: eval.Bool, out: []string{`E 7: name "y" is undefined. Names in scope: n,name,period,re,warn,yes`}},
		{src: `foo(1) > bar`, want: eval.Bool, out: []string{`W 1: undefined function: "foo"`, `E 10: name "bar" is undefined. Names in scope: n,name,period,re,warn,yes`}},
		{src: `abs(-5)`, out: []string{`W 1: Cannot call function "abs" with args (-5: int), available signatures are [(float)].`}},
		{src: `abs("x" > 1)`, out: []string{`W 1: Cannot call function "abs" with args ("x" > 1: boolean), available signatures are [(float)].`}},
		{src: `hour("x")`, out: []string{`W 1: Cannot call function "hour" with args ("x": float, int, string, boolean or missing), available signatures are [(time)].`}},
		{src: `duration('5m')`, out: []string{`W 1: Cannot call function "duration" with args ('5m': string), available signatures are [(duration), (int,duration), (float,duration), (string,duration)].`}},
		{src: `"usage_idle" + 'x'`, want: eval.Bool, out: []string{"W 1: TypeGuard: expression returned unexpected type string, expected boolean"}},
		{src: `"i" + 1`, want: eval.Bool, out: []string{"W 1: TypeGuard: expression returned unexpected type int, expected boolean"}},
		{src: `if("b", 1, 2.0)`, want: eval.Bool, out: []string{`W 1: Cannot call function "if" with args ("b": float, int, string, boolean or missing,1: int,2.0: float), available signatures are [(boolean,float,float), (boolean,int,int), (boolean,string,string), (boolean,boolean,boolean), (boolean,regex,regex), (boolean,time,time), (boolean,duration,duration)].`}},
		{src: `"x" + "y"`, want: eval.Bool, out: []string{"W 1: expression returns float, int or string, never boolean"}},
		{src: `"x" * 2.0 + 1`, out: []string{"W 1: mismatched type to binary operator. got float + int" + mismatch}},
		{src: `"x" % 2.0`, out: []string{"W 1: operator % cannot be applied to float, int, string, boolean or missing and float"}},
		{src: `"time" > now()`, out: []string{"W 1: invalid comparison operator > for type time"}},
		{src: `-"time"`, out: []string{"W 1: TypeGuard: expression returned unexpected type invalid type, expected time"}},
		{src: `!'a'`, out: []string{"W 1: TypeGuard: expression returned unexpected type invalid type, expected string"}},
		{src: `bool(2)`, out: []string{`W 1: error calling "bool": cannot convert 2 to boolean`}},
		{src: `1 / 0`, out: []string{"W 1: runtime error: integer divide by zero"}},
		{src: `/x/ =~ "s"`, out: []string{"E 1: a regex can only be used on the right of =~ or !~"}},
		{src: `"s" == /x/`, out: []string{"E 8: a regex can only be used on the right of =~ or !~, not =="}},
		{src: `/x/`, out: []string{"E 1: a regex can only be used on the right of =~ or !~ or as a function argument"}},
		{src: `"s" =~ 'x'`, want: eval.Bool, out: []string{"W 1: operator =~ cannot be applied to float, int, string, boolean or missing and string"}},
		{src: `count() > 1.5`, want: eval.Bool},
		{src: `count() + 1.5`, out: []string{"W 1: mismatched type to binary operator. got int + float" + mismatch}},
	} {
		t.Run(tc.src, func(t *testing.T) {
			_, probs := eval.Compile(mustParse(tc.src), testEnv(), tc.want)
			assert.Equal(t, tc.out, problems(probs))
		})
	}
}

// TestCompileNonExpressions checks the nodes that cannot appear in a lambda.
func TestCompileNonExpressions(t *testing.T) {
	pos := ast.Pos{Offset: 4, Line: 1, Col: 5}
	for _, tc := range []struct {
		x   ast.Expr
		msg string
	}{
		{&ast.ListLit{Pos: pos}, "a list cannot be used inside an expression"},
		{&ast.Star{Pos: pos}, "* cannot be used inside an expression"},
		{&ast.Lambda{Pos: pos, Body: &ast.BoolLit{Value: true}}, "a lambda cannot be used inside an expression"},
		{&ast.Chain{Pos: pos, Receiver: &ast.Ident{Name: "stream"}, Method: &ast.Ident{Name: "from"}}, "a node or property chain cannot be used inside an expression"},
		{&ast.RegexLit{Pos: pos, Pattern: "("}, "invalid regex /(/: error parsing regexp: missing closing ): `(`"},
	} {
		body := &ast.Binary{Op: ast.OpEq, X: &ast.Reference{Name: "x"}, Y: tc.x}
		l, probs := eval.Compile(body, nil, eval.Bool)
		require.Len(t, probs, 1)
		assert.Equal(t, tc.msg, probs[0].Msg)
		assert.Equal(t, pos, probs[0].Pos)
		assert.False(t, probs[0].Warning)
		_, err := l.New().EvalBool(testPoint()) // usable, fails
		assert.Error(t, err)
	}
	_, probs := eval.Compile(&ast.Ident{Pos: pos, Name: "x"}, nil, eval.Missing)
	assert.Equal(t, []string{`E 5: name "x" is undefined`}, problems(probs))
}

func TestConst(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want any
		err  string
	}{
		{src: `5m * 2`, want: 10 * time.Minute},
		{src: `-5`, want: -5},
		{src: `'a' + 'b'`, want: "ab"},
		{src: `warn * 2.0`, want: 160.0},
		{src: `/^a/`, want: val(eval.RegexValue(mustParse(`/^a/`).(*ast.RegexLit).Regexp))},
		{src: `string(90s)`, want: "90s"},
		{src: `1 + 2.0`, err: "1:1: mismatched type to binary operator. got int + float" + mismatch},
		{src: `1 / 0`, err: "1:1: runtime error: integer divide by zero"},
		{src: `'a' + "x"`, err: `1:7: the field reference "x" can only be used inside a lambda (use single quotes for a string)`},
		{src: `count()`, err: `1:1: function "count" can only be used inside a lambda`},
		{src: `foo()`, err: `1:1: undefined function: "foo"`},
		{src: `y`, err: `1:1: name "y" is undefined. Names in scope: n,name,period,re,warn,yes`},
	} {
		t.Run(tc.src, func(t *testing.T) {
			v, err := eval.Const(mustParse(tc.src), testEnv())
			if tc.err != "" {
				require.NotNil(t, err)
				assert.Equal(t, tc.err, err.Error())
				assert.False(t, err.Warning)
				return
			}
			require.Nil(t, err)
			assert.True(t, sameValue(val(tc.want), v), "got %v", v)
		})
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 90 * time.Second: "90s", 7 * 24 * time.Hour: "1w", 1500 * time.Millisecond: "1500ms",
		time.Nanosecond: "1ns", 3 * time.Microsecond: "3u", -2 * time.Hour: "-2h", 36 * time.Hour: "36h",
		48 * time.Hour: "2d", time.Minute: "1m",
	} {
		assert.Equal(t, want, eval.FormatDuration(d), "%v", d)
	}
}

func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"1h30m": 90 * time.Minute, "10ns": 10, "-5m": -5 * time.Minute, "1w": 7 * 24 * time.Hour,
		"3ms": 3 * time.Millisecond, "2u": 2 * time.Microsecond, "2µ": 2 * time.Microsecond, "1d1s": 24*time.Hour + time.Second,
	} {
		got, err := eval.ParseDuration(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"", "1", "10", "1.5h", "h", "-", "-h", "5x", "1h3", "1n"} {
		_, err := eval.ParseDuration(s)
		assert.ErrorIs(t, err, eval.ErrInvalidDuration, s)
	}
}
