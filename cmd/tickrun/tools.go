package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/parser"
	"github.com/tickrun/tickrun/pipeline"
)

type fmtCmd struct {
	Write bool     `short:"w" help:"Write the result to the file instead of stdout."`
	Diff  bool     `short:"d" help:"Print a diff instead of the formatted script."`
	List  bool     `short:"l" help:"List the scripts whose formatting differs from fmt's, instead of printing them."`
	Check bool     `help:"Like -l, and exit 1 when a script would change (for CI)."`
	Files []string `arg:"" name:"SCRIPT.tick" help:"Scripts to format."`
}

// run formats each script canonically (Kapacitor's tickfmt style). With -l
// or --check it prints the paths of the scripts that would change (and
// with -w still writes them, as gofmt -l -w does); --check exits 1 when
// there is any, unless a worse error (exitFailed for I/O, exitScript for
// a script that does not parse) came first.
func (c *fmtCmd) run(stdout, stderr io.Writer) int {
	if c.Check && (c.Write || c.Diff) {
		fmt.Fprintln(stderr, "tickrun: fmt --check cannot be combined with -w or -d")
		return exitScript
	}
	code := exitOK
	changed := false
	for _, path := range c.Files {
		src, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(stderr, "tickrun:", err)
			code = max(code, exitFailed)
			continue
		}
		prog, err := parser.Parse(path, string(src))
		if err != nil {
			fmt.Fprint(stderr, ast.NewSource(path, string(src)).Render(err))
			code = exitScript
			continue
		}
		out := ast.Format(prog)
		if out != string(src) {
			changed = true
			if c.List || c.Check {
				fmt.Fprintln(stdout, path)
			}
		}
		switch {
		case c.Diff:
			if d := unifiedDiff(path, string(src), out); d != "" {
				fmt.Fprint(stdout, d)
			}
		case c.Write:
			if out != string(src) {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					fmt.Fprintln(stderr, "tickrun:", err)
					code = max(code, exitFailed)
				}
			}
		case c.List || c.Check:
		default:
			fmt.Fprint(stdout, out)
		}
	}
	if c.Check && changed && code == exitOK {
		return exitFailed
	}
	return code
}

type graphCmd struct {
	Format string `default:"dot" enum:"dot,mermaid" help:"Output format: dot (Graphviz) or mermaid."`
	Script string `arg:"" name:"SCRIPT.tick" help:"The script to draw." type:"existingfile"`
}

// run prints the pipeline of a script.
func (c *graphCmd) run(stdout, stderr io.Writer) int {
	src, err := os.ReadFile(c.Script)
	if err != nil {
		fmt.Fprintln(stderr, "tickrun:", err)
		return exitFailed
	}
	name := strings.TrimSuffix(filepath.Base(c.Script), filepath.Ext(c.Script))
	task, err := pipeline.Compile(name, c.Script, string(src), pipeline.Options{})
	if err != nil {
		fmt.Fprint(stderr, task.ErrorText(err))
		return exitScript
	}
	defer task.Close(context.Background())
	if c.Format == "mermaid" {
		err = task.WriteMermaid(stdout)
	} else {
		err = task.WriteDOT(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "tickrun:", err)
		return exitFailed
	}
	return exitOK
}

// unifiedDiff returns a unified diff of two texts, "" when they are equal.
func unifiedDiff(name, a, b string) string {
	if a == b {
		return ""
	}
	lines := func(s string) []string {
		l := strings.SplitAfter(s, "\n")
		if l[len(l)-1] == "" {
			l = l[:len(l)-1]
		}
		return l
	}
	x, y := lines(a), lines(b)
	// Longest common subsequence, fine for script-sized inputs.
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s (formatted)\n", name, name)
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			out.WriteString(" " + x[i])
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			out.WriteString("-" + x[i])
			i++
		default:
			out.WriteString("+" + y[j])
			j++
		}
		if s := out.String(); !strings.HasSuffix(s, "\n") {
			out.WriteString("\n")
		}
	}
	return out.String()
}
