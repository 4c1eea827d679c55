package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/internal/testsink"
)

func writeScript(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.tick")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	return path
}

// Issue 16: Ctrl-C (SIGINT) and SIGTERM end the run after the summary
// with 130 and 143, and the half-read last line is not a bad line.
func TestSignalExitCodes_issue16(t *testing.T) {
	bin := tickrunBinary(t)
	script := writeScript(t, `stream|from()|alert().crit(lambda: "v" > 1).details('')`)
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		cmd := exec.Command(bin, "run", "--workers", "1", script)
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		fmt.Fprint(stdin, "m v=2 1\nm v=3 2\nm v=") // the last line is cut
		time.Sleep(500 * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(tc.sig))
		err = cmd.Wait()
		stdin.Close()
		var exit *exec.ExitError
		require.True(t, errors.As(err, &exit), "%v\n%s", err, stderr.String())
		assert.Equal(t, tc.code, exit.ExitCode(), stderr.String())
		assert.Contains(t, stderr.String(), "tickrun: interrupted: stopped reading, delivering what was produced")
		assert.Contains(t, stderr.String(), "tickrun: 2 points, 0 bad lines, 2 alerts, 0 deliveries failed\n")
	}
}

// errWriter fails every write, as a full disk does.
type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

// Issue 16: `run --print > /dev/full` exited 0. A failed write to stdout
// ends the printing with one line, delivery goes on, and the run exits 1.
func TestPrintWriteError_issue16(t *testing.T) {
	sink := testsink.Start(t, "", nil)
	script := writeScript(t, `stream|from()|alert().crit(lambda: "v" > 1).details('').tcp('`+sink.Addr()+`')`)
	var stderr bytes.Buffer
	code := run([]string{"run", "--print", script}, strings.NewReader("m v=2 1\nm v=3 2\n"), errWriter{syscall.ENOSPC}, &stderr)
	assert.Equal(t, 1, code, stderr.String())
	assert.Equal(t, 1, strings.Count(stderr.String(), "tickrun: writing stdout: no space left on device: stopped printing events; delivery goes on\n"))
	assert.Contains(t, stderr.String(), ": 2 sent, 0 retried, 0 dropped\n")
	assert.Len(t, sink.Close(), 2)
}

// Issue 17: `run --print | head -1` killed the process with SIGPIPE: no
// summary, queued deliveries lost. Printing stops, delivery goes on, the
// summary is printed and the run exits 1.
func TestPrintBrokenPipe_issue17(t *testing.T) {
	bin := tickrunBinary(t)
	sink := testsink.Start(t, "", nil)
	script := writeScript(t, `stream|from()|alert().crit(lambda: "v" > 1).details('').tcp('`+sink.Addr()+`')`)
	var in strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&in, "m v=%d %d\n", i%2+2, i+1)
	}
	cmd := exec.Command(bin, "run", "--print", "--queue-size", "5000", script)
	cmd.Stdin = strings.NewReader(in.String())
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n') // head -1
	require.NoError(t, err)
	assert.Contains(t, line, `"level":"CRITICAL"`)
	stdout.Close()
	err = cmd.Wait()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "%v\n%s", err, stderr.String())
	assert.Equal(t, 1, exit.ExitCode(), stderr.String())
	assert.Contains(t, stderr.String(), "tickrun: writing stdout: the reader closed it: stopped printing events; delivery goes on\n")
	assert.Contains(t, stderr.String(), "tickrun: 2000 points, 0 bad lines, 2000 alerts, 0 deliveries failed\n")
	assert.Len(t, sink.Close(), 2000)
}

// Issue 16: node errors past the 20th were counted and shown nowhere;
// windows holding points at the end of the input gave no word.
func TestSummaryNodeErrorsAndWindowHint_issue16(t *testing.T) {
	script := writeScript(t, "stream|from()\n    |window().period(10s).every(10s)\n    |mean('v')\n    |alert().crit(lambda: \"missing\" > 1).details('')\n")
	var in strings.Builder
	for i := range 100 {
		fmt.Fprintf(&in, "m v=1 %d\n", int64(i)*1e9)
	}
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"run", script}, strings.NewReader(in.String()), &stdout, &stderr), stderr.String())
	assert.Contains(t, stderr.String(), "tickrun: node alert4: 9 errors\n")
	assert.Contains(t, stderr.String(), "tickrun: hint: windows still hold 10 points of 1 groups at the end of the input; --flush-windows emits them")

	script = writeScript(t, "stream|from()|alert().crit(lambda: \"missing\" > 1).details('')\n")
	stderr.Reset()
	require.Equal(t, 0, run([]string{"run", script}, strings.NewReader(in.String()), &stdout, &stderr))
	assert.Contains(t, stderr.String(), "tickrun: node alert2: 100 errors (the first 20 logged)\n")
	assert.Equal(t, 20, strings.Count(stderr.String(), "error evaluating expression"))
}

// Issue 16: a handler file whose topic no alert node publishes to got
// "0 sent" and no word; it is warned about at the start.
func TestHandlerTopicWarning_issue16(t *testing.T) {
	dir := t.TempDir()
	h := filepath.Join(dir, "h.yaml")
	require.NoError(t, os.WriteFile(h, []byte("id: h\ntopic: cpu\nkind: log\noptions:\n  path: "+filepath.Join(dir, "a.log")+"\n"), 0o644))
	script := writeScript(t, `stream|from()|alert().crit(lambda: "v" > 1).details('').topic('cpus')`)
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"run", "--handler", h, script}, strings.NewReader("m v=2 1\n"), &stdout, &stderr))
	assert.Contains(t, stderr.String(), `tickrun: warning: handler h (`+h+`) listens to topic "cpu", to which no alert node of the script publishes (.topic("cpu")): it will receive nothing`)
}

