package pipeline

// maxLoopbackDepth bounds how many generations of points a task's own
// kapacitorLoopback nodes may feed back into its input while one written
// point is processed: a loopback whose points reach itself again would
// otherwise never end (Kapacitor refuses only a loop on the task's own
// dbrp; across tasks it loops for ever).
const maxLoopbackDepth = 100

// fail stops the task with err (a UDF that died, hung or answered
// garbage): every later write returns err, and so does Close. The other
// tasks of a server go on. It is called with t.mu held; the first failure
// stays.
func (t *Task) fail(err error) {
	if t.err != nil || err == nil {
		return
	}
	t.err = err
	t.logf("task %s stopped: %v", t.name, err)
}

// Err returns what stopped the task (a failed UDF), or nil while it runs.
// A stopped task refuses points with this error; Close returns it too.
func (t *Task) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// afterPoint writes the points that kapacitorLoopback nodes produced while
// the last point went through the task back into its input (when no
// Options.Loopback takes them), generation by generation. It is called
// with t.mu held.
func (t *Task) afterPoint() {
	for depth := 0; len(t.loop) > 0; depth++ {
		batch := t.loop
		t.loop = nil
		if depth == maxLoopbackDepth {
			t.logf("kapacitorLoopback: loop detected: points written back %d times in a row are dropped", maxLoopbackDepth)
			return
		}
		for _, p := range batch {
			if t.err != nil || !t.Accepts(p.Database, p.RP) {
				continue
			}
			t.stats.Points++
			t.stream.point(p)
		}
	}
}
