package parser

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/ast"
)

// kapacitorPos finds "line L char C" in a Kapacitor error message.
var kapacitorPos = regexp.MustCompile(`line (\d+) char (\d+)`)

// TestConformanceErrors parses the scripts Kapacitor rejects at parse time
// (copied verbatim from shared/conformance-errors into testdata/errors) and
// checks that we report an *ast.Error where Kapacitor does.
func TestConformanceErrors(t *testing.T) {
	tests := []struct {
		name string
		line int    // expected line; Kapacitor gives none for an invalid regex
		msg  string // expected message
	}{
		{"bad_duration_unit", 0, "invalid duration 10x: " + unitsText},
		{"garbage_token", 0, `unexpected "|", expected identifier`},
		{"invalid_regex", 6, "error parsing regexp: missing closing ]: `[0-`"},
		{"lambda_missing_operand", 0, `unexpected ")", expected ` + operandWant},
		{"unbalanced_paren", 0, `unexpected ".", expected an argument or ")"`},
		{"unterminated_string", 0, "multiple decimals in number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata/errors", tc.name+".tick"))
			require.NoError(t, err)
			kerr, err := os.ReadFile(filepath.Join("testdata/errors", tc.name+".err"))
			require.NoError(t, err)

			_, err = Parse(tc.name+".tick", string(src))
			require.Error(t, err)
			var e *ast.Error
			require.True(t, errors.As(err, &e), "%T", err)
			assert.Equal(t, tc.msg, e.Msg)
			if m := kapacitorPos.FindStringSubmatch(string(kerr)); m != nil {
				line, _ := strconv.Atoi(m[1])
				col, _ := strconv.Atoi(m[2])
				assert.Equal(t, line, e.Pos.Line, "line")
				assert.Equal(t, col, e.Pos.Col, "column")
			} else {
				assert.Equal(t, tc.line, e.Pos.Line, "line")
			}
			assert.LessOrEqual(t, e.Pos.Offset, len(src))
		})
	}
}

// TestConformanceErrorsParse checks that the other scripts Kapacitor
// rejects parse: their errors are found later, by the binder or the lambda
// checker.
func TestConformanceErrorsParse(t *testing.T) {
	dir := "../testdata/conformance-errors"
	if _, err := os.Stat(dir); err != nil {
		dir = "/work/shared/conformance-errors"
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.tick"))
	require.NoError(t, err)
	if len(files) == 0 {
		t.Skip("no conformance-errors directory")
	}
	parseErrors := map[string]bool{}
	local, _ := filepath.Glob("testdata/errors/*.tick")
	for _, f := range local {
		parseErrors[filepath.Base(f)] = true
	}
	require.Len(t, parseErrors, 6)
	n := 0
	for _, file := range files {
		if parseErrors[filepath.Base(file)] {
			continue
		}
		n++
		t.Run(strings.TrimSuffix(filepath.Base(file), ".tick"), func(t *testing.T) {
			src, err := os.ReadFile(file)
			require.NoError(t, err)
			_, err = Parse(file, string(src))
			assert.NoError(t, err)
		})
	}
	require.Greater(t, n, 0)
}
