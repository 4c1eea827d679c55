package pipeline

import "time"

// Per-group state with a ceiling and an expiry. Kapacitor keeps every
// group it ever saw, and its most-reported failure is the memory that
// grows with the number of series (#1255, #2471). A node's groups are
// kept in a groupTable:
//
//   - Options.MaxGroups bounds how many groups a node holds: the points
//     of a new group beyond it are dropped at that node, counted with its
//     errors, and one warning is logged;
//   - groups idle (no point) for longer than Options.GroupExpiry of data
//     time are released (a window emits what it holds first); without
//     it only groups whose state equals a fresh one (an alert group whose
//     levels are all OK) are released, so outputs stay Kapacitor's.
//
// The task sweeps its nodes on the data's clock (Task.sweep, from
// WritePoint), every quarter of the expiry (a minute without one).

// groupTable holds the state V of each group of a node.
type groupTable[V any] struct {
	m      map[string]*groupEntry[V]
	warned bool
}

type groupEntry[V any] struct {
	v    V
	last int64 // time of the group's last point, ns since the epoch
}

func newGroupTable[V any]() groupTable[V] {
	return groupTable[V]{m: map[string]*groupEntry[V]{}}
}

// lookup returns the state of group id and marks it seen at time t.
func (g *groupTable[V]) lookup(id string, t int64) (V, bool) {
	if e := g.m[id]; e != nil {
		if t > e.last {
			e.last = t
		}
		return e.v, true
	}
	var zero V
	return zero, false
}

// add keeps v as the state of a new group id seen at time t, if the node
// may hold another group; otherwise it counts the point dropped, warns
// once, and returns false.
func (g *groupTable[V]) add(n *nodeBase, id string, t int64, v V) bool {
	if max := n.task.opts.MaxGroups; max > 0 && len(g.m) >= max {
		n.errors++
		n.task.stats.NodeErrors++
		n.task.stats.GroupsRefused++
		if !g.warned {
			g.warned = true
			n.task.logf("%s: more than %d groups (--max-groups): the points of new groups are dropped and counted", n.name, max)
		}
		return false
	}
	g.m[id] = &groupEntry[V]{v: v, last: t}
	return true
}

// len returns the number of groups.
func (g *groupTable[V]) len() int { return len(g.m) }

// expire releases the groups last seen before cutoff for which release
// returns true (it may act on the state first, e.g. emit a window).
func (g *groupTable[V]) expire(cutoff int64, release func(id string, v V) bool) int {
	n := 0
	for id, e := range g.m {
		if e.last < cutoff && release(id, e.v) {
			delete(g.m, id)
			n++
		}
	}
	return n
}

// each calls f for every group.
func (g *groupTable[V]) each(f func(id string, v V)) {
	for id, e := range g.m {
		f(id, e.v)
	}
}

// expirer is implemented by nodes that keep per-group state. expire
// releases the groups last seen before cutoff; explicit says the user
// asked for it (Options.GroupExpiry): without it a node releases only
// groups whose state equals a fresh one.
type expirer interface {
	expire(cutoff int64, explicit bool) int
}

// defaultSweep is how often, in data time, the task releases groups
// whose state equals a fresh one when no expiry is set.
const defaultSweep = int64(time.Minute)

// sweep releases idle groups at data time now, if a sweep is due.
func (t *Task) sweep(now int64) {
	if now < t.nextSweep {
		return
	}
	interval, cutoff, explicit := defaultSweep, t.lastSweep, false
	if e := int64(t.opts.GroupExpiry); e > 0 {
		interval, cutoff, explicit = max(e/4, 1), now-e, true
	}
	if t.nextSweep == 0 { // the first point: start the clock
		t.nextSweep, t.lastSweep = now+interval, now
		return
	}
	released := 0
	for _, n := range t.nodes {
		if x, ok := n.(expirer); ok {
			released += x.expire(cutoff, explicit)
		}
	}
	t.stats.GroupsReleased += int64(released)
	t.nextSweep, t.lastSweep = now+interval, now
}
