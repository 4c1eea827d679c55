package eval_test

import (
	"math"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/eval"
)

const mismatch = ". see bool(), int(), float(), string(), duration()"

type evalCase struct {
	src  string
	want any    // expected value (see val), when err is empty
	err  string // expected runtime error
}

func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			l, probs := eval.Compile(mustParse(tc.src), testEnv(), eval.Missing)
			require.NoError(t, probs.Err(), "compile problems: %v", problems(probs))
			got, err := l.New().Eval(testPoint())
			if tc.err != "" {
				require.Error(t, err, "got %v", got)
				assert.Equal(t, tc.err, err.Error())
				return
			}
			require.NoError(t, err)
			want := val(tc.want)
			assert.True(t, sameValue(want, got), "want %v (%v), got %v (%v)", want, want.Kind, got, got.Kind)
		})
	}
}

// TestBinaryTable covers every row and operator of lambda.md §4, both on
// constants (folded at compile time) and on fields (the runtime path).
func TestBinaryTable(t *testing.T) {
	runEvalCases(t, []evalCase{
		// int, int: + - * / % and comparisons
		{src: `7 + 2`, want: 9}, {src: `"i" + 2`, want: 5},
		{src: `7 - 9`, want: -2}, {src: `"i" - 9`, want: -6},
		{src: `3 * 4`, want: 12}, {src: `"i" * "neg"`, want: -21},
		{src: `7 / 2`, want: 3}, {src: `"neg" / 2`, want: -3}, {src: `-5 / 2`, want: -2},
		{src: `7 % 3`, want: 1}, {src: `-5 % 3`, want: -2}, {src: `"neg" % 4`, want: -3},
		{src: `3 == 3`, want: true}, {src: `"i" == 3`, want: true},
		{src: `3 != 3`, want: false}, {src: `"i" != 4`, want: true},
		{src: `2 < 3`, want: true}, {src: `"i" < 3`, want: false},
		{src: `3 <= 3`, want: true}, {src: `"i" <= 2`, want: false},
		{src: `4 > 3`, want: true}, {src: `"i" > "neg"`, want: true},
		{src: `3 >= 4`, want: false}, {src: `"i" >= 3`, want: true},
		// float, float
		{src: `1.5 + 1.0`, want: 2.5}, {src: `"f" + 1.0`, want: 2.5},
		{src: `"f" - 0.5`, want: 1.0}, {src: `"f" * 2.0`, want: 3.0}, {src: `"f" / 0.5`, want: 3.0},
		{src: `"f" == 1.5`, want: true}, {src: `"f" != 1.5`, want: false},
		{src: `"f" < 2.0`, want: true}, {src: `"f" <= 1.5`, want: true},
		{src: `"f" > 1.5`, want: false}, {src: `"f" >= "usage_idle"`, want: false},
		// int, float and float, int: comparisons only
		{src: `3 == 3.0`, want: true}, {src: `"i" < 3.5`, want: true}, {src: `"i" >= 3.0`, want: true},
		{src: `"i" != 3.0`, want: false}, {src: `"i" > 2.9`, want: true}, {src: `"i" <= 2.9`, want: false},
		{src: `"f" > 1`, want: true}, {src: `"f" == 1`, want: false}, {src: `1.0 == 1`, want: true},
		{src: `"f" < "i"`, want: true}, {src: `"f" <= 1`, want: false}, {src: `"f" >= 2`, want: false},
		{src: `"f" != 2`, want: true},
		// string, string
		{src: `'a' + 'b'`, want: "ab"}, {src: `"s" + '!'`, want: "web01!"},
		{src: `'a' < 'b'`, want: true}, {src: `"s" == 'web01'`, want: true}, {src: `"s" != 'web01'`, want: false},
		{src: `"s" >= 'web'`, want: true}, {src: `"s" <= 'web'`, want: false}, {src: `"host" > "s"`, want: false},
		// string, regex: unanchored
		{src: `"host" =~ /web/`, want: true}, {src: `"host" =~ /^web/`, want: false},
		{src: `"host" !~ /^web/`, want: true}, {src: `"s" =~ re`, want: true}, {src: `'xyz' !~ /y/`, want: false},
		// boolean, boolean
		{src: `TRUE AND FALSE`, want: false}, {src: `"b" AND "b"`, want: true},
		{src: `"nb" OR "b"`, want: true}, {src: `FALSE OR FALSE`, want: false},
		{src: `"b" == TRUE`, want: true}, {src: `"b" != "nb"`, want: true},
		// duration, duration
		{src: `5m + 30s`, want: 330 * time.Second}, {src: `5m - 10m`, want: -5 * time.Minute},
		{src: `5m / 2m`, want: 2}, {src: `period / 2m`, want: 2},
		{src: `5m == 300s`, want: true}, {src: `5m != 300s`, want: false}, {src: `5m < 1h`, want: true},
		{src: `5m <= 1h`, want: true}, {src: `5m > 1h`, want: false}, {src: `5m >= 5m`, want: true},
		// duration with int and float
		{src: `5m * 2`, want: 10 * time.Minute}, {src: `2 * 5m`, want: 10 * time.Minute},
		{src: `5m * "i"`, want: 15 * time.Minute}, {src: `"i" * period`, want: 15 * time.Minute},
		{src: `5m * 1.5`, want: 450 * time.Second}, {src: `1.5 * 5m`, want: 450 * time.Second},
		{src: `"f" * duration('1ns', 1s)`, want: time.Duration(1)},
		{src: `5m / 2`, want: 150 * time.Second}, {src: `5m / 2.0`, want: 150 * time.Second},
		{src: `1s / 3.0`, want: 333333333 * time.Nanosecond},
		// precedence and parentheses
		{src: `1 < 2 == TRUE`, want: true}, {src: `2 + 3 * 4`, want: 14}, {src: `(2 + 3) * 4`, want: 20},
		{src: `10 - 4 - 3`, want: 3}, {src: `"a" == "b" < "c"`, err: `right reference value "c" is missing value`},
		// identifiers are constants
		{src: `"usage_idle" < warn`, want: true}, {src: `period * n`, want: 20 * time.Minute},
		{src: `name + '_x'`, want: "cpu_x"}, {src: `yes AND "b"`, want: true},
	})
}

