package pipeline

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/eval"
)

// The hand-written JSON must match encoding/json byte for byte.
func TestJSONMatchesEncodingJSON(t *testing.T) {
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-5, 1e-6, 1e-7, 123456789.125, 1e20, 1e21, 1.5e300, 5e-324, math.MaxFloat64, 100000, 1234567}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 2000; i++ {
		floats = append(floats, math.Float64frombits(r.Uint64()))
	}
	for _, f := range floats {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			_, ok := appendJSONFloat(nil, f)
			assert.False(t, ok)
			continue
		}
		want, _ := json.Marshal(f)
		got, ok := appendJSONFloat(nil, f)
		assert.True(t, ok)
		assert.Equal(t, string(want), string(got), "%v", f)
	}
	strs := []string{"", "plain", `q"uote\`, "<b>&</b>", "tab\there\nnl\r", "\x00\x1f", "héllo → ✓", "\u2028\u2029", "bad\xffutf8", "emoji 🎉"}
	for i := 0; i < 500; i++ {
		b := make([]byte, r.Intn(20))
		r.Read(b)
		strs = append(strs, string(b))
	}
	for _, s := range strs {
		want, _ := json.Marshal(s)
		assert.Equal(t, string(want), string(appendJSONString(nil, s)), "%q", s)
	}
}

// The fast path of the default details, written from the point's tags and
// fields, renders what {{ json . }} does in html/template from the maps,
// and fails as it does on what encoding/json rejects.
func TestDefaultDetailsFastPath(t *testing.T) {
	fast, err := parseAlertTemplates(defaultIDTemplate, defaultMessageTemplate, defaultDetailsTemplate)
	require.NoError(t, err)
	slow, err := parseAlertTemplates(defaultIDTemplate, defaultMessageTemplate, defaultDetailsTemplate)
	require.NoError(t, err)
	slow.detailsDefault = false // execute the template
	require.True(t, fast.simple())
	require.False(t, slow.simple())
	cases := []struct {
		info   detailsInfo
		tags   []Tag
		fields []Field
	}{
		{info: detailsInfo{Message: `it's <b>"q"</b> & 1+1`}},
		{
			info: detailsInfo{messageInfo: messageInfo{idInfo: idInfo{Name: "cpu\x00", TaskName: "t<1>", Group: "nil",
				ServerInfo: serverInfo{"h\u2029", "c&", "s"}}, ID: "cpu:nil", Level: "OK",
				Time: time.Unix(1700000000, 120000000).UTC(), Duration: 90 * time.Second}, Message: "m\u2028"},
			tags: []Tag{{"cpu", "cpu-total"}, {"h", "a'b+c"}, {"z\xff", "<&>"}},
			fields: []Field{{"b", eval.BoolValue(true)}, {"f", eval.FloatValue(1.5e-7)}, {"g", eval.FloatValue(1e21)},
				{"h", eval.FloatValue(math.Copysign(0, -1))}, {"i", eval.IntValue(-3)}, {"s", eval.StringValue("x\u2028y\"\\")}},
		},
		{info: detailsInfo{Message: "nan"}, fields: []Field{{"f", eval.FloatValue(math.NaN())}}},
		{info: detailsInfo{Message: "inf"}, fields: []Field{{"f", eval.FloatValue(math.Inf(-1))}}},
	}
	for _, c := range cases {
		withMaps := c.info
		fillInfoMaps(&withMaps, c.tags, c.fields)
		want, wantErr := slow.renderDetails(&withMaps, c.tags, c.fields)
		got, gotErr := fast.renderDetails(&c.info, c.tags, c.fields)
		assert.Equal(t, want, got, c.info.Message)
		assert.Equal(t, fmt.Sprint(wantErr), fmt.Sprint(gotErr), c.info.Message)
	}
}
