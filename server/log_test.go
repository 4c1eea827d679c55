package server_test

import (
	"log/slog"
	"sync"
	"testing"
)

// testLogger sends the server's warnings to the test log while the test
// runs (handlers may still log while the server drains).
func testLogger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t, live: true}
	t.Cleanup(func() {
		w.mu.Lock()
		w.live = false
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	live bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.live {
		w.t.Log(string(p))
	}
	return len(p), nil
}
