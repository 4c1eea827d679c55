package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/internal/influxtest"
)

// TestExamples runs every examples/* directory the way the README does
// (`tickrun run --print`, with its handler files; a backtest example, one
// with a range file, against a real InfluxDB holding its input.lp), with
// a real listener on
// the address the example uses, so the README cannot rot: stdout must equal
// the example's expected.jsonl (regenerate with -update after reviewing)
// and every printed event must arrive on the socket.
func TestExamples(t *testing.T) {
	dirs, err := filepath.Glob("../../examples/*")
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	var srv *influxtest.Server
	for _, dir := range dirs {
		dir := dir
		t.Run(filepath.Base(dir), func(t *testing.T) {
			args := []string{"--print", "--hostname", "localhost"}
			if b, err := os.ReadFile(filepath.Join(dir, "range")); err == nil {
				// A backtest example: its input.lp is loaded into a real
				// InfluxDB, as its README says, and the script runs over
				// the range.
				if srv == nil {
					srv = influxtest.Start(t, influxtest.Options{})
				}
				rng := strings.Fields(string(b))
				require.Len(t, rng, 2)
				srv.ResetDatabase(t, "telegraf")
				srv.Write(t, "telegraf", []byte(readFile(t, filepath.Join(dir, "input.lp"))))
				args = append(args, "--influxdb", srv.URL, "--start", rng[0], "--stop", rng[1])
			}
			c := runCase(t, dir, args...)
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
