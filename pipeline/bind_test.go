package pipeline_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/pipeline"
)

// The binder's errors for the examples of language.md §10–§11: each script
// is rejected with the position and the message, in Kapacitor's words
// where it has them.
func TestBindErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"double quotes for a string", `stream|from().measurement("cpu")`,
			`1:27: argument 1 of .measurement() must be a string, got a reference; did you use double quotes instead of single quotes?`},
		{"var redefined", "var x = 5\nvar x = 6\nstream|from()|alert()",
			`2:5: attempted to redefine x, vars are immutable`},
		{"property with |", `stream|from()|alert()|crit(lambda: TRUE)`,
			`1:23: no chaining method "crit" on alert, but property does exist. Use '.' operator instead: 'node.crit(..)'.`},
		{"chain with .", `stream|from().window()`,
			`1:15: no property method "window" on from, but chaining method does exist. Use '|' operator instead: 'node|window(..)'.`},
		{"from with .", `stream.from()`,
			`1:8: no property method "from" on stream, but chaining method does exist. Use '|' operator instead: 'node|from(..)'.`},
		{"undefined name in a lambda", `stream|from()|alert().crit(lambda: "v" > y)`,
			`1:42: name "y" is undefined. Names in scope: stream`},
		{"true is not TRUE", `stream|from()|where(lambda: true)`,
			`1:29: name "true" is undefined. Names in scope: stream`},
		{"constant type error", `stream|from()|alert().crit(lambda: 1 + 2.0 > 0)`,
			`1:36: mismatched type to binary operator. got int + float. see bool(), int(), float(), string(), duration()`},
		{"int where a float is required", `stream|from()|percentile('v', 95)`,
			`1:31: argument 2 of percentile() must be a float, got an int`},
		{"eval names", `stream|from()|eval(lambda: "a", lambda: "b").as('x')`,
			`1:15: must specify same number of expressions and .as() names: got 1 as names, and 2 expressions.`},
		{"groupBy star and names", `stream|from().groupBy(*, 'host')`,
			`1:15: cannot group by both '*' and named dimensions.`},
		{"exclude without star", `stream|from()|groupBy('host').exclude('x')`,
			`1:31: exclude requires '*'`},
		{"history is an int", `stream|from()|alert().history(10.0)`,
			`1:31: argument 1 of .history() must be an integer, got a float`},
		{"sample float", `stream|from()|sample(10.0)`,
			`1:22: argument 1 of sample() must be an integer or a duration, got a float`},
		{"flapping range", `stream|from()|alert().flapping(0.5, 1.5)`,
			`1:15: alert flap thresholds are percentages and should be between 0 and 1`},
		{"window needs a period", `stream|from()|window()|count('v')`,
			`1:15: window node must have either a non zero period or non zero period count`},
		{"unknown node", `stream|from()|windw()`,
			`1:15: no method or property "windw" on from (did you mean "window"?)`},
		{"sideload without a source", `stream|from()|sideload()`,
			`1:15: sideload needs a source: .source('file:///path/to/dir')`},
		{"handler without its section", `stream|from()|alert().sensu()`,
			`1:23: .sensu(): sensu needs the [sensu] section of kapacitor.conf: give it with --config FILE`},
		{"UDF", `stream|from()@myUDF()`,
			`1:15: no UDF named "myUDF": it needs a [udf.functions.myUDF] section in kapacitor.conf (give it with --config FILE)`},
		{"missing typed var", "var t float\nstream|from()|alert().crit(lambda: \"v\" > t)",
			`1:1: missing value for var "t" of type float: give it with --vars FILE or --var t=VALUE`},
		{"nothing to do", `var x = 5`,
			`1:1: the script defines no pipeline: a stream task starts with stream|from() (Kapacitor: invalid task type)`},
		{"template parse error", `stream|from()|alert().message('{{ .ID ')`,
			`1:31: template: message:1: unclosed action`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			task, err := pipeline.Compile("t", "t.tick", tc.src, pipeline.Options{})
			require.Error(t, err, "script must be rejected")
			assert.Equal(t, tc.want, err.Error())
			_ = task
		})
	}
}

// Capitalised methods work as in Kapacitor; typed vars take their value
// from Options.Vars; stored lambdas are reused.
func TestBindAccepts(t *testing.T) {
	for _, src := range []string{
		`stream|From().Measurement('cpu')|Alert().Crit(lambda: "v" > 1)`,
		"var p = 5m * 2\nstream|from()|window().period(p).every(p)|count('v')",
		"var f = lambda: \"v\" > 5\nstream|from()|alert().crit(f).warn(f)",
		"stream|from()|groupBy(['host', 'dc'])|alert().crit(lambda: TRUE)",
		"var t float\nvar d duration\nstream|from()|window().period(d).every(d)|mean('v')|alert().crit(lambda: \"mean\" > t)",
		"stream|from()|alert().crit(lambda: \"v\" > 5,).message('a' + 'b').id('a\\'b')",
	} {
		task, err := pipeline.Compile("t", "t.tick", src, pipeline.Options{Vars: map[string]string{"t": "1.5", "d": "1m"}})
		if !assert.NoError(t, err, src) {
			t.Log(task.ErrorText(err))
		}
	}
}
