package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTestCommandPassesConformance(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"test", conformanceDir}, nil, &stdout, &stderr)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	cases, _ := filepath.Glob(filepath.Join(conformanceDir, "*", "script.tick"))
	assert.Equal(t, len(cases), len(lines)-1)
	assert.Regexp(t, `^\d+ passed, 0 failed$`, lines[len(lines)-1])
}

// A failing case names the event and the key, with want and got; --update
// rewrites the expectation.
func TestTestCommandDiff(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "case")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, f := range []string{"script.tick", "input.lp", "expected.jsonl"} {
		b, err := os.ReadFile(filepath.Join(conformanceDir, "levels_warn_crit", f))
		require.NoError(t, err)
		if f == "script.tick" {
			b = []byte(strings.Replace(string(b), `"usage_idle" < 10`, `"usage_idle" < 5`, 1))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"test", dir}, nil, &stdout, &stderr)
	assert.Equal(t, 1, code)
	out := stdout.String()
	assert.Contains(t, out, "FAIL "+dir+"\n")
	assert.Regexp(t, `event \d+: level: want "CRITICAL", got "WARNING"`, out)
	assert.True(t, strings.HasSuffix(out, "0 passed, 1 failed\n"), out)

	stdout.Reset()
	require.Equal(t, 0, run([]string{"test", "--update", dir}, nil, &stdout, &stderr))
	stdout.Reset()
	require.Equal(t, 0, run([]string{"test", dir}, nil, &stdout, &stderr), stdout.String())
	assert.True(t, strings.HasSuffix(stdout.String(), "1 passed, 0 failed\n"))
}

// A kapacitor.conf in a case folder configures its handlers.
func TestTestCommandConfig(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(conformanceDir, "seed_tcp_nodetails", "input.lp"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "input.lp"), b, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "script.tick"), []byte(
		"stream|from().measurement('cpu')|alert().crit(lambda: \"usage_idle\" < 10).message('low').details('').slack()\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kapacitor.conf"), []byte(
		"[slack]\n  enabled = true\n  url = \"http://127.0.0.1:9/hook\"\n  channel = \"#alerts\"\n"), 0o644))
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"test", "--update", dir}, nil, &stdout, &stderr), stdout.String()+stderr.String())
	got, err := os.ReadFile(filepath.Join(dir, "expected.jsonl"))
	require.NoError(t, err)
	assert.Contains(t, string(got), `"channel":"#alerts"`)
	assert.Equal(t, 6, strings.Count(string(got), `"text":"low"`))
}
