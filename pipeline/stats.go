package pipeline

import "github.com/tickrun/tickrun/pipeline/alert"

// NodeStats is what one node of a task has done, as `kapacitor show`
// reports it.
type NodeStats struct {
	Name      string // e.g. "alert2"
	Kind      string // e.g. "alert"
	Collected int64  // points or batches received
	Emitted   int64  // points or batches handed to the children
	Errors    int64  // per-point errors (points dropped, levels not matched)
	// Cardinality is the number of groups the node keeps state for
	// (Kapacitor's working_cardinality).
	Cardinality int
	// Alerts counts the events of an alert node by level (nil for other
	// nodes); Kapacitor's alerts_triggered is their sum.
	Alerts *[4]int64
	// Edges count what the node handed to each child, by child name.
	Edges []EdgeStats
}

// EdgeStats is what went down one edge of the graph (Kapacitor's
// processed).
type EdgeStats struct {
	To        string
	Processed int64
}

// cardinalityer is implemented by nodes that keep state per group.
type cardinalityer interface {
	cardinality() int
}

// NodeStats returns the statistics of every node, in creation order. It
// may be called from any goroutine while points are written.
func (t *Task) NodeStats() []NodeStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]NodeStats, len(t.nodes))
	index := map[*nodeBase]int{}
	for i, n := range t.nodes {
		nb := n.base()
		index[nb] = i
		out[i] = NodeStats{Name: nb.name, Kind: nb.spec.Kind, Errors: nb.errors}
		if c, ok := n.(cardinalityer); ok {
			out[i].Cardinality = c.cardinality()
		}
		if a, ok := n.(*alertNode); ok {
			counts := a.triggered
			out[i].Alerts = &counts
		}
	}
	out[0].Collected = t.stats.Points // the stream node
	for i, n := range t.nodes {
		nb := n.base()
		for j, c := range nb.children {
			to := target(c)
			out[i].Emitted += nb.sent[j]
			out[i].Edges = append(out[i].Edges, EdgeStats{To: to.name, Processed: nb.sent[j]})
			if k, ok := index[to]; ok {
				out[k].Collected += nb.sent[j]
			}
		}
	}
	return out
}

func (n *alertNode) cardinality() int { return n.states.len() }

var _ cardinalityer = (*alertNode)(nil)

// Saved is the state a previous run left of one alert (a server keeps it
// across restarts): its level, when its episode began and when its last
// event was.
type Saved struct {
	Level        alert.Level
	EpisodeStart int64 // ns since the epoch
	Time         int64 // of the last event, ns since the epoch
}

// holder is implemented by nodes that hold points for a later emission
// (windows).
type holder interface {
	held() (points, groups int)
}

// Held returns how many points the task's windows hold, unemitted, and in
// how many groups: after Close without Options.FlushWindows, the points of
// the last, incomplete windows, which Kapacitor (whose stream never ends)
// would emit later.
func (t *Task) Held() (points, groups int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, n := range t.nodes {
		if h, ok := n.(holder); ok {
			p, g := h.held()
			points, groups = points+p, groups+g
		}
	}
	return points, groups
}
