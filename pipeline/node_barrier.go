package pipeline

import (
	"errors"
	"slices"
	"time"

	"github.com/tickrun/tickrun/ast"
)

// barrierNode emits barriers per group (Kapacitor barrier.go): after a
// group has been idle for .idle(d), a barrier at the group's last point
// time + d (again every d while it stays idle), or every .period(d). A
// barrier tells the nodes below that no older data of the group will come:
// a window emits the window it holds once a barrier reaches its end.
// Points older than the group's last barrier are dropped. With
// .delete(TRUE) the group is deleted after its barrier: the barrier node
// and the nodes below forget it (window buffers, alert state).
//
// Kapacitor's barriers run on the wall clock. In tickrun run they run on
// the data's clock, so a replay is reproducible: the times of the points
// reaching the node advance it, and every barrier due at or before a
// point's time is emitted before the point (a periodic barrier is stamped
// with its due time). The end of the input counts as idle for every
// group: as if the stream stayed silent long enough for every window
// below to close, each group gets its barriers at last point + d, + 2d, …
// up to the first one past its last point + the longest window period
// below (one barrier when there is no window, or with .delete). With
// Options.WallClock (tickrun serve) the clock is the wall clock, driven by
// Task.Tick: an idle barrier is stamped last point time + d, as
// Kapacitor's, a periodic one with the wall-clock time.
type barrierNode struct {
	nodeBase
	idle, period time.Duration
	del          bool
	groups       map[string]*barrierGroup
	order        []*barrierGroup // in order of first point
	clock        int64           // data clock: the latest point time seen
	horizon      int64           // longest window period or every below
}

// barrierGroup is the state of one group.
type barrierGroup struct {
	msg         barrierMsg // the group's identity
	lastPoint   int64      // time of the last point (or idle barrier)
	lastBarrier int64      // time of the last barrier; older points are dropped
	hasBarrier  bool
	next        int64 // periodic: time of the next barrier (data clock)
	wallLast    int64 // wall clock: when the idle timer was last reset
	wallNext    int64 // wall clock: when the next periodic barrier is due
}

// barrierMsg is a barrier, or a deletion, of one group as it flows down
// the graph (Kapacitor's BarrierMessage and DeleteGroupMessage).
type barrierMsg struct {
	group string
	name  string
	tags  []Tag
	dims  Dimensions
	time  int64
}

// barrierReceiver is implemented by nodes that act on barriers; the
// others hand them to their children unchanged.
type barrierReceiver interface {
	barrier(m barrierMsg)
}

// groupDeleter is implemented by nodes that keep per-group state a
// deletion drops; every node hands the deletion on to its children.
type groupDeleter interface {
	deleteGroup(group string)
}

func init() {
	register(&Spec{
		Method: "barrier", Kind: "barrier", Doc: "emits barriers when a group is idle, or periodically, so windows below close",
		Wants: anyEdge, Provides: anyEdge,
		New: func(*binder, *ast.Chain, []value) (node, error) {
			return &barrierNode{groups: map[string]*barrierGroup{}}, nil
		},
		Props: []*Prop{
			propDuration("idle", "emit a barrier after this long without data of the group", func(n *barrierNode, d time.Duration) error { n.idle = d; return nil }),
			propDuration("period", "emit a barrier every period", func(n *barrierNode, d time.Duration) error { n.period = d; return nil }),
			{Name: "delete", Doc: "delete the group after each barrier", Args: []argKind{argBool},
				set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
					x.(*barrierNode).del = a[0].scalar.Bool()
					return nil
				}},
		},
	})
}

// validate checks the node as Kapacitor's pipeline/barrier.go does.
func (n *barrierNode) validate() error {
	switch {
	case n.idle != 0 && n.period != 0:
		return errors.New("cannot specify both idle and period")
	case n.period == 0 && n.idle <= 0:
		return errors.New("idle must be greater than zero")
	case n.period <= 0 && n.idle == 0:
		return errors.New("period must be greater than zero")
	}
	n.horizon = int64(windowHorizon(n))
	return nil
}