// Issue 16: the habits of the ecosystem: a version, help, usage on a bare
// tickrun, defaults in --help, shell completion.
func TestVersionHelpCompletion_issue16(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"version"}, nil, &stdout, &stderr))
	assert.Regexp(t, `^tickrun \S+.* \(go1\.\d+`, stdout.String())
	stdout.Reset()
	require.Equal(t, 0, run([]string{"--version"}, nil, &stdout, &stderr))
	assert.Regexp(t, `^tickrun `, stdout.String())
	for _, args := range [][]string{{"help"}, {}} {
		stdout.Reset()
		code := run(args, nil, &stdout, &stderr)
		assert.Contains(t, stdout.String(), "Usage: tickrun <command>", "%v", args)
		assert.Contains(t, stdout.String(), "run <SCRIPT.tick>", "%v", args)
		if len(args) == 0 {
			assert.Equal(t, 2, code)
		}
	}
	stdout.Reset()
	run([]string{"run", "--help"}, nil, &stdout, &stderr)
	assert.Contains(t, stdout.String(), `--drain-timeout=30s`)
	assert.Contains(t, stdout.String(), `--retry-max-time=30s`)

	t.Setenv("COMP_LINE", "tickrun run --pri")
	t.Setenv("COMP_POINT", "17")
	stdout.Reset()
	run([]string{}, nil, &stdout, &stderr)
	assert.Contains(t, stdout.String(), "--print")
}

// Issue 16: a mistyped --var passed unnoticed; it is warned about with
// the closest declared name, and a missing typed var names the given one.
func TestVarHints_issue16(t *testing.T) {
	script := writeScript(t, "var threshold = 10.0\nstream|from()|alert().crit(lambda: \"v\" > threshold).details('')\n")
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"run", "--var", "thresold=5", script}, strings.NewReader("m v=7 1\n"), &stdout, &stderr))
	assert.Contains(t, stderr.String(), `tickrun: warning: --var: var "thresold" is given a value but the script declares no such var (did you mean "threshold"?)`)
	assert.Contains(t, stderr.String(), "0 alerts", "the default 10.0 applies")

	script = writeScript(t, "var threshold float\nstream|from()|alert().crit(lambda: \"v\" > threshold).details('')\n")
	stderr.Reset()
	require.Equal(t, 2, run([]string{"run", "--var", "thresold=5", script}, strings.NewReader(""), &stdout, &stderr))
	assert.Contains(t, stderr.String(), `missing value for var "threshold" of type float: give it with --vars FILE or --var threshold=VALUE (a value was given for "thresold"?)`)
}

// Issue 16: seconds-precision input without --precision s gave "0
// alerts", exit 0: every timestamp landed in 1970. run and explain warn
// once with the flag to use.
func TestPrecisionWarning_issue16(t *testing.T) {
	script := writeScript(t, `stream|from()|window().period(10s).every(10s)|count('v')|alert().crit(lambda: "count" > 0).details('')`)
	var in strings.Builder
	for i := range 30 {
		fmt.Fprintf(&in, "m v=1 %d\n", 1700000000+i)
	}
	for _, cmd := range []string{"run", "explain"} {
		var stdout, stderr bytes.Buffer
		require.Equal(t, 0, run([]string{cmd, script}, strings.NewReader(in.String()), &stdout, &stderr), stderr.String())
		assert.Equal(t, 1, strings.Count(stderr.String(), "tickrun: warning: timestamps look like seconds: 1700000000 read as nanoseconds is 1970-01-01T00:00:01.7Z; use --precision s"), "%s: %s", cmd, stderr.String())
	}
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"run", "--precision", "s", script}, strings.NewReader(in.String()), &stdout, &stderr))
	assert.NotContains(t, stderr.String(), "look like")
	assert.Contains(t, stderr.String(), "2 alerts")
}

// Issue 16: a 10 MB bad line was echoed whole, binary garbage echoed raw
// control bytes, bad-line reports had no cap; --strict makes a bad line
// fail the run, and a run where every line was bad says so.
func TestBadLineReports_issue16(t *testing.T) {
	script := writeScript(t, `stream|from()|alert().crit(lambda: "v" > 1).details('')`)
	var in strings.Builder
	in.WriteString("m v=\x1b[31mred\x07 1\n")
	in.WriteString("m v=" + strings.Repeat("9", 10<<20) + "x 2\n")
	for i := range 30 {
		fmt.Fprintf(&in, "m v=bad%d\n", i)
	}
	in.WriteString("m v=2 3\n")
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"run", script}, strings.NewReader(in.String()), &stdout, &stderr))
	out := stderr.String()
	assert.Less(t, len(out), 20_000, "no line echoed whole")
	assert.NotContains(t, out, "\x1b")
	assert.NotContains(t, out, "\x07")
	assert.Contains(t, out, `\x1b[31mred\x07`)
	assert.Contains(t, out, "bytes, the first 200 shown")
	assert.Equal(t, 20, strings.Count(out, "stdin:line "))
	assert.Contains(t, out, "tickrun: 12 more bad lines (not reported one by one)")
	assert.Contains(t, out, "tickrun: 1 points, 32 bad lines, 1 alerts")

	stderr.Reset()
	assert.Equal(t, 1, run([]string{"run", "--strict", script}, strings.NewReader("m v=2 1\nm v=\n"), &stdout, &stderr))
	assert.Contains(t, stderr.String(), "tickrun: --strict: 1 bad lines")

	stderr.Reset()
	require.Equal(t, 0, run([]string{"run", script}, strings.NewReader("{\"not\": \"line protocol\"}\n[1, 2]\n"), &stdout, &stderr))
	assert.Contains(t, stderr.String(), "tickrun: every line of the input was bad (2 lines): is it line protocol?")
}
