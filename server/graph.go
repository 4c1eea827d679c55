package server

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/tickrun/tickrun/pipeline"
)

// graph is a task's pipeline as its DOT output shows it: nodes in
// creation order and their edges (ENGINE: a Task.Nodes() would spare the
// parsing).
type graph struct {
	nodes []graphNode
	edges map[string][]string // parent -> children, in order
}

type graphNode struct {
	name string // "alert2"
	kind string // "alert"
}

var (
	dotNodeLine = regexp.MustCompile(`^"?([A-Za-z_][A-Za-z0-9_]*)"? \[label=`)
	dotEdgeLine = regexp.MustCompile(`^"?([A-Za-z_][A-Za-z0-9_]*)"? -> "?([A-Za-z_][A-Za-z0-9_]*)"?;$`)
	trailingNum = regexp.MustCompile(`[0-9]+$`)
)

// readGraph reads a compiled task's graph from its DOT output.
func readGraph(t *pipeline.Task) (*graph, error) {
	var b strings.Builder
	if err := t.WriteDOT(&b); err != nil {
		return nil, err
	}
	g := &graph{edges: map[string][]string{}}
	seen := map[string]bool{}
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			g.nodes = append(g.nodes, graphNode{name: name, kind: trailingNum.ReplaceAllString(name, "")})
		}
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if m := dotNodeLine.FindStringSubmatch(line); m != nil {
			add(m[1])
		} else if m := dotEdgeLine.FindStringSubmatch(line); m != nil {
			add(m[1])
			add(m[2])
			g.edges[m[1]] = append(g.edges[m[1]], m[2])
		}
	}
	// Creation order is the order of the numbers in the names.
	sort.SliceStable(g.nodes, func(i, j int) bool { return nodeNum(g.nodes[i].name) < nodeNum(g.nodes[j].name) })
	return g, nil
}

func nodeNum(name string) int {
	n, _ := strconv.Atoi(trailingNum.FindString(name))
	return n
}

// plainDOT is the graph of a task that is not executing, as Kapacitor
// writes it: edges only, no trailing newline.
func (g *graph) plainDOT(id string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n", id)
	for _, n := range g.nodes {
		for _, c := range g.edges[n.name] {
			fmt.Fprintf(&b, "%s -> %s;\n", n.name, c)
		}
	}
	b.WriteString("}")
	return b.String()
}

// statsDOT is the graph of an executing task with its statistics as
// attributes (dot-view=attributes): the throughput, each node's
// statistics but collected and emitted, sorted, and on each edge the
// points that went along it (edges: parent -> child -> processed).
func (g *graph) statsDOT(id string, throughput float64, stats map[string]map[string]int64, edges map[string]map[string]int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\ngraph [throughput=\"%.2f points/s\"];\n", id, throughput)
	for _, n := range g.nodes {
		b.WriteString("\n")
		fmt.Fprintf(&b, "%s [", n.name)
		keys := make([]string, 0, len(stats[n.name]))
		for k := range stats[n.name] {
			if k != "collected" && k != "emitted" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := strconv.FormatInt(stats[n.name][k], 10)
			if k == "avg_exec_time_ns" {
				v = fmt.Sprint(timeDuration(stats[n.name][k]))
			}
			fmt.Fprintf(&b, "%s=%q ", k, v)
		}
		b.WriteString("];\n")
		for _, c := range g.edges[n.name] {
			if processed, ok := edges[n.name][c]; ok {
				fmt.Fprintf(&b, "%s -> %s [processed=\"%d\"];\n", n.name, c, processed)
			} else {
				fmt.Fprintf(&b, "%s -> %s;\n", n.name, c)
			}
		}
	}
	b.WriteString("}")
	return b.String()
}

// jsonMarshal is encoding/json's Marshal, named for the seam's one use.
func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