// windowHorizon returns the longest period or every of the time windows
// below n.
func windowHorizon(n node) time.Duration {
	var h time.Duration
	for _, c := range n.base().children {
		if w, ok := c.(*windowNode); ok && w.periodCount == 0 {
			h = max(h, w.period, w.every)
		}
		if e, ok := c.(*parentEdge); ok {
			h = max(h, windowHorizon(e.to))
			continue
		}
		h = max(h, windowHorizon(c))
	}
	return h
}

func (n *barrierNode) wall() bool { return n.task.opts.WallClock }

func (n *barrierNode) group(name string, group string, tags []Tag, dims Dimensions, t int64) *barrierGroup {
	g := n.groups[group]
	if g == nil {
		g = &barrierGroup{msg: barrierMsg{group: group, name: name, tags: tags,
			dims: Dimensions{ByName: dims.ByName, TagNames: append([]string(nil), dims.TagNames...)}}, lastPoint: t}
		if n.period > 0 {
			g.next = t + int64(n.period)
		}
		if n.wall() {
			now := time.Now().UnixNano()
			g.wallLast, g.wallNext = now, now+int64(n.period)
		}
		n.groups[group] = g
		n.order = append(n.order, g)
	}
	return g
}

// advance moves the data clock to t, emitting every barrier due.
func (n *barrierNode) advance(t int64) {
	if n.wall() || t <= n.clock {
		return
	}
	n.clock = t
	for _, g := range slices.Clone(n.order) {
		for n.groups[g.msg.group] == g {
			due := g.lastPoint + int64(n.idle)
			if n.period > 0 {
				due = g.next
			}
			if due > t {
				break
			}
			n.fire(g, due)
		}
	}
}

// fire emits the group's barrier at time at, and deletes the group after
// it with .delete(TRUE).
func (n *barrierNode) fire(g *barrierGroup, at int64) {
	if n.period > 0 {
		g.next = at + int64(n.period)
	} else {
		g.lastPoint = at
	}
	g.lastBarrier, g.hasBarrier = at, true
	m := g.msg
	m.time = at
	n.emitBarrier(m)
	if n.del {
		n.deleteGroup(g.msg.group)
		n.emitDelete(g.msg.group)
	}
}

// admit tells whether a message of the group at time t passes: not older
// than the group's last barrier.
func (n *barrierNode) admit(g *barrierGroup, t int64) bool {
	if g.hasBarrier && t < g.lastBarrier {
		return false
	}
	g.lastPoint = t
	if n.idle > 0 && n.wall() {
		g.wallLast = time.Now().UnixNano()
	}
	return true
}

func (n *barrierNode) point(p *Point) {
	n.advance(p.Timestamp)
	g := n.group(p.Name, p.Group, p.GroupTags(), p.Dims, p.Timestamp)
	if n.admit(g, p.Timestamp) {
		n.emit(p)
	}
}

func (n *barrierNode) batch(b *Batch) {
	n.advance(b.TMax)
	g := n.group(b.Name, b.Group, b.Tags, b.Dims, b.TMax)
	// Kapacitor filters the points of a batch one by one.
	out := &Batch{Name: b.Name, Group: b.Group, Dims: b.Dims, Tags: b.Tags, TMax: b.TMax}
	for _, p := range b.Points {
		if n.admit(g, p.Timestamp) {
			out.Points = append(out.Points, p)
		}
	}
	n.emitBatch(out)
}

// barrier passes a barrier from above that is not older than the group's
// last one; it resets the group's idle time as a point does.
func (n *barrierNode) barrier(m barrierMsg) {
	g := n.groups[m.group]
	if g != nil && !n.admit(g, m.time) {
		return
	}
	if g != nil {
		g.lastBarrier, g.hasBarrier = m.time, true
	}
	n.emitBarrier(m)
}

func (n *barrierNode) deleteGroup(group string) {
	if g := n.groups[group]; g != nil {
		delete(n.groups, group)
		n.order = slices.DeleteFunc(n.order, func(x *barrierGroup) bool { return x == g })
	}
}

