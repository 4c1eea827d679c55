package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errorsDir holds broken scripts recorded from Kapacitor: NAME.tick with
// what Kapacitor printed at define (NAME.err) or enable (NAME.enable.err).
const errorsDir = "../../testdata/conformance-errors"

// acceptedByTickrun are scripts Kapacitor rejects that tickrun accepts on
// purpose, with the reason.
var acceptedByTickrun = map[string]string{
	// Kapacitor needs a dbrp in the script or from `define -dbrp`; tickrun's
	// --dbrp (default telegraf.autogen) plays the role of -dbrp.
	"missing_dbrp": "tickrun run --dbrp supplies the dbrp",
}

// kapacitorLine finds "line L char C" in a Kapacitor error.
var kapacitorLine = regexp.MustCompile(`line (\d+) char (\d+)`)

// TestCheckConformanceErrors runs `tickrun check` on every broken script:
// each is rejected with exit 2 and a file:line:col error, at Kapacitor's
// line and column where Kapacitor gives them. Scripts Kapacitor accepts but
// that fail on every point (an unknown function, a type error in a lambda)
// are rejected too: check is strict where run is compatible.
func TestCheckConformanceErrors(t *testing.T) {
	scripts, err := filepath.Glob(filepath.Join(errorsDir, "*.tick"))
	require.NoError(t, err)
	require.Greater(t, len(scripts), 0, "no script in %s", errorsDir)
	for _, path := range scripts {
		path := path
		name := strings.TrimSuffix(filepath.Base(path), ".tick")
		t.Run(name, func(t *testing.T) {
			kerr := readOptional(filepath.Join(errorsDir, name+".err")) + readOptional(filepath.Join(errorsDir, name+".enable.err"))
			var stdout, stderr bytes.Buffer
			code := run([]string{"check", path}, nil, &stdout, &stderr)
			if reason, ok := acceptedByTickrun[name]; ok {
				assert.Equal(t, 0, code, "%s; stderr:\n%s", reason, stderr.String())
				return
			}
			require.Equal(t, 2, code, "check must reject it (Kapacitor: %q); stdout %q", strings.TrimSpace(kerr), stdout.String())
			first := strings.SplitN(stderr.String(), "\n", 2)[0]
			m := regexp.MustCompile(`^` + regexp.QuoteMeta(path) + `:(\d+):(\d+): `).FindStringSubmatch(first)
			require.NotNil(t, m, "first line must be file:line:col: message, got:\n%s", stderr.String())
			if k := kapacitorLine.FindStringSubmatch(kerr); k != nil {
				assert.Equal(t, k[1], m[1], "line, as Kapacitor reports it: %s\n%s", kerr, stderr.String())
				if !strings.Contains(kerr, "parser:") && !strings.Contains(first, ": argument ") {
					// Binder errors point at the method, as Kapacitor's do;
					// a wrong argument is pointed at itself, which is more
					// precise than Kapacitor.
					assert.Equal(t, k[2], m[2], "column, as Kapacitor reports it: %s\n%s", kerr, stderr.String())
				}
			}
			assert.Contains(t, stderr.String(), "^", "a caret under the column")
		})
	}
}

func readOptional(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// check --shard-key says how a scaled-out serve runs each script, and
// why (issue 15).
func TestCheckShardKey(t *testing.T) {
	dir := t.TempDir()
	sharded := filepath.Join(dir, "sharded.tick")
	global := filepath.Join(dir, "global.tick")
	require.NoError(t, os.WriteFile(sharded, []byte("stream\n    |from()\n        .measurement('cpu')\n        .groupBy('host', 'cpu')\n    |derivative('x')\n    |alert()\n        .crit(lambda: \"derivative\" > 10)\n"), 0o644))
	require.NoError(t, os.WriteFile(global, []byte("stream\n    |from()\n        .measurement('cpu')\n    |alert()\n        .crit(lambda: \"usage_idle\" < 10)\n"), 0o644))
	var stdout, stderr bytes.Buffer
	code := run([]string{"check", "--shard-key", "host", sharded, global}, nil, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	assert.Equal(t, sharded+": ok\n"+
		`  runs sharded by host: every group key contains "host"; the state of derivative2 is not handed over between instances (it starts fresh on a new owner)`+"\n"+
		global+": ok\n"+
		`  runs on one instance (the owner of partition 0): alert2 (line 4) keeps state per group and its groups (no groupBy) do not contain "host"`+"\n",
		stdout.String())
}
