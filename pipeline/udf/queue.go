package udf

import (
	"strings"
	"sync"
	"time"
)

// item is one thing for the callbacks: a point, a batch or the failure.
type item struct {
	point *Point
	batch *Batch
	err   error
}

// queue carries what the reader receives to the delivery goroutine. It is
// unbounded so the reader never waits for a callback: a callback that waits
// for the caller of WritePoint (a task lock, say) while WritePoint waits for
// the UDF to read, and the UDF for its output to be read, would otherwise
// deadlock.
type queue struct {
	mu        sync.Mutex
	items     []item
	spare     []item
	wake      chan struct{}
	sealed    bool // nothing more is pushed; deliver drains and returns
	discarded bool // deliver returns without delivering the rest
	done      chan struct{}
}

func newQueue() *queue {
	return &queue{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// push queues it unless the queue is sealed.
func (q *queue) push(it item) {
	q.mu.Lock()
	if !q.sealed {
		q.items = append(q.items, it)
	}
	q.mu.Unlock()
	q.signal()
}

// pushError queues the failure as the last item and seals the queue.
func (q *queue) pushError(err error) {
	q.mu.Lock()
	if !q.sealed {
		q.items = append(q.items, item{err: err})
		q.sealed = true
	}
	q.mu.Unlock()
	q.signal()
}

// seal ends the queue after what it holds.
func (q *queue) seal() {
	q.mu.Lock()
	q.sealed = true
	q.mu.Unlock()
	q.signal()
}

// discard drops what the queue holds and ends it.
func (q *queue) discard() {
	q.mu.Lock()
	q.sealed, q.discarded = true, true
	q.items = nil
	q.mu.Unlock()
	q.signal()
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// deliver calls the callbacks for each item until the queue is sealed and
// empty, or discarded.
func (q *queue) deliver(o Options) {
	defer close(q.done)
	for {
		q.mu.Lock()
		batch := q.items
		q.items = q.spare[:0]
		end := q.sealed && len(batch) == 0 || q.discarded
		q.mu.Unlock()
		if end {
			return
		}
		for i := range batch {
			if q.isDiscarded() {
				return
			}
			it := &batch[i]
			switch {
			case it.point != nil:
				if o.OnPoint != nil {
					o.OnPoint(it.point)
				}
			case it.batch != nil:
				if o.OnBatch != nil {
					o.OnBatch(it.batch)
				}
			case it.err != nil:
				if o.OnError != nil {
					o.OnError(it.err)
				}
			}
			*it = item{}
		}
		q.mu.Lock()
		q.spare = batch[:0]
		more := len(q.items) > 0 || q.sealed
		q.mu.Unlock()
		if !more {
			<-q.wake
		}
	}
}

func (q *queue) isDiscarded() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.discarded
}

// tail keeps the last lines a process wrote to stderr, for the error.
type tail struct {
	mu    sync.Mutex
	lines []string
	size  int
	done  chan struct{} // closed when stderr has ended; nil for a socket
}

const (
	tailLines = 10
	tailBytes = 4 << 10
)

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	t.size += len(line)
	for len(t.lines) > tailLines || t.size > tailBytes && len(t.lines) > 1 {
		t.size -= len(t.lines[0])
		t.lines = t.lines[1:]
	}
}

// String returns the kept lines, joined by newlines.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// wait waits at most d for stderr to end, so an exit error carries the
// process's last words.
func (t *tail) wait(d time.Duration) {
	t.mu.Lock()
	done := t.done
	t.mu.Unlock()
	if done == nil {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	}
}