func TestBinaryErrors(t *testing.T) {
	runEvalCases(t, []evalCase{
		{src: `"f" * 2`, err: "mismatched type to binary operator. got float * int" + mismatch},
		{src: `7.0 / "i"`, err: "mismatched type to binary operator. got float / int" + mismatch},
		{src: `"i" + 2.0`, err: "mismatched type to binary operator. got int + float" + mismatch},
		{src: `"f" % 2.0`, err: "invalid math operator % for type float"},
		{src: `"b" < "nb"`, err: "invalid comparison operator < for type boolean"},
		{src: `"b" + "b"`, err: "invalid math operator + for type boolean"},
		{src: `"time" > now()`, err: "invalid comparison operator > for type time"},
		{src: `"time" == "time"`, err: "invalid comparison operator == for type time"},
		{src: `"time" - "time"`, err: "invalid math operator - for type time"},
		{src: `"s" + "i"`, err: "mismatched type to binary operator. got string + int" + mismatch},
		{src: `"s" - 's'`, err: "invalid math operator - for type string"},
		{src: `"s" * 2`, err: "invalid math operator * for type string"},
		{src: `5m + "i"`, err: "mismatched type to binary operator. got duration + int" + mismatch},
		{src: `period % "i"`, err: "invalid math operator % for type duration"},
		{src: `"i" =~ re`, err: "invalid comparison operator =~ for type int"},
		{src: `"s" =~ "s"`, err: "mismatched type to binary operator. got string =~ string" + mismatch},
		{src: `"i" AND TRUE`, err: "invalid logical operator AND for type int"},
		{src: `"s" OR TRUE`, err: "invalid logical operator OR for type string"},
		{src: `TRUE AND "i"`, err: "mismatched type to binary operator. got boolean AND int" + mismatch},
		{src: `"b" == 1`, err: "mismatched type to binary operator. got boolean == int" + mismatch},
		{src: `"dup" > 0`, err: `cannot have field and tags with same name "dup"`},
		{src: `"dup"`, err: `cannot have field and tags with same name "dup"`},
	})
}

