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
		q.Deliver(id, 0, []byte(id))
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
	q.Deliver("1", 0, nil)
	<-started              // the goroutine took it and blocks
	q.Deliver("2", 0, nil) // queued
	q.Deliver("3", 0, nil) // full
	close(block)
	require.NoError(t, q.Close(context.Background()))
	q.Deliver("4", 0, nil)
	assert.Equal(t, Stats{Name: "test y", Sent: 2, Dropped: 2}, q.Stats())
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{`handler test y: dropped event "3": queue full (1 events)`, `handler test y: dropped event "4": the handler is closed`}, log)
}

// Issue 17: drops are logged one by one up to maxLoggedDrops, naming the
// handler, the event and its time; the rest are summed up in one line at
// Close, and the counters stay exact.
func TestQueueCapsDropLogs_issue17(t *testing.T) {
	var mu sync.Mutex
	var log []string
	logf := func(format string, args ...any) {
		mu.Lock()
		log = append(log, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	q := NewQueue("tcp h:1", "", Options{Attempts: 1}, logf, func(context.Context, []byte) error { return errors.New("refused") }).Start()
	const n = 1000
	for i := range n {
		q.Deliver(fmt.Sprintf("cpu:%d", i), (1700000000+int64(i))*1e9, nil)
	}
	require.NoError(t, q.Close(context.Background()))
	assert.Equal(t, Stats{Name: "tcp h:1", Dropped: n}, q.Stats())
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, log, maxLoggedDrops+1)
	assert.Equal(t, `handler tcp h:1: dropped event "cpu:0" of 2023-11-14T22:13:20Z: 1 attempts failed, last: refused`, log[0])
	assert.Contains(t, log[maxLoggedDrops-1], "(further drops of this handler are counted, and summed up at the end)")
	assert.Equal(t, fmt.Sprintf("handler tcp h:1: %d more events dropped (not logged one by one)", n-maxLoggedDrops), log[maxLoggedDrops])
}

// Issue 17: a try that ignores its context (an open that blocks) cannot
// hold Close or the counters: past the drain deadline the items still in
// hand are counted as dropped, and sent + dropped is every item.
func TestQueueAbandonsStuckTry_issue17(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	q := NewQueue("log /fifo", "", Options{}, nil, func(context.Context, []byte) error { <-stuck; return nil }).Start()
	for i := range 5 {
		q.Deliver(fmt.Sprint(i), 0, nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := q.Close(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	st := q.Stats()
	assert.Equal(t, int64(5), st.Sent+st.Dropped, "%+v", st)
	assert.Equal(t, int64(5), st.Dropped)
}
