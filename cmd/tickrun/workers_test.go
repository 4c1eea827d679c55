package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/internal/tickgen"
)

// The output does not depend on --workers: the same events, in the same
// order, with 1 and with 4 decoding goroutines.
func TestWorkersSameOutput(t *testing.T) {
	var data bytes.Buffer
	require.NoError(t, tickgen.Generate(&data, tickgen.Config{Points: 60000, Hosts: 50, Crit: 0.05, Seed: 7, Start: 1700000000}))
	data.WriteString("cpu,host=bad usage_idle= 1\n") // a bad line, reported the same way
	script := filepath.Join(t.TempDir(), "s.tick")
	require.NoError(t, os.WriteFile(script, []byte(`
stream
    |from()
        .measurement('cpu')
        .groupBy('host')
    |window()
        .period(30s)
        .every(20s)
    |max('usage_user')
    |alert()
        .warn(lambda: "max" > 80.0)
        .crit(lambda: "max" > 85.0)
        .stateChangesOnly()
        .details('')
`), 0o644))
	outputs := map[int]string{}
	for _, w := range []string{"1", "4"} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"run", "--print", "--workers", w, script}, bytes.NewReader(data.Bytes()), &stdout, &stderr)
		require.Equal(t, 0, code, stderr.String())
		outputs[len(outputs)] = stdout.String() + stderr.String()
	}
	assert.NotEmpty(t, outputs[0])
	assert.Equal(t, outputs[0], outputs[1])
}
