package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/internal/influxtest"
)

// notThroughInfluxDB are the conformance cases whose input cannot make the
// round trip through InfluxDB, with the reason.
var notThroughInfluxDB = map[string]string{
	"int_field_vs_float_literal": "InfluxDB refuses the input: a field written as int and float (field type conflict)",
	"where_missing_field":        "InfluxDB refuses the input: a field written with two types (field type conflict)",
	"value_formats":              "integers beyond 2^53 and -0.0 come back from InfluxDB's JSON as float64 (its query API has no integer type)",
}

// TestStreamBacktestConformance runs the recorded stream cases as
// backtests: the input is written into a real InfluxDB, and `tickrun run
// --influxdb URL --start --stop` reads it back (SELECT * per measurement,
// merged in time order) instead of stdin. What arrives must be what
// Kapacitor sent for the same points, bytes and all for the seed cases.
func TestStreamBacktestConformance(t *testing.T) {
	srv := influxtest.Start(t, influxtest.Options{})
	dirs, err := filepath.Glob(filepath.Join(conformanceDir, "*"))
	require.NoError(t, err)
	ran := 0
	for _, dir := range dirs {
		name := filepath.Base(dir)
		if _, err := os.Stat(filepath.Join(dir, "expected.jsonl")); err != nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			if reason, ok := notThroughInfluxDB[name]; ok {
				t.Skip(reason)
			}
			srv.ResetDatabase(t, "telegraf")
			srv.Write(t, "telegraf", []byte(readFile(t, filepath.Join(dir, "input.lp"))))
			c := runCase(t, dir, "--influxdb", srv.URL, "--start", "2023-11-14T00:00:00Z", "--stop", "2023-11-16T00:00:00Z")
			require.Equal(t, exitOK, c.code, "stderr:\n%s", c.stderr)
			assert.Contains(t, c.stderr, `points read from "telegraf"."autogen"`)
			want := readLines(t, filepath.Join(dir, "expected.jsonl"))
			require.Equal(t, len(want), len(c.received), "stderr:\n%s", c.stderr)
			for i := range want {
				assert.JSONEq(t, want[i], c.received[i], "message %d", i)
				if strings.HasPrefix(name, "seed_") {
					assert.Equal(t, want[i]+"\n\n", c.received[i], "message %d bytes", i)
				}
			}
			ran++
		})
	}
	require.Greater(t, ran, 50, "stream cases run through InfluxDB")
}

// The backtest flags: what is refused, and how, before anything runs.
func TestBacktestFlags(t *testing.T) {
	dir := t.TempDir()
	batch := filepath.Join(dir, "batch.tick")
	require.NoError(t, os.WriteFile(batch, []byte("batch|query('SELECT mean(v) FROM \"telegraf\".\"autogen\".cpu').period(5m).every(5m)|alert().crit(lambda: \"mean\" > 1)\n"), 0o644))
	stream := filepath.Join(dir, "stream.tick")
	require.NoError(t, os.WriteFile(stream, []byte("stream|from().measurement('cpu')|alert().crit(lambda: \"v\" > 1)\n"), 0o644))
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"batch without InfluxDB flags", []string{"run", batch}, exitScript,
			batch + ":1:1: a batch task queries InfluxDB over a time range: run it with --influxdb URL --start TIME [--stop TIME] (or --past 24h); it reads no stdin"},
		{"no range", []string{"run", "--influxdb", "http://127.0.0.1:1", batch}, exitScript,
			"tickrun: a backtest needs a range: --start TIME [--stop TIME], or --past DURATION"},
		{"past and start", []string{"run", "--past", "1h", "--start", "2023-11-14T00:00:00Z", batch}, exitScript,
			"tickrun: --past gives the range: leave out --start and --stop"},
		{"bad start", []string{"run", "--influxdb", "http://127.0.0.1:1", "--start", "yesterday", batch}, exitScript,
			`tickrun: --start "yesterday": want an RFC 3339 time such as 2023-11-14T22:00:00Z`},
		{"stop before start", []string{"run", "--influxdb", "http://127.0.0.1:1", "--start", "2023-11-14T00:00:00Z", "--stop", "2023-11-13T00:00:00Z", batch}, exitScript,
			"tickrun: --stop 2023-11-13T00:00:00Z is not after --start 2023-11-14T00:00:00Z"},
		{"bad url", []string{"run", "--influxdb", "localhost:8086", "--past", "1h", batch}, exitScript,
			`tickrun: --influxdb "localhost:8086": want an http:// or https:// URL`},
		{"no InfluxDB at all", []string{"run", "--start", "2023-11-14T00:00:00Z", "--stop", "2023-11-14T01:00:00Z", batch}, exitFailed,
			"tickrun: backtest stopped: query1: no InfluxDB is configured: give --influxdb URL or an [[influxdb]] section of kapacitor.conf (--config)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, strings.NewReader(""), &stdout, &stderr)
			assert.Equal(t, tc.code, code, stderr.String())
			assert.Contains(t, stderr.String(), tc.want)
		})
	}
}

