package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateCheck = flag.Bool("update-check", false, "rewrite testdata/check/*.golden")

// TestCheckGolden runs `tickrun check` and `tickrun check --json` on each
// testdata/check/*.tick and compares the output with its golden file.
func TestCheckGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/check/*.tick")
	require.NotEmpty(t, files)
	for _, f := range files {
		f := f
		t.Run(filepath.Base(f), func(t *testing.T) {
			var out bytes.Buffer
			for _, args := range [][]string{{"check", f}, {"check", "--json", f}} {
				var stdout, stderr bytes.Buffer
				code := run(args, nil, &stdout, &stderr)
				out.WriteString("$ tickrun " + strings.Join(args, " ") + "\n")
				out.WriteString(stdout.String() + stderr.String())
				out.WriteString("exit " + string(rune('0'+code)) + "\n")
			}
			golden := strings.TrimSuffix(f, ".tick") + ".golden"
			if *updateCheck {
				require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), out.String())
		})
	}
}
