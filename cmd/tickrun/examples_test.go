package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExamples runs every examples/* directory the way the README does
// (`tickrun run --print`, with its handler files), with a real listener on
// the address the example uses, so the README cannot rot: stdout must equal
// the example's expected.jsonl (regenerate with -update after reviewing)
// and every printed event must arrive on the socket.
func TestExamples(t *testing.T) {
	dirs, err := filepath.Glob("../../examples/*")
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		dir := dir
		t.Run(filepath.Base(dir), func(t *testing.T) {
			c := runCase(t, dir, "--print", "--hostname", "localhost")
			require.Equal(t, 0, c.code, "stderr:\n%s", c.stderr)
			golden := filepath.Join(dir, "expected.jsonl")
			if *updateExamples {
				require.NoError(t, os.WriteFile(golden, []byte(c.stdout), 0o644))
			}
			want := readFile(t, golden)
			assert.Equal(t, want, c.stdout)
			printed := readLines(t, golden)
			require.Equal(t, len(printed), len(c.received), "every printed event arrives on the socket")
			for i := range printed {
				assert.Equal(t, printed[i]+"\n\n", c.received[i])
			}
			assert.True(t, strings.HasPrefix(c.stderr, "tickrun: ") || c.stderr == "", "stderr: %s", c.stderr)
		})
	}
}
