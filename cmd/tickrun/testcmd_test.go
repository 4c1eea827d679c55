package main

import (
	"bytes"
	"encoding/json"
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
	dirs, _ := filepath.Glob(filepath.Join(conformanceDir, "*"))
	cases := 0
	for _, d := range dirs {
		if isCase(d) {
			cases++
		}
	}
	assert.Greater(t, cases, 70, "every recorded case, the template case included")
	assert.Equal(t, cases, len(lines)-1)
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

// Issue 16: a script without handlers used to capture nothing, so its
// case passed whatever the script did and --update wrote an empty
// expected.jsonl. Every event the alert nodes raise is captured now; a
// changed threshold fails the case; an empty expected.jsonl fails unless
// the case has an expect-none file.
func TestTestCommandWithoutHandlers_issue16(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state_count")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	script := "stream|from().measurement('cpu')\n    |stateCount(lambda: \"usage_idle\" <= 10)\n    |alert().warn(lambda: \"state_count\" >= 2).details('')\n"
	write := func(name, s string) { require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644)) }
	write("script.tick", script)
	write("input.lp", "cpu usage_idle=5 1000000000\ncpu usage_idle=5 2000000000\ncpu usage_idle=50 3000000000\n")
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"test", "--update", dir}, nil, &stdout, &stderr), stdout.String()+stderr.String())
	want, err := os.ReadFile(filepath.Join(dir, "expected.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(string(want), "\n"), "WARNING then OK: %s", want)

	write("script.tick", strings.Replace(script, ">= 2", ">= 3", 1))
	stdout.Reset()
	assert.Equal(t, 1, run([]string{"test", dir}, nil, &stdout, &stderr))
	assert.Contains(t, stdout.String(), "event 1: missing")

	write("expected.jsonl", "")
	stdout.Reset()
	assert.Equal(t, 1, run([]string{"test", dir}, nil, &stdout, &stderr))
	assert.Contains(t, stdout.String(), "expected.jsonl holds no event, so the case checks nothing")
	write(expectNone, "")
	stdout.Reset()
	assert.Equal(t, 0, run([]string{"test", dir}, nil, &stdout, &stderr), stdout.String())
}

// Issue 16: the examples' expected details carry hostname localhost;
// tickrun test runs with a fixed identity, so they pass on any host.
func TestTestCommandPortable_issue16(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"test", "../../examples"}, nil, &stdout, &stderr), stdout.String()+stderr.String())
	assert.Contains(t, stdout.String(), "skip ../../examples/backtest_cpu (a backtest case: give --influxdb URL")
	assert.Contains(t, stdout.String(), "2 passed, 0 failed, 1 skipped")
}

// Issue 16: -run selects cases, -v shows times, --json prints a result
// per case and --junit writes a report; a long string shows where it
// first differs instead of both whole.
func TestTestCommandFlags_issue16(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"test", "-v", "--run", "seed_tcp$", conformanceDir}, nil, &stdout, &stderr))
	assert.Regexp(t, `^ok   \S+seed_tcp \(\d+\.\d\ds\)\n1 passed, 0 failed\n$`, stdout.String())

	junit := filepath.Join(t.TempDir(), "report.xml")
	stdout.Reset()
	require.Equal(t, 0, run([]string{"test", "--json", "--junit", junit, "--run", "seed_", conformanceDir}, nil, &stdout, &stderr))
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 4)
	var r struct {
		Name string
		OK   bool
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &r))
	assert.True(t, r.OK)
	report, err := os.ReadFile(junit)
	require.NoError(t, err)
	assert.Contains(t, string(report), `<testsuite name="tickrun test" tests="4" failures="0">`)

	long := strings.Repeat("a", 100)
	d := diffJSON("event 1: details", long+"X"+long, long+"Y"+long)
	assert.Equal(t, []string{`event 1: details: differs at byte 100: want …"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaXaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"…, got …"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaYaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"…`}, d)
}
