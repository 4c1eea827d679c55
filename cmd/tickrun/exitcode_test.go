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
)

// An endpoint that refuses every connection: the run still completes, the
// undelivered alerts are counted per handler, and the exit code is 3.
func TestRunExit3WhenAlertsAreDropped(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more: connections are refused
	script := filepath.Join(t.TempDir(), "s.tick")
	require.NoError(t, os.WriteFile(script, []byte(`stream|from()|alert().crit(lambda: "v" > 1).details('').tcp('`+addr+`')`), 0o644))
	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "--retry-attempts", "2", "--retry-max-time", "200ms", script},
		strings.NewReader("m v=2 1\nm v=3 2\n"), &stdout, &stderr)
	assert.Equal(t, 3, code, stderr.String())
	assert.Contains(t, stderr.String(), "tickrun: 2 points, 0 bad lines, 2 alerts, 2 deliveries failed\n")
	assert.Contains(t, stderr.String(), "tickrun: handler tcp "+addr+": 0 sent, 2 retried, 2 dropped\n")
}

// A script error exits 2 with the position; a good run exits 0.
func TestRunExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.tick")
	require.NoError(t, os.WriteFile(bad, []byte("stream|from()|alert().crt(lambda: TRUE)\n"), 0o644))
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 2, run([]string{"run", bad}, strings.NewReader(""), &stdout, &stderr))
	assert.True(t, strings.HasPrefix(stderr.String(), bad+":1:23: no method or property \"crt\" on alert"), stderr.String())

	good := filepath.Join(dir, "good.tick")
	require.NoError(t, os.WriteFile(good, []byte("stream|from()|alert().crit(lambda: \"v\" > 1).details('')\n"), 0o644))
	stderr.Reset()
	assert.Equal(t, 0, run([]string{"run", "--print", good}, strings.NewReader("m v=2 1\nm v= 2\n"), &stdout, &stderr))
	assert.Contains(t, stderr.String(), "stdin:line 2: unable to parse 'm v= 2'")
	assert.Contains(t, stderr.String(), "tickrun: 1 points, 1 bad lines, 1 alerts, 0 deliveries failed\n")
	assert.Equal(t, 1, strings.Count(stdout.String(), "\n"))
}
