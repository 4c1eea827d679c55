package alert

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 16/17: templates that cannot stay within any bound are rejected
// when the script is compiled, naming the template; before, they hung
// `tickrun check` (which executes them) or recursed 100,000 levels deep.
func TestTemplateCompileBounds_issue17(t *testing.T) {
	for _, tc := range []struct {
		id, message, details string
		which                int
		want                 string
	}{
		{DefaultIDTemplate, `{{range 200000000}}x{{end}}`, "", 1, "range of 200000000 iterations: at most 1000000"},
		{DefaultIDTemplate, `{{range 100000}}{{range 100000}}{{end}}{{end}}`, "", 1, "range of 10000000000 iterations"},
		{DefaultIDTemplate, `{{range .Tags}}{{range .}}{{range .}}{{range .}}{{end}}{{end}}{{end}}{{end}}`, "", 1, "ranges nested 4 deep: at most 3"},
		{DefaultIDTemplate, `{{define "x"}}{{template "x"}}{{end}}{{template "x"}}`, "", 1, `template "x" calls itself`},
		{`{{define "a"}}{{template "b"}}{{end}}{{define "b"}}{{template "a"}}{{end}}{{template "a"}}`, DefaultMessageTemplate, "", 0, "calls itself"},
		{DefaultIDTemplate, DefaultMessageTemplate, `{{define "d"}}{{template "d"}}{{end}}`, 2, `template "d" calls itself`},
	} {
		_, err := ParseTemplates(tc.id, tc.message, tc.details)
		var te *TemplateError
		require.True(t, errors.As(err, &te), "%q: %v", tc.message, err)
		assert.Equal(t, tc.which, te.Which)
		assert.Contains(t, te.Error(), tc.want)
	}
	// Output over the size bound whatever the data: Check rejects it.
	tm, err := ParseTemplates(DefaultIDTemplate, `{{range 1000000}}xx{{end}}`, "")
	require.NoError(t, err)
	err = tm.Check()
	require.ErrorIs(t, err, ErrTemplateLimit) // the size or, on a slow machine, the time
	var te *TemplateError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 1, te.Which)
	// Within the bounds, fine.
	tm, err = ParseTemplates(DefaultIDTemplate, `{{range 1000}}x{{end}}`, "")
	require.NoError(t, err)
	require.NoError(t, tm.Check())
}

// Issue 17: an event whose rendering goes over the bounds at run time
// fails with ErrTemplateLimit (the caller drops and counts it).
func TestTemplateRuntimeBounds_issue17(t *testing.T) {
	tm, err := ParseTemplates(DefaultIDTemplate, `{{ index .Fields "s" }}`, "")
	require.NoError(t, err)
	require.NoError(t, tm.Check())
	info := &MessageInfo{Fields: map[string]any{"s": "short"}}
	msg, err := tm.RenderMessage(info)
	require.NoError(t, err)
	assert.Equal(t, "short", msg)
	info.Fields["s"] = strings.Repeat("x", 2<<20)
	_, err = tm.RenderMessage(info)
	require.ErrorIs(t, err, ErrTemplateLimit)
	assert.Contains(t, err.Error(), "output over 1048576 bytes")

	tm.SetLimits(Limits{Time: time.Nanosecond})
	info.Fields["s"] = "short"
	time.Sleep(time.Millisecond)
	_, err = tm.RenderMessage(info)
	require.ErrorIs(t, err, ErrTemplateLimit)
	assert.True(t, strings.Contains(err.Error(), "rendering took over 1ns"), err.Error())
}
