package pipeline

import (
	"fmt"
	"slices"
	"strings"
)

// Sharding modes of a scaled-out server (issue 15). The stream is
// partitioned by one tag (the partition key: a host's points are all in
// one partition); a task can run on every instance, each over the
// partitions it owns, when every node that keeps state per group sees
// groups keyed by that tag: then no group spans two partitions.

// Sharding tells whether the task can run sharded over a stream
// partitioned by tag key, and why (or why not), naming the node and its
// line. A task that cannot runs on one instance, over every partition;
// one that can runs on every instance over the partitions it owns.
func (t *Task) Sharding(key string) (sharded bool, why string) {
	if t.stream == nil {
		return false, "a batch task queries InfluxDB on its own schedule"
	}
	keyed := map[node]bool{}
	dims := map[node]string{}
	stateful := 0
	for _, n := range t.nodes {
		b := n.base()
		k, d := false, "no groupBy"
		if b.parent != nil {
			k, d = keyed[b.parent], dims[b.parent]
		}
		switch n := n.(type) {
		case *fromNode:
			if n.star || len(n.dims.TagNames) > 0 {
				k, d = n.star || slices.Contains(n.dims.TagNames, key), dimsText(n.star, n.dims.TagNames)
			}
		case *groupByNode:
			k = n.star && !n.exclude[key] || slices.Contains(n.dims.TagNames, key)
			d = dimsText(n.star, n.dims.TagNames)
		}
		keyed[n], dims[n] = k, d
		where := fmt.Sprintf("%s (line %d)", b.name, b.pos.Line)
		switch n.(type) {
		case *statsNode:
			return false, where + " counts the whole stream on the wall clock (stats, deadman)"
		case *joinNode, *unionNode, *combineNode, *barrierNode:
			return false, where + " combines streams or groups"
		}
		if keepsGroups(n) {
			stateful++
			if !k {
				return false, fmt.Sprintf("%s keeps state per group and its groups (%s) do not contain %q", where, d, key)
			}
		}
	}
	if stateful == 0 {
		return true, "no node keeps state per group"
	}
	return true, fmt.Sprintf("every group key contains %q", key)
}

// keepsGroups reports whether n keeps state per group: the nodes whose
// groups must not span partitions (Sharding), and, of those that do not
// hand it over, the ones Task.HandoverGaps names.
func keepsGroups(n node) bool {
	switch n.(type) {
	case *alertNode, *windowNode, *derivativeNode, *changeDetectNode, *stateNode, *transformNode,
		*sampleNode, *udfNode, *holtWintersNode, *flattenNode, *multiSelectNode:
		return true
	}
	return false
}

func dimsText(star bool, names []string) string {
	if star {
		return "groupBy(*)"
	}
	if len(names) == 0 {
		return "no groupBy"
	}
	return "groupBy(" + strings.Join(names, ", ") + ")"
}
