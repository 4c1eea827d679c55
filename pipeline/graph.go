package pipeline

import (
	"fmt"
	"io"
	"strings"
)

// WriteDOT writes the task's pipeline as a Graphviz digraph, as `kapacitor
// show` prints it (without a server's runtime statistics).
func (t *Task) WriteDOT(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n", dotID(t.name))
	for _, n := range t.nodes {
		nb := n.base()
		if nb.spec.Method == "batch" && len(nb.children) == 0 || nb.spec.Method == "stream" && len(nb.children) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s [label=%q];\n", nb.name, nb.name+"\n"+nb.spec.Doc)
	}
	for _, n := range t.nodes {
		for _, c := range n.base().children {
			fmt.Fprintf(&b, "%s -> %s;\n", n.base().name, target(c).name)
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMermaid writes the task's pipeline as a Mermaid flowchart.
func (t *Task) WriteMermaid(w io.Writer) error {
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	for _, n := range t.nodes {
		nb := n.base()
		if len(nb.children) == 0 && nb.parent == nil {
			continue
		}
		fmt.Fprintf(&b, "    %s[\"%s<br/>%s\"]\n", nb.name, nb.name, strings.ReplaceAll(nb.spec.Doc, `"`, "'"))
	}
	for _, n := range t.nodes {
		for _, c := range n.base().children {
			fmt.Fprintf(&b, "    %s --> %s\n", n.base().name, target(c).name)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// target returns the node an edge leads to: itself, or for the adapter
// of a multi-parent node (join, union), the node behind it.
func target(n node) *nodeBase {
	if a, ok := n.(interface{ target() node }); ok {
		return a.target().base()
	}
	return n.base()
}

// dotID quotes a graph name when it is not a plain identifier.
func dotID(s string) string {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return fmt.Sprintf("%q", s)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}
