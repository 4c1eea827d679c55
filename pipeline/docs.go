package pipeline

import (
	"fmt"
	"sort"
	"strings"
)

// NodeTable returns the Markdown table of every node kind tickrun
// implements, with its arguments and properties, generated from the
// registry (README and docs/nodes.md are generated from it, so they cannot
// drift from the code).
func NodeTable() string {
	var b strings.Builder
	b.WriteString("| node | wants → provides | arguments | properties | what it does |\n|---|---|---|---|---|\n")
	for _, s := range Specs() {
		if s.Method == "stream" || s.Method == "batch" {
			continue
		}
		var args []string
		for _, a := range s.Args {
			args = append(args, a.String())
		}
		if s.Variadic != argNone {
			args = append(args, s.Variadic.String()+"…")
		}
		var props []string
		for _, p := range s.Props {
			props = append(props, "."+p.Name+"()")
		}
		sort.Strings(props)
		fmt.Fprintf(&b, "| `%s` | %s → %s | %s | %s | %s |\n", s.Method, s.Wants, s.Provides,
			strings.Join(args, ", "), strings.Join(props, " "), s.Doc)
	}
	return b.String()
}

func (e edge) String() string {
	switch e {
	case streamEdge:
		return "stream"
	case batchEdge:
		return "batch"
	}
	return "either"
}

// UnsupportedNodes returns the Kapacitor nodes tickrun rejects by name.
func UnsupportedNodes() []string {
	var out []string
	for n := range unsupportedNodes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