func TestMissing(t *testing.T) {
	runEvalCases(t, []evalCase{
		{src: `"missing" > 5`, err: `left reference value "missing" is missing value`},
		{src: `5 < "missing"`, err: `right reference value "missing" is missing value`},
		{src: `"missing" == 'x'`, err: `left reference value "missing" is missing value`},
		{src: `"s" == "missing"`, err: `right reference value "missing" is missing value`},
		{src: `("missing") > 5.0`, err: `left reference value "missing" is missing value`},
		{src: `"i" + "missing"`, err: "mismatched type to binary operator. got int + missing" + mismatch},
		{src: `"missing" + 1`, err: "invalid math operator + for type missing"},
		{src: `"missing" AND TRUE`, err: `left reference value "missing" is missing value`},
		{src: `TRUE AND "missing"`, err: `right reference value "missing" is missing value`},
		{src: `!"missing"`, err: `reference "missing" is missing value`},
		{src: `-"missing"`, err: `reference "missing" is missing value`},
		{src: `"missing"`, err: `missing value: "missing"`},
		{src: `("missing")`, err: `missing value: "missing"`},
		{src: `strContains("missing", 'x')`, err: `Cannot call function "strContains" argument "missing" is missing, values in scope are []`},
		{src: `strContains("missing", "s")`, err: `Cannot call function "strContains" argument "missing" is missing, values in scope are [s]`},
		{src: `strContains("missing", "other") AND "b"`, err: `Cannot call function "strContains" arguments "missing", "other" are missing, values in scope are [b]`},
		{src: `isPresent("missing")`, want: false},
		{src: `isPresent("f")`, want: true},
		{src: `isPresent("s")`, want: true},
		{src: `isPresent("missing") AND "missing" > 10`, want: false},
	})
}

func TestShortCircuitAndDivision(t *testing.T) {
	runEvalCases(t, []evalCase{
		{src: `FALSE AND "missing" > 5`, want: false},
		{src: `"nb" AND "i" / "zero" > 1`, want: false},
		{src: `TRUE OR "missing" > 5`, want: true},
		{src: `"b" OR foo()`, want: true},
		{src: `"missing" > 5 OR TRUE`, err: `left reference value "missing" is missing value`},
		{src: `"missing" > 5 AND FALSE`, err: `left reference value "missing" is missing value`},
		{src: `TRUE AND "missing" > 5`, err: `left reference value "missing" is missing value`},
		{src: `FALSE OR "i" / "zero" == 1`, err: "runtime error: integer divide by zero"},
		{src: `"i" / "zero"`, err: "runtime error: integer divide by zero"},
		{src: `"i" % "zero"`, err: "runtime error: integer divide by zero"},
		{src: `5m / "zero"`, err: "runtime error: integer divide by zero"},
		{src: `5m / (period - 5m)`, err: "runtime error: integer divide by zero"},
		{src: `"f" / 0.0`, want: math.Inf(1)},
		{src: `-"f" / 0.0`, want: math.Inf(-1)},
		{src: `"fzero" / 0.0`, want: math.NaN()},
		{src: `"fzero" / 0.0 != "fzero" / 0.0`, want: true},
		{src: `"fzero" / 0.0 == "fzero" / 0.0`, want: false},
		{src: `"big" + 1`, want: int64(math.MinInt64)},
		{src: `"big" * 2`, want: -2},
	})
}

func TestUnary(t *testing.T) {
	runEvalCases(t, []evalCase{
		{src: `-"i"`, want: -3}, {src: `-"f"`, want: -1.5}, {src: `-5m`, want: -5 * time.Minute},
		{src: `-5`, want: -5}, {src: `--5`, want: 5}, {src: `-("i" + 1)`, want: -4},
		{src: `!"b"`, want: false}, {src: `!("i" > 5)`, want: true}, {src: `!!TRUE`, want: true},
		{src: `-"s"`, err: "TypeGuard: expression returned unexpected type invalid type, expected string"},
		{src: `-"b"`, err: "TypeGuard: expression returned unexpected type invalid type, expected boolean"},
		{src: `!"i"`, err: "TypeGuard: expression returned unexpected type invalid type, expected int"},
		{src: `!"b" > 5`, err: "invalid comparison operator > for type boolean"},
	})
}

