package deliver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fast are options small enough for tests.
var fast = Options{Attempts: 3, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, RetryMaxTime: time.Second}

// Every item ends counted once: sent, retried then sent, or dropped.
func TestQueueCountsEveryItem(t *testing.T) {
	var mu sync.Mutex
	var got []string
	tries := map[string]int{}
	q := NewQueue("test x", "\n", fast, nil, func(_ context.Context, p []byte) error {
		mu.Lock()
		defer mu.Unlock()
		id := string(p)
		tries[id]++
		switch {
		case id == "perm\n":
			return Permanent(errors.New("no"))
		case id == "flaky\n" && tries[id] < 2, id == "dead\n":
			return errors.New("try again")
		}
		got = append(got, id)
		return nil
	}).Start()
	for _, id := range []string{"a", "flaky", "perm", "dead", "b"} {
		q.Deliver(id, []byte(id))
	}
	require.NoError(t, q.Close(context.Background()))
	assert.Equal(t, []string{"a\n", "flaky\n", "b\n"}, got)
	assert.Equal(t, Stats{Name: "test x", Sent: 3, Retried: 1 + 2, Dropped: 2}, q.Stats())
}

// A full queue drops the new item at once, and so does a closed queue
// (a handler unsubscribed while a task still publishes): no panic.
func TestQueueFullAndClosed(t *testing.T) {
	block := make(chan struct{})
	var log []string
	var mu sync.Mutex
	logf := func(format string, args ...any) {
		mu.Lock()
		log = append(log, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	started := make(chan struct{}, 3)
	q := NewQueue("test y", "", Options{QueueSize: 1}, logf, func(context.Context, []byte) error { started <- struct{}{}; <-block; return nil }).Start()
	q.Deliver("1", nil)
	<-started           // the goroutine took it and blocks
	q.Deliver("2", nil) // queued
	q.Deliver("3", nil) // full
	close(block)
	require.NoError(t, q.Close(context.Background()))
	q.Deliver("4", nil)
	assert.Equal(t, Stats{Name: "test y", Sent: 2, Dropped: 2}, q.Stats())
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{`handler test y: queue full (1 events), dropped event "3"`, `handler test y: closed, dropped event "4"`}, log)
}