// finish treats the end of the input as idleness of every group (data
// clock only).
func (n *barrierNode) finish() {
	if n.wall() {
		return
	}
	for _, g := range slices.Clone(n.order) {
		last := g.lastPoint
		for n.groups[g.msg.group] == g {
			due := g.lastPoint + int64(n.idle)
			if n.period > 0 {
				due = g.next
			}
			n.fire(g, due)
			if due >= last+n.horizon {
				break
			}
		}
	}
}

// tickWall emits the barriers due at wall-clock time now (Options.WallClock).
func (n *barrierNode) tickWall(now int64) int64 {
	var next int64
	for _, g := range slices.Clone(n.order) {
		if n.period > 0 {
			if now >= g.wallNext {
				n.fire(g, now)
				for g.wallNext <= now {
					g.wallNext += int64(n.period) // a ticker drops missed ticks
				}
			}
			if n.groups[g.msg.group] == g && (next == 0 || g.wallNext < next) {
				next = g.wallNext
			}
			continue
		}
		if now-g.wallLast >= int64(n.idle) {
			n.fire(g, g.lastPoint+int64(n.idle))
			g.wallLast = now
		}
		if n.groups[g.msg.group] == g && (next == 0 || g.wallLast+int64(n.idle) < next) {
			next = g.wallLast + int64(n.idle)
		}
	}
	return next
}

// emitBarrier hands a barrier to every child.
func (b *nodeBase) emitBarrier(m barrierMsg) {
	for _, c := range b.children {
		sendBarrier(c, m)
	}
}

// sendBarrier hands a barrier to c: a node that acts on barriers gets it,
// any other passes it on.
func sendBarrier(c node, m barrierMsg) {
	if r, ok := c.(barrierReceiver); ok {
		r.barrier(m)
		return
	}
	if e, ok := c.(*parentEdge); ok {
		sendBarrier(e.to, m)
		return
	}
	c.base().emitBarrier(m)
}

// emitDelete hands the deletion of a group to every child, which forgets
// the group and passes the deletion on.
func (b *nodeBase) emitDelete(group string) {
	for _, c := range b.children {
		if e, ok := c.(*parentEdge); ok {
			c = e.to
		}
		if d, ok := c.(groupDeleter); ok {
			d.deleteGroup(group)
		}
		c.base().emitDelete(group)
	}
}

// barrier makes a time window emit the window it holds once the barrier
// reaches its end (Kapacitor windowByTime.Barrier); the barrier stops
// here. Count windows pass it on.
func (n *windowNode) barrier(m barrierMsg) {
	if n.periodCount != 0 {
		n.emitBarrier(m)
		return
	}
	g, ok := n.groups.peek(m.group)
	if !ok {
		return
	}
	if n.every == 0 {
		if m.time >= g.nextEmit {
			g.purge(m.time-int64(n.period), false)
			n.emitGroup(g, m.time)
			g.nextEmit = m.time
		}
		return
	}
	if m.time >= g.nextEmit {
		g.purge(g.nextEmit-int64(n.period), true)
		n.emitGroup(g, g.nextEmit)
		next := time.Unix(0, m.time).UTC().Add(n.every)
		if n.align {
			next = next.Truncate(n.every)
		}
		g.nextEmit = next.UnixNano()
	}
}

// deleteGroup drops the group's window.
func (n *windowNode) deleteGroup(group string) {
	if g, ok := n.groups.peek(group); ok {
		n.groups.delete(group)
		n.order = slices.DeleteFunc(n.order, func(x *windowGroup) bool { return x == g })
	}
}

// deleteGroup drops the group's alert state: its next event starts a new
// episode.
func (n *alertNode) deleteGroup(group string) { n.states.delete(group) }

// barrier: a stats node reports its own points; barriers stop there.
func (n *statsNode) barrier(barrierMsg) {}

var (
	_ batchNode       = (*barrierNode)(nil)
	_ barrierReceiver = (*barrierNode)(nil)
	_ groupDeleter    = (*barrierNode)(nil)
	_ finisher        = (*barrierNode)(nil)
	_ ticker          = (*barrierNode)(nil)
	_ validator       = (*barrierNode)(nil)
	_ barrierReceiver = (*windowNode)(nil)
	_ groupDeleter    = (*windowNode)(nil)
	_ groupDeleter    = (*alertNode)(nil)
)