func TestBuiltins(t *testing.T) {
	sig := func(f, args, sigs string) string {
		return `Cannot call function "` + f + `" with args ` + args + `, available signatures are ` + sigs + `.`
	}
	runEvalCases(t, []evalCase{
		// bool
		{src: `bool(1)`, want: true}, {src: `bool(0)`, want: false}, {src: `bool(0.0)`, want: false},
		{src: `bool(1.0)`, want: true}, {src: `bool('T')`, want: true}, {src: `bool('False')`, want: false},
		{src: `bool("b")`, want: true},
		{src: `bool(2)`, err: `error calling "bool": cannot convert 2 to boolean`},
		{src: `bool(2.5)`, err: `error calling "bool": cannot convert 2.5 to boolean`},
		{src: `bool('x')`, err: `error calling "bool": strconv.ParseBool: parsing "x": invalid syntax`},
		{src: `bool(5m)`, err: sig("bool", "(5m: duration)", "[(boolean), (string), (int), (float)]")},
		// int
		{src: `int(-2.9)`, want: -2}, {src: `int(2.9)`, want: 2}, {src: `int('42')`, want: 42},
		{src: `int(TRUE)`, want: 1}, {src: `int(FALSE)`, want: 0}, {src: `int("i")`, want: 3},
		{src: `int('4.2')`, err: `error calling "int": strconv.ParseInt: parsing "4.2": invalid syntax`},
		{src: `int(5m)`, err: sig("int", "(5m: duration)", "[(boolean), (string), (int), (float)]")},
		// float
		{src: `float(3)`, want: 3.0}, {src: `float('1e3')`, want: 1000.0}, {src: `float(FALSE)`, want: 0.0},
		{src: `float(TRUE)`, want: 1.0}, {src: `float("f")`, want: 1.5},
		{src: `float('x')`, err: `error calling "float": strconv.ParseFloat: parsing "x": invalid syntax`},
		// string
		{src: `string(3.0)`, want: "3"}, {src: `string(1.5)`, want: "1.5"}, {src: `string(TRUE)`, want: "true"},
		{src: `string(0.1 + 0.2)`, want: "0.30000000000000004"}, {src: `string(1000000000000000000000.0 * 1.0)`, want: "1000000000000000000000"},
		{src: `string(-42)`, want: "-42"}, {src: `string('x')`, want: "x"},
		{src: `string(90s)`, want: "90s"}, {src: `string(7d)`, want: "1w"}, {src: `string(1500ms)`, want: "1500ms"},
		{src: `string(0s)`, want: "0s"}, {src: `string(60s)`, want: "1m"}, {src: `string(duration('1ns', 1s) * 1500)`, want: "1500ns"},
		{src: `string(1u * 3)`, want: "3u"}, {src: `string(-90s)`, want: "-90s"}, {src: `string(48h)`, want: "2d"},
		// duration
		{src: `duration(5m)`, want: 5 * time.Minute}, {src: `duration(3, 1s)`, want: 3 * time.Second},
		{src: `duration(1.5, 1s)`, want: 1500 * time.Millisecond}, {src: `duration("i", 1m)`, want: 3 * time.Minute},
		{src: `duration('1h30m', 1s)`, want: 90 * time.Minute}, {src: `duration('-5m', 1s)`, want: -5 * time.Minute},
		{src: `duration('10ns', 1s)`, want: 10 * time.Nanosecond}, {src: `duration('2w1d3ms4u', 1s)`, want: 15*24*time.Hour + 3*time.Millisecond + 4*time.Microsecond},
		{src: `string(duration('1h30m', 1s))`, want: "90m"},
		{src: `duration('1.5h', 1s)`, err: `error calling "duration": invalid duration string "1.5h"`},
		{src: `duration('10', 1s)`, err: `error calling "duration": invalid duration string "10"`},
		{src: `duration('5x', 1s)`, err: `error calling "duration": invalid duration string "5x"`},
		{src: `duration('5m')`, err: sig("duration", "('5m': string)", "[(duration), (int,duration), (float,duration), (string,duration)]")},
		{src: `duration(5)`, err: sig("duration", "(5: int)", "[(duration), (int,duration), (float,duration), (string,duration)]")},
		// math
		{src: `abs(-5.0)`, want: 5.0}, {src: `abs(float("neg"))`, want: 7.0},
		{src: `abs(-5)`, err: sig("abs", "(-5: int)", "[(float)]")},
		{src: `abs("i")`, err: sig("abs", `("i": int)`, "[(float)]")},
		{src: `abs()`, err: sig("abs", "()", "[(float)]")},
		{src: `abs(1.0, 2.0)`, err: sig("abs", "(1.0: float,2.0: float)", "[(float)]")},
		{src: `pow(2.0, 10.0)`, want: 1024.0},
		{src: `pow(2, 10)`, err: sig("pow", "(2: int,10: int)", "[(float,float)]")},
		{src: `pow10(3)`, want: 1000.0}, {src: `jn(1, 2.0)`, want: math.Jn(1, 2)}, {src: `yn(2, 3.0)`, want: math.Yn(2, 3)},
		{src: `mod(-5.0, 3.0)`, want: -2.0}, {src: `max(1.0, 2.0)`, want: 2.0}, {src: `min(1.0, 2.0)`, want: 1.0},
		{src: `hypot(3.0, 4.0)`, want: 5.0}, {src: `atan2(1.0, 1.0)`, want: math.Pi / 4},
		{src: `sqrt(-1.0)`, want: math.NaN()}, {src: `log(0.0)`, want: math.Inf(-1)},
		{src: `floor(-1.5)`, want: -2.0}, {src: `ceil(1.2)`, want: 2.0}, {src: `trunc(-1.7)`, want: -1.0},
		{src: `exp(0.0)`, want: 1.0}, {src: `log10(1000.0)`, want: 3.0}, {src: `log2(8.0)`, want: 3.0},
		{src: `gamma(5.0)`, want: 24.0}, {src: `cbrt(27.0)`, want: 3.0}, {src: `sin(0.0)`, want: 0.0},
		// strings
		{src: `strLength('héllo')`, want: 6}, {src: `strLength("s")`, want: 5},
		{src: `strContains('abc', 'b')`, want: true}, {src: `strContains("host", 'xx')`, want: false},
		{src: `strContainsAny('abc', 'xyzc')`, want: true}, {src: `strCount('cheese', 'e')`, want: 3},
		{src: `strHasPrefix("host", 'my')`, want: true}, {src: `strHasSuffix("host", '01')`, want: true},
		{src: `strIndex('chicken', 'ken')`, want: 4}, {src: `strIndex('x', 'y')`, want: -1},
		{src: `strIndexAny('golang', 'ny')`, want: 4}, {src: `strLastIndex('go gopher', 'go')`, want: 3},
		{src: `strLastIndexAny('go gopher', 'go')`, want: 4},
		{src: `strReplace('oink oink oink', 'k', 'ky', 2)`, want: "oinky oinky oink"},
		{src: `strReplace('oink oink oink', 'oink', 'moo', -1)`, want: "moo moo moo"},
		{src: `strSubstring('hello', 1, 3)`, want: "el"}, {src: `strSubstring('hello', 0, 4)`, want: "hell"},
		{src: `strSubstring('hello', 2, 2)`, want: ""},
		{src: `strSubstring('hello', 0, 5)`, err: `error calling "strSubstring": stop index too large for string in strSubstring: 5`},
		{src: `strSubstring('hello', -1, 2)`, err: `error calling "strSubstring": found negative index for strSubstring: -1`},
		{src: `strSubstring('hello', 1, -2)`, err: `error calling "strSubstring": found negative index for strSubstring: -2`},
		{src: `strSubstring('hello', 3, 1)`, err: `error calling "strSubstring": runtime error: slice bounds out of range [3:1]`},
		{src: `strToLower('HeLLo')`, want: "hello"}, {src: `strToUpper('héllo')`, want: "HÉLLO"},
		{src: `strTrim('xxhixx', 'x')`, want: "hi"}, {src: `strTrimLeft('xxhixx', 'x')`, want: "hixx"},
		{src: `strTrimRight('xxhixx', 'x')`, want: "xxhi"}, {src: `strTrimPrefix('prefix-x', 'prefix-')`, want: "x"},
		{src: `strTrimSuffix('a.go', '.go')`, want: "a"}, {src: `strTrimSpace('  a b ')`, want: "a b"},
		{src: `regexReplace(/a(x*)b/, '-ab-axxb-', '${1}W')`, want: "-W-xxW-"},
		{src: `regexReplace(/(?P<first>\w+)\s(?P<last>\w+)/, 'Ada Lovelace', '$last, $first')`, want: "Lovelace, Ada"},
		{src: `regexReplace('a', 'b', 'c')`, err: sig("regexReplace", "('a': string,'b': string,'c': string)", "[(regex,string,string)]")},
		// time
		{src: `unixNano("time")`, want: pointTime.UnixNano()}, {src: `minute("time")`, want: 45},
		{src: `hour("time")`, want: 13}, {src: `weekday("time")`, want: 5}, {src: `day("time")`, want: 15},
		{src: `month("time")`, want: 3}, {src: `year("time")`, want: 2024},
		{src: `unixNano(now()) > unixNano("time")`, want: true},
		{src: `hour("f")`, err: sig("hour", `("f": float)`, "[(time)]")},
		// misc
		{src: `if(TRUE, 1, 2)`, want: 1}, {src: `if("nb", 'a', 'b')`, want: "b"},
		{src: `if("i" > 2, "f", 0.0)`, want: 1.5}, {src: `if(FALSE, 1m, 2m)`, want: 2 * time.Minute},
		{src: `if(TRUE, re, /x/)`, want: regexp.MustCompile("^web")},
		{src: `if(TRUE, "time", now()) == "time"`, err: "invalid comparison operator == for type time"},
		{src: `if(TRUE, 1, 2.0)`, err: sig("if", "(TRUE: boolean,1: int,2.0: float)",
			"[(boolean,float,float), (boolean,int,int), (boolean,string,string), (boolean,boolean,boolean), (boolean,regex,regex), (boolean,time,time), (boolean,duration,duration)]")},
		{src: `if(TRUE, 1, "i" / "zero")`, err: "Failed to handle 3 argument: runtime error: integer divide by zero"},
		{src: `humanBytes(1024)`, want: "1.0 kB"}, {src: `humanBytes(1000.0)`, want: "1.0 kB"},
		{src: `humanBytes(123456789)`, want: "124 MB"}, {src: `humanBytes(0)`, want: "0 B"},
		{src: `humanBytes(1999.9)`, want: "2.0 kB"}, {src: `humanBytes("i")`, want: "3 B"},
		{src: `humanBytes('x')`, err: sig("humanBytes", "('x': string)", "[(float), (int)]")},
		// errors in arguments and unknown functions
		{src: `float("i" / "zero")`, err: "Failed to handle 1 argument: runtime error: integer divide by zero"},
		{src: `foo(1)`, err: `undefined function: "foo"`},
		{src: `foo("missing") > 1`, err: `undefined function: "foo"`},
	})
}