// InfluxDB down: the backtest stops at the first query with exit 1 and
// the reason, and the log names the task and the query.
func TestBacktestInfluxDBDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	script := filepath.Join(t.TempDir(), "cpu.tick")
	require.NoError(t, os.WriteFile(script, []byte("batch|query('SELECT mean(v) FROM \"telegraf\".\"autogen\".cpu').period(5m).every(5m)|alert().crit(lambda: \"mean\" > 1)\n"), 0o644))
	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "--influxdb", "http://" + addr, "--start", "2023-11-14T22:00:00Z", "--stop", "2023-11-14T23:00:00Z", script}, strings.NewReader(""), &stdout, &stderr)
	assert.Equal(t, exitFailed, code)
	out := stderr.String()
	assert.Contains(t, out, `query1: error executing query: influxdb query "SELECT mean(v) FROM telegraf.autogen.cpu WHERE time >= '2023-11-14T22:00:00Z' AND time < '2023-11-14T22:05:00Z'": http://`+addr+`: dial tcp `+addr+`: connect: connection refused task=cpu`)
	assert.Contains(t, out, "tickrun: backtest 2023-11-14T22:00:00Z to 2023-11-14T23:00:00Z: 1 queries (1 failed)")
	assert.Contains(t, out, "tickrun: backtest stopped: query1: influxdb query")
}

// A stream backtest through kapacitor.conf's [[influxdb]], with its
// credentials; --influxdb takes precedence and may carry them in the URL.
func TestBacktestConfigAuth(t *testing.T) {
	srv := influxtest.Start(t, influxtest.Options{Auth: true, Username: "admin", Password: "s3cret"})
	srv.Query(t, "CREATE DATABASE telegraf")
	srv.Write(t, "telegraf", []byte("cpu,host=a v=5 1700000000000000000\ncpu,host=a v=0 1700000010000000000\n"))
	dir := t.TempDir()
	script := filepath.Join(dir, "cpu.tick")
	require.NoError(t, os.WriteFile(script, []byte("stream|from().measurement('cpu')|alert().crit(lambda: \"v\" > 1).details('')\n"), 0o644))
	conf := filepath.Join(dir, "kapacitor.conf")
	require.NoError(t, os.WriteFile(conf, []byte("[[influxdb]]\n  name = \"main\"\n  urls = [\""+srv.URL+"\"]\n  username = \"admin\"\n  password = \"s3cret\"\n"), 0o644))
	for _, args := range [][]string{
		{"--config", conf},
		{"--influxdb", strings.Replace(srv.URL, "http://", "http://admin:s3cret@", 1)},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append(append([]string{"run", "--print"}, args...), "--start", "2023-11-14T00:00:00Z", "--stop", "2023-11-15T00:00:00Z", script), strings.NewReader(""), &stdout, &stderr)
		require.Equal(t, exitOK, code, stderr.String())
		assert.Equal(t, 2, strings.Count(stdout.String(), "\n"), "a CRITICAL and an OK: %s", stdout.String())
		assert.Contains(t, stderr.String(), "2 points read")
		assert.NotContains(t, stderr.String(), "s3cret")
	}
	// Without the credentials InfluxDB says no; the backtest says why.
	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "--influxdb", srv.URL, "--past", "1h", script}, strings.NewReader(""), &stdout, &stderr)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr.String(), "unable to parse authentication credentials")
}

