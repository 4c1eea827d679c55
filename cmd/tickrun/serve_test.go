package main

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lockedBuffer is a bytes.Buffer safe to read while the server writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeSIGTERM runs `tickrun serve` without a kapacitor.conf, checks
// the one-line notice, and stops it with SIGTERM: it exits 0 with its
// state written.
func TestServeSIGTERM(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	dir := filepath.Join(t.TempDir(), "state")
	t.Setenv("KAPACITOR_CONFIG_PATH", "")
	var stdout, stderr lockedBuffer
	code := make(chan int, 1)
	go func() { code <- run([]string{"serve", "--bind", addr, "--data-dir", dir}, nil, &stdout, &stderr) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/kapacitor/v1/ping")
		if err == nil {
			resp.Body.Close()
			require.Equal(t, http.StatusNoContent, resp.StatusCode)
			assert.Equal(t, "1.8.3", resp.Header.Get("X-Kapacitor-Version"))
			break
		}
		select {
		case c := <-code:
			t.Fatalf("serve exited with %d: %s", c, stderr.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "serve never answered: %s", stderr.String())
		time.Sleep(20 * time.Millisecond)
	}
	// The signal handler is installed before the server listens, so the
	// signal reaches it and not the default action.
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
	select {
	case c := <-code:
		require.Equal(t, exitOK, c, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	first, _, _ := strings.Cut(stderr.String(), "\n")
	assert.Equal(t, "tickrun serve: no kapacitor.conf given: listening on "+addr+", state in "+dir, first)
	assert.Contains(t, stderr.String(), "shutting down")
	for _, f := range []string{"kapacitor.db", "cluster.id", "server.id"} {
		_, err := os.Stat(filepath.Join(dir, f))
		assert.NoError(t, err, f)
	}
}

// TestServeBadConfig: a configuration error names the file and line and
// exits 2 without starting.
func TestServeBadConfig(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "kapacitor.conf")
	require.NoError(t, os.WriteFile(conf, []byte("[http]\n  auth-enabled = \"yes\"\n"), 0o644))
	var stdout, stderr bytes.Buffer
	code := run([]string{"serve", "--config", conf}, nil, &stdout, &stderr)
	assert.Equal(t, exitScript, code)
	assert.Equal(t, "tickrun serve: "+conf+":2: [http] auth-enabled: want true or false\n", stderr.String())
}