func TestStatefulFunctions(t *testing.T) {
	compile := func(src string) *eval.Lambda {
		l, probs := eval.Compile(mustParse(src), testEnv(), eval.Missing)
		require.Empty(t, probs)
		return l
	}
	p := func(v float64) *point {
		return &point{fields: []kv{{"v", eval.FloatValue(v)}, {"w", eval.FloatValue(-v)}}}
	}

	t.Run("count shared by name", func(t *testing.T) {
		l := compile(`count() + count()`)
		assert.True(t, l.Stateful())
		e := l.New()
		for _, want := range []int64{3, 7, 11} {
			v, err := e.Eval(p(1))
			require.NoError(t, err)
			assert.Equal(t, want, v.Int())
		}
		v, err := l.New().Eval(p(1)) // a fresh instance starts over
		require.NoError(t, err)
		assert.Equal(t, int64(3), v.Int())
	})
	t.Run("count advances on failing point", func(t *testing.T) {
		e := compile(`count() > 1 AND "missing" > 1`).New()
		_, err := e.Eval(p(1)) // count() = 1: FALSE, short-circuit
		require.NoError(t, err)
		_, err = e.Eval(p(1)) // count() = 2: error from the right side
		require.Error(t, err)
		v, err := compile(`count()`).New().Eval(p(1))
		require.NoError(t, err)
		assert.Equal(t, int64(1), v.Int())
	})
	t.Run("sigma", func(t *testing.T) {
		e := compile(`sigma("v")`).New()
		var got []float64
		for _, x := range []float64{1, 2, 3, 3} {
			v, err := e.Eval(p(x))
			require.NoError(t, err)
			got = append(got, v.Float())
		}
		assert.InDeltaSlice(t, []float64{0, math.Sqrt(0.5), 1, 0.75 / math.Sqrt(2.75/3)}, got, 1e-12)
		_, err := e.Eval(&point{fields: []kv{{"v", eval.IntValue(1)}}})
		require.EqualError(t, err, `Cannot call function "sigma" with args ("v": int), available signatures are [(float)].`)
	})
	t.Run("spread shared by name", func(t *testing.T) {
		e := compile(`spread("v") + spread("w")`).New()
		v, err := e.Eval(p(2)) // values 2, -2: spread 0 then 4
		require.NoError(t, err)
		assert.Equal(t, 4.0, v.Float())
		v, err = e.Eval(p(3)) // values 3, -3: 5 then 6
		require.NoError(t, err)
		assert.Equal(t, 11.0, v.Float())
	})
	t.Run("not stateful", func(t *testing.T) {
		assert.False(t, compile(`"v" > 1 AND unixNano(now()) > 0`).Stateful())
	})
	t.Run("rand", func(t *testing.T) {
		l := compile(`rand(10)`)
		a, b := l.New(), l.New()
		a.Seed(42)
		b.Seed(42)
		for range 20 {
			x, err := a.Eval(p(1))
			require.NoError(t, err)
			y, err := b.Eval(p(1))
			require.NoError(t, err)
			assert.Equal(t, x, y)
			assert.True(t, x.Int() >= 0 && x.Int() < 10)
		}
		v, err := compile(`rand()`).New().Eval(p(1))
		require.NoError(t, err)
		assert.GreaterOrEqual(t, v.Int(), int64(0))
		_, err = compile(`rand(0)`).New().Eval(p(1))
		require.EqualError(t, err, `error calling "rand": the argument of rand must be positive`)
	})
}