// Templates on the command line: check lists a template's vars, run takes
// them from a vars file and refuses a wrong type naming the file, the var
// and the type.
func TestTemplateVarsCLI(t *testing.T) {
	tmpl := filepath.Join(conformanceDir, "template_vars", "template.tick")
	var stdout, stderr bytes.Buffer
	require.Equal(t, exitOK, run([]string{"check", tmpl}, nil, &stdout, &stderr), stderr.String())
	assert.Equal(t, tmpl+`: ok
  a template; its vars (a task gives them with --vars FILE or --var NAME=VALUE):
  Name         Type      Default Value  Description
  measurement  string    <required>     measurement to consume (no default: must be set by the task's vars)
  crit         lambda    <required>     critical criteria (no default)
  window       duration  5s             window length, with a default
`, stdout.String())

	dir := t.TempDir()
	bad := filepath.Join(dir, "vars.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"measurement": {"type": "string", "value": "cpu"}, "crit": {"type": "float", "value": 20}}`), 0o644))
	stdout.Reset()
	stderr.Reset()
	assert.Equal(t, exitScript, run([]string{"run", "--vars", bad, tmpl}, strings.NewReader(""), &stdout, &stderr))
	abs, err := filepath.Abs(tmpl) // run's SCRIPT.tick is an existing file: kong makes it absolute
	require.NoError(t, err)
	assert.Equal(t, abs+`:6:1: var "crit" must be of type lambda, but `+bad+` gives it type float
 | var crit lambda
 | ^
`, stderr.String())

	stderr.Reset()
	assert.Equal(t, exitScript, run([]string{"run", "--var", "measurement=cpu", tmpl}, strings.NewReader(""), &stdout, &stderr))
	assert.Contains(t, stderr.String(), abs+`:6:1: missing value for var "crit" of type lambda: give it with --vars FILE or --var crit=VALUE`)

	// --var wins over the file.
	good := filepath.Join(dir, "good.json")
	require.NoError(t, os.WriteFile(good, []byte(`{"measurement": {"type": "string", "value": "mem"}, "crit": {"type": "lambda", "value": "\"mean\" < 20"}}`), 0o644))
	sink := newSink(t)
	local := filepath.Join(dir, "template.tick")
	require.NoError(t, os.WriteFile(local, []byte(strings.ReplaceAll(readFile(t, tmpl), "127.0.0.1:7777", sink.addr)), 0o644))
	in, err := os.Open(filepath.Join(conformanceDir, "template_vars", "input.lp"))
	require.NoError(t, err)
	defer in.Close()
	stderr.Reset()
	assert.Equal(t, exitOK, run([]string{"run", "--vars", good, "--var", "measurement=cpu", local}, in, &stdout, &stderr), stderr.String())
	assert.Len(t, sink.close(), len(readLines(t, filepath.Join(conformanceDir, "template_vars", "expected.jsonl"))), "the cpu events of the case")
}

// tickrun check accepts every script of examples/, every batch case and
// the template case (issue 13).
func TestCheckAcceptsExamplesAndBatchCases(t *testing.T) {
	var scripts []string
	for _, glob := range []string{"../../examples/*/script.tick", filepath.Join(batchCasesDir, "*", "script.tick"), filepath.Join(conformanceDir, "*", "template.tick")} {
		m, err := filepath.Glob(glob)
		require.NoError(t, err)
		require.NotEmpty(t, m, glob)
		scripts = append(scripts, m...)
	}
	var stdout, stderr bytes.Buffer
	assert.Equal(t, exitOK, run(append([]string{"check"}, scripts...), nil, &stdout, &stderr), stderr.String())
	assert.Equal(t, len(scripts), strings.Count(stdout.String(), ": ok\n"))
}
