package pipeline

import "time"

// ticker is implemented by nodes with a wall clock (stats, deadman, a
// barrier): in a task compiled with Options.WallClock, Task.Tick advances
// them to the wall-clock time now (ns since the epoch), and they return
// when they are next due (0: not before a point arrives).
type ticker interface {
	tickWall(now int64) (next int64)
}

// Tick advances the wall-clock nodes of a task compiled with
// Options.WallClock (stats, deadman, barrier) to now: every interval
// boundary reached is reported and every idle or periodic barrier due is
// emitted, as Kapacitor's tickers do. The first call starts their clocks
// (a server calls it when it starts the task). Tick returns when a node is
// next due, so that the caller can sleep until then; it returns the zero
// time when nothing is due, the task has no wall-clock node, was not
// compiled with WallClock, or is closed. It is safe for concurrent use
// with the write methods.
func (t *Task) Tick(now time.Time) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || !t.opts.WallClock || t.alerts == nil {
		return time.Time{}
	}
	var next int64
	for _, n := range t.nodes {
		if c, ok := n.(ticker); ok {
			if due := c.tickWall(now.UnixNano()); due != 0 && (next == 0 || due < next) {
				next = due
			}
		}
	}
	t.afterPoint()
	if next == 0 {
		return time.Time{}
	}
	return time.Unix(0, next).UTC()
}

// tickWall makes the stats node a ticker: its interval boundaries on the
// wall clock.
func (n *statsNode) tickWall(now int64) int64 {
	n.tick(now)
	return n.next
}

var _ ticker = (*statsNode)(nil)