func TestEvalBool(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want bool
		err  string
	}{
		{src: `"usage_idle" < 10`, want: true},
		{src: `"usage_idle" < 5`, want: false},
		{src: `"b"`, want: true},
		{src: `"i" + 1`, err: "TypeGuard: expression returned unexpected type int, expected boolean"},
		{src: `"s"`, err: "TypeGuard: expression returned unexpected type string, expected boolean"},
		{src: `"missing"`, err: `missing value: "missing"`},
		{src: `"missing" > 10`, err: `left reference value "missing" is missing value`},
	} {
		t.Run(tc.src, func(t *testing.T) {
			l, probs := eval.Compile(mustParse(tc.src), testEnv(), eval.Missing)
			require.NoError(t, probs.Err())
			got, err := l.New().EvalBool(testPoint())
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestCustomFuncs(t *testing.T) {
	env := testEnv()
	env.Funcs = map[string]*eval.Func{
		"level": {Signatures: [][]eval.Kind{{}}, Result: eval.Int, Call: func(s eval.Scope, _ []eval.Value) (eval.Value, error) {
			return eval.IntValue(s.Time()), nil
		}},
		"abs": {Signatures: [][]eval.Kind{{eval.Int}}, Result: eval.Int}, // a built-in wins
	}
	l, probs := eval.Compile(mustParse(`level() == 2 AND abs(-1.0) == 1.0`), env, eval.Bool)
	require.Empty(t, probs)
	ok, err := l.New().EvalBool(&point{time: 2})
	require.NoError(t, err)
	assert.True(t, ok)
	_, probs = eval.Compile(mustParse(`level(1)`), env, eval.Missing)
	assert.Equal(t, []string{`W 1: Cannot call function "level" with args (1: int), available signatures are [()].`}, problems(probs))
}

func TestLambdaInfo(t *testing.T) {
	l, probs := eval.Compile(mustParse(`"usage_idle" < warn AND ("host" =~ /^web\/x/ OR strLength("host") > 3) AND hour("time") > 1`), testEnv(), eval.Bool)
	require.Empty(t, probs)
	assert.Equal(t, []string{"host", "time", "usage_idle"}, l.References())
	assert.Equal(t, `"usage_idle" < warn AND ("host" =~ /^web\/x/ OR strLength("host") > 3) AND hour("time") > 1`, l.String())
	assert.False(t, l.Stateful())
}
