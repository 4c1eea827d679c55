package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCommandGolden runs fmt and graph on real scripts and compares their
// output with testdata/commands/<name>.golden (rewrite with -update-check).
func TestCommandGolden(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"fmt_seed", []string{"fmt", "../../examples/cpu_alert_tcp/script.tick"}},
		{"fmt_diff_seed", []string{"fmt", "-d", "testdata/commands/unformatted.tick"}},
		// Issue 16, item 13: -l lists, --check fails on a script fmt would change.
		{"fmt_list", []string{"fmt", "-l", "../../examples/cpu_alert_tcp/script.tick", "testdata/commands/unformatted.tick", "testdata/commands/comments.tick"}},
		{"fmt_check_clean", []string{"fmt", "--check", "../../examples/cpu_alert_tcp/script.tick", "../../examples/cpu_alert_topic/script.tick"}},
		{"fmt_check_dirty", []string{"fmt", "--check", "../../examples/cpu_alert_tcp/script.tick", "testdata/commands/unformatted.tick"}},
		{"fmt_check_write", []string{"fmt", "--check", "-w", "testdata/commands/unformatted.tick"}},
		{"fmt_check_broken", []string{"fmt", "--check", "testdata/commands/unformatted.tick", "../../parser/testdata/hint_and.tick"}},
		{"fmt_window_topic", []string{"fmt", "../../testdata/conformance/window_topic_handler/script.tick"}},
		{"fmt_comments", []string{"fmt", "testdata/commands/comments.tick"}},
		{"graph_dot_window", []string{"graph", "../../testdata/conformance/window_topic_handler/script.tick"}},
		{"graph_mermaid_window", []string{"graph", "--format", "mermaid", "../../testdata/conformance/window_topic_handler/script.tick"}},
		{"graph_dot_forks", []string{"graph", "testdata/commands/comments.tick"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(c.args, nil, &stdout, &stderr)
			got := "$ tickrun " + strings.Join(c.args, " ") + "\n" + stdout.String() + stderr.String() + "exit " + strconv.Itoa(code) + "\n"
			golden := filepath.Join("testdata", "commands", c.name+".golden")
			if *updateCheck {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), got)
		})
	}
}
