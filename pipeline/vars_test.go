package pipeline_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/pipeline"
)

// Kapacitor's vars file, every type (issue 13).
func TestParseVars(t *testing.T) {
	vars, err := pipeline.ParseVars("vars.json", []byte(`{
  "b": {"type": "bool", "value": true},
  "i": {"type": "int", "value": 3},
  "f": {"type": "float", "value": 20},
  "d": {"type": "duration", "value": "5m"},
  "d2": {"type": "duration", "value": "1h30m"},
  "dn": {"type": "duration", "value": 1000000000},
  "s": {"type": "string", "value": "cpu", "description": "the measurement"},
  "r": {"type": "regex", "value": "^web.*"},
  "l": {"type": "lambda", "value": "\"mean\" < 20"},
  "g": {"type": "list", "value": [{"type": "string", "value": "host"}, {"type": "string", "value": "dc"}]},
  "st": {"type": "star"}
}`))
	require.NoError(t, err)
	want := map[string]any{"b": true, "i": int64(3), "f": 20.0, "d": 5 * time.Minute, "d2": 90 * time.Minute,
		"dn": time.Second, "s": "cpu", "r": "^web.*", "l": `"mean" < 20`, "st": nil}
	for k, v := range want {
		assert.Equal(t, v, vars[k].Value, k)
		assert.Equal(t, "vars.json", vars[k].Source, k)
	}
	assert.Equal(t, "the measurement", vars["s"].Description)
	require.Len(t, vars["g"].Value, 2)
	assert.Equal(t, "dc", vars["g"].Value.([]pipeline.Var)[1].Value)

	for _, tc := range []struct{ name, src, want string }{
		{"not json", `{"a": `, "vars.json: the JSON ends too early"},
		{"syntax", "{\n  \"a\": x}", "vars.json: line 2, column 8: invalid character 'x' looking for beginning of value"},
		{"not an object", `[1]`, "vars.json: want a JSON object of vars, got array"},
		{"bad type", `{"a": {"type": "number", "value": 1}}`, `vars.json: var "a": invalid type "number": want one of bool, int, float, duration, string, regex, lambda, list, star`},
		{"int is an integer", `{"a": {"type": "int", "value": 1.5}}`, `vars.json: var "a": a var of type int wants an integer, got 1.5`},
		{"lambda is a string", `{"a": {"type": "lambda", "value": 3}}`, `vars.json: var "a": a var of type lambda wants a string, got 3`},
		{"bad regex", `{"a": {"type": "regex", "value": "[a"}}`, "vars.json: var \"a\": invalid regex: error parsing regexp: missing closing ]: `[a`"},
		{"bad duration", `{"a": {"type": "duration", "value": "5 minutes"}}`, `vars.json: var "a": a var of type duration wants a duration string such as "5m" or a number of nanoseconds, got "5 minutes"`},
		{"list of floats", `{"a": {"type": "list", "value": [{"type": "float", "value": 1}]}}`, `vars.json: var "a": item 1: a list holds strings and *, got type float`},
		{"no value", `{"a": {"type": "string"}}`, `vars.json: var "a": no value for a var of type string`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pipeline.ParseVars("vars.json", []byte(tc.src))
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

// A template's typed vars take the vars file's values; plain vars are
// overridden by values of their type; the values act as literals would.
func TestVarValuesBind(t *testing.T) {
	const src = `var measurement string
var crit lambda
var groups list
var every = 2s
var re regex
var on = FALSE
stream
    |from()
        .measurement(measurement)
        .where(lambda: "host" =~ re)
        .groupBy(groups)
    |window().period(every).every(every)
    |max('v')
    |alert()
        .crit(crit)
        .details('')
`
	vars, err := pipeline.ParseVars("vars.json", []byte(`{
  "measurement": {"type": "string", "value": "cpu"},
  "crit": {"type": "lambda", "value": "\"max\" > 10"},
  "groups": {"type": "list", "value": [{"type": "string", "value": "host"}]},
  "every": {"type": "duration", "value": "1s"},
  "re": {"type": "regex", "value": "^web"},
  "on": {"type": "bool", "value": true}
}`))
	require.NoError(t, err)
	var events []string
	task, err := pipeline.Compile("t", "t.tick", src, pipeline.Options{VarValues: vars,
		OnEvent: func(ev *pipeline.Event, _ []byte) { events = append(events, ev.ID+" "+ev.Level.String()) }})
	require.NoError(t, err)
	lp := "cpu,host=web1 v=20 1000000000\ncpu,host=db1 v=30 1000000000\nmem,host=web1 v=40 1000000000\n" +
		"cpu,host=web1 v=5 2000000000\ncpu,host=web1 v=1 3000000000\n"
	_, err = task.WriteLineProtocol(strings.NewReader(lp), "telegraf", "autogen", "", nil)
	require.NoError(t, err)
	require.NoError(t, task.Close(context.Background()))
	// every = 1s from the file (2s in the script): windows [1s,2s) and
	// [2s,3s); only cpu of web hosts, grouped by host.
	assert.Equal(t, []string{"cpu:host=web1 CRITICAL", "cpu:host=web1 OK"}, events)
}

// Wrong types and missing vars: positioned errors naming the var, its
// type and the file.
func TestVarValuesErrors(t *testing.T) {
	vars := map[string]pipeline.Var{
		"crit":   {Type: "float", Value: 20.0, Source: "vars.json"},
		"window": {Type: "string", Value: "5m", Source: "vars.json"},
	}
	for _, tc := range []struct{ name, src, want string }{
		{"typed var of another type", "var crit lambda\nstream|from()|alert().crit(crit)",
			`1:1: var "crit" must be of type lambda, but vars.json gives it type float`},
		{"plain var of another type", "var window = 5m\nstream|from()|window().period(window).every(window)|count('v')",
			`1:1: var "window" must be of type duration, but vars.json gives it type string`},
		{"missing", "var warn lambda\nstream|from()|alert().warn(warn)",
			`1:1: missing value for var "warn" of type lambda: give it with --vars FILE or --var warn=VALUE`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pipeline.Compile("t", "t.tick", tc.src, pipeline.Options{VarValues: vars})
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

// DeclaredVars lists what show-template lists: typed vars as required,
// vars with constant values with their defaults, descriptions from the
// comment right above; vars holding nodes are left out.
func TestDeclaredVars(t *testing.T) {
	vars, err := pipeline.DeclaredVars("t.tick", `// which measurement
var measurement string
// two lines
// of description
var crit lambda

var window = 5m * 2
var message = 'Hey'
var where_filter = lambda: TRUE
var groups = [*]
var src = stream|from()
var n = 10
stream|from()|alert()
`)
	require.NoError(t, err)
	var got []string
	for _, v := range vars {
		got = append(got, strings.Join([]string{v.Name, v.Type, v.Default, v.Description}, "|"))
	}
	assert.Equal(t, []string{
		"measurement|string||which measurement",
		"crit|lambda||two lines of description",
		"window|duration|5m * 2|",
		"message|string|Hey|",
		"where_filter|lambda|TRUE|",
		"groups|list|[*]|",
		"n|int|10|",
	}, got)
	assert.True(t, vars[0].Required)
	assert.False(t, vars[2].Required)
}

// FuzzParseVars: a vars file is outside input. Either an error naming the
// file, or vars whose values have the Go type their Type promises and
// that bind as typed vars of that type.
func FuzzParseVars(f *testing.F) {
	f.Add([]byte(`{"a": {"type": "float", "value": 20}, "b": {"type": "lambda", "value": "\"x\" > 1"}}`))
	f.Add([]byte(`{"g": {"type": "list", "value": [{"type": "string", "value": "host"}, {"type": "star"}]}}`))
	f.Add([]byte(`{"d": {"type": "duration", "value": "1h30m"}, "r": {"type": "regex", "value": "^a"}, "s": {"type": "star"}}`))
	f.Add([]byte(`{"i": {"type": "int", "value": 1e3}}`))
	f.Add([]byte(`{"x": 1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		vars, err := pipeline.ParseVars("v.json", data)
		if err != nil {
			require.True(t, strings.HasPrefix(err.Error(), "v.json: "), err.Error())
			return
		}
		for name, v := range vars {
			switch v.Type {
			case "bool":
				_, ok := v.Value.(bool)
				require.True(t, ok, name)
			case "int":
				_, ok := v.Value.(int64)
				require.True(t, ok, name)
			case "float":
				_, ok := v.Value.(float64)
				require.True(t, ok, name)
			case "duration":
				_, ok := v.Value.(time.Duration)
				require.True(t, ok, name)
			case "string", "regex", "lambda":
				_, ok := v.Value.(string)
				require.True(t, ok, name)
			case "list":
				_, ok := v.Value.([]pipeline.Var)
				require.True(t, ok, name)
			case "star":
				require.Nil(t, v.Value, name)
			default:
				t.Fatalf("var %q has type %q", name, v.Type)
			}
			// Bound as a typed var of its own type it is accepted, or
			// refused with a positioned error (a lambda that does not
			// parse, or is not a bool).
			if !validIdent(name) {
				continue
			}
			src := "var " + name + " " + v.Type + "\nstream|from()|alert()"
			task, err := pipeline.Compile("t", "t.tick", src, pipeline.Options{VarValues: vars})
			if err == nil {
				task.Close(context.Background())
			} else {
				require.Regexp(t, `^\d+:\d+: `, err.Error())
			}
		}
	})
}

func validIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	switch s {
	case "var", "lambda", "stream", "batch", "TRUE", "FALSE", "AND", "OR", "dbrp":
		return false
	}
	return true
}
