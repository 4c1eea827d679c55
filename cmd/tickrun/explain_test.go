package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExplainGolden runs `tickrun explain` on conformance cases whose
// events are shaped by suppression rules and compares with
// testdata/explain/<case>.golden (rewrite with -update-check).
func TestExplainGolden(t *testing.T) {
	for _, name := range []string{"state_changes_only", "missing_field_level", "flapping_history", "no_recoveries", "levels_resets_doc_example", "groupby_hosts"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(conformanceDir, name)
			in, err := os.Open(filepath.Join(dir, "input.lp"))
			require.NoError(t, err)
			defer in.Close()
			var stdout, stderr bytes.Buffer
			code := run([]string{"explain", filepath.Join(dir, "script.tick")}, in, &stdout, &stderr)
			require.Equal(t, 0, code, stderr.String())
			golden := filepath.Join("testdata", "explain", name+".golden")
			if *updateCheck {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, stdout.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), stdout.String())
		})
	}
}
