package alert

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/models"
)

// The fast path of the default details, written from the point's tags and
// fields, renders what {{ json . }} does in html/template from the maps,
// and fails as it does on what encoding/json rejects.
func TestDefaultDetailsFastPath(t *testing.T) {
	fast, err := ParseTemplates(DefaultIDTemplate, DefaultMessageTemplate, DefaultDetailsTemplate)
	require.NoError(t, err)
	slow, err := ParseTemplates(DefaultIDTemplate, DefaultMessageTemplate, DefaultDetailsTemplate)
	require.NoError(t, err)
	slow.detailsDefault = false // execute the template
	require.True(t, fast.Simple())
	require.False(t, slow.Simple())
	cases := []struct {
		info   DetailsInfo
		tags   []models.Tag
		fields []models.Field
	}{
		{info: DetailsInfo{Message: `it's <b>"q"</b> & 1+1`}},
		{
			info: DetailsInfo{MessageInfo: MessageInfo{IDInfo: IDInfo{Name: "cpu\x00", TaskName: "t<1>", Group: "nil",
				ServerInfo: ServerInfo{"h\u2029", "c&", "s"}}, ID: "cpu:nil", Level: "OK",
				Time: time.Unix(1700000000, 120000000).UTC(), Duration: 90 * time.Second}, Message: "m\u2028"},
			tags: []models.Tag{{Key: "cpu", Value: "cpu-total"}, {Key: "h", Value: "a'b+c"}, {Key: "z\xff", Value: "<&>"}},
			fields: []models.Field{{Key: "b", Value: eval.BoolValue(true)}, {Key: "f", Value: eval.FloatValue(1.5e-7)}, {Key: "g", Value: eval.FloatValue(1e21)},
				{Key: "h", Value: eval.FloatValue(math.Copysign(0, -1))}, {Key: "i", Value: eval.IntValue(-3)}, {Key: "s", Value: eval.StringValue("x\u2028y\"\\")}},
		},
		{info: DetailsInfo{Message: "nan"}, fields: []models.Field{{Key: "f", Value: eval.FloatValue(math.NaN())}}},
		{info: DetailsInfo{Message: "inf"}, fields: []models.Field{{Key: "f", Value: eval.FloatValue(math.Inf(-1))}}},
	}
	for _, c := range cases {
		withMaps := c.info
		FillInfoMaps(&withMaps, c.tags, c.fields)
		want, wantErr := slow.RenderDetails(&withMaps, c.tags, c.fields)
		got, gotErr := fast.RenderDetails(&c.info, c.tags, c.fields)
		assert.Equal(t, want, got, c.info.Message)
		assert.Equal(t, fmt.Sprint(wantErr), fmt.Sprint(gotErr), c.info.Message)
	}
}
