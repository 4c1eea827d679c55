package tickscript

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The formatted scripts are what Kapacitor 1.8.3 answered in
// server/testdata/api (01, 16 and 20).
func TestFormatAsKapacitor(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"../testdata/api/inputs/cpu_alert.tick", "stream\n    |from()\n        .measurement('cpu')\n    |alert()\n        .crit(lambda: \"usage_idle\" < 10)\n        .message('Hey, check your CPU')\n        .topic('cpu')\n"},
		{"../testdata/api/inputs/cpu_alert_dbrp.tick", "dbrp \"telegraf\".\"autogen\"\n\nstream\n    |from()\n        .measurement('cpu')\n    |alert()\n        .crit(lambda: \"usage_idle\" < 10)\n        .message('Hey, check your CPU')\n        .topic('cpu')\n"},
		{"../testdata/api/inputs/template.tick", "dbrp \"telegraf\".\"autogen\"\n\n// measurement to consume\nvar measurement string\n\n// critical criteria\nvar crit lambda\n\n// message and topic, with defaults\nvar message = 'Hey, check your CPU'\n\nvar topic = 'cpu'\n\nstream\n    |from()\n        .measurement(measurement)\n    |alert()\n        .crit(crit)\n        .message(message)\n        .topic(topic)\n"},
	} {
		src, err := os.ReadFile(tc.in)
		require.NoError(t, err)
		got, err := Format(string(src))
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestInspect(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		vars      map[string]string
		want      Info
	}{
		{name: "seed", src: "stream|from().measurement('cpu')|alert().crit(lambda: TRUE).topic('cpu')",
			want: Info{Type: "stream", Measurements: []string{"cpu"}, AlertTopics: []string{"cpu"}}},
		{name: "no measurement", src: "dbrp \"a\".\"b\"\nstream|from()|alert()",
			want: Info{Type: "stream", DBRPs: []DBRP{{"a", "b"}}, AllMeasurements: true, AlertTopics: []string{""}}},
		{name: "var measurement supplied", src: "var m string\nstream|from().measurement(m)", vars: map[string]string{"m": "mem"},
			want: Info{Type: "stream", Measurements: []string{"mem"}, Vars: []Var{{Name: "m", Type: "string", Value: json.RawMessage("null")}}}},
		{name: "var measurement unknown", src: "var m string\nstream|from().measurement(m)",
			want: Info{Type: "stream", AllMeasurements: true, Vars: []Var{{Name: "m", Type: "string", Value: json.RawMessage("null")}}}},
		{name: "two froms through a var", src: "var a = stream|from().measurement('x')\nvar b = stream|from()\n  .measurement('y')\na|join(b)|alert().topic('t')\nb|alert()",
			want: Info{Type: "stream", Measurements: []string{"x", "y"}, AlertTopics: []string{"t", ""}}},
		{name: "batch", src: "batch|query('select 1')|alert()",
			want: Info{Type: "batch", AlertTopics: []string{""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Inspect(tc.src, tc.vars)
			require.NoError(t, err)
			assert.Equal(t, &tc.want, got)
		})
	}
}

func TestTemplateVars(t *testing.T) {
	src, err := os.ReadFile("../testdata/api/inputs/template.tick")
	require.NoError(t, err)
	info, err := Inspect(string(src), nil)
	require.NoError(t, err)
	got, _ := json.Marshal(info.Vars)
	assert.JSONEq(t, `[
		{"Name":"measurement","Type":"string","Value":null,"Description":"measurement to consume"},
		{"Name":"crit","Type":"lambda","Value":null,"Description":"critical criteria"},
		{"Name":"message","Type":"string","Value":"Hey, check your CPU","Description":"message and topic, with defaults"},
		{"Name":"topic","Type":"string","Value":"cpu","Description":""}]`, string(got))
	assert.Equal(t, []string{"cpu"}, info.Topics()) // topic('cpu') through the var default
}

func TestVarValue(t *testing.T) {
	for _, tc := range []struct{ typ, value, want, err string }{
		{"string", `"cpu"`, "cpu", ""},
		{"lambda", `"\"usage_idle\" < 20"`, `"usage_idle" < 20`, ""},
		{"int", `42`, "42", ""},
		{"int", `4.5`, "", "must be an integer"},
		{"float", `67`, "67", ""},
		{"bool", `true`, "true", ""},
		{"duration", `"1m"`, "1m0s", ""},
		{"duration", `"1d"`, "24h0m0s", ""},
		{"duration", `10000000000`, "10s", ""},
		{"regex", `"^abc.*xyz"`, "^abc.*xyz", ""},
		{"regex", `"("`, "", "invalid regex"},
		{"star", `""`, "", ""},
		{"list", `[{"type":"string","value":"host"},{"type":"string","value":"cpu"}]`, "host,cpu", ""},
		{"list", `[{"type":"int","value":1}]`, "", "only contain string or star"},
		{"nope", `1`, "", "invalid var type"},
	} {
		got, err := VarValue(tc.typ, json.RawMessage(tc.value))
		if tc.err != "" {
			assert.ErrorContains(t, err, tc.err, tc.typ+" "+tc.value)
			continue
		}
		require.NoError(t, err, tc.typ+" "+tc.value)
		assert.Equal(t, tc.want, got)
	}
}
