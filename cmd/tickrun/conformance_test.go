package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/internal/testsink"
)

// conformanceDir holds the cases recorded from a real Kapacitor, copied
// verbatim from shared/conformance: script.tick (or template.tick and
// vars.json), input.lp, expected.jsonl, optional *.yaml handler files and
// args.
const conformanceDir = "../../testdata/conformance"

var updateExamples = flag.Bool("update", false, "rewrite examples/*/expected.jsonl")

// recordedPorts are the addresses the recordings used; each is replaced by
// a free local port with a real listener.
var recordedPorts = []string{"127.0.0.1:7777", "127.0.0.1:7778"}

// TestConformance runs every recorded case through the CLI's code path
// (script file, stdin, --handler files, args) with real TCP listeners and
// compares what arrives with what Kapacitor sent: in order, byte for byte.
func TestConformance(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(conformanceDir, "*"))
	require.NoError(t, err)
	var cases []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "expected.jsonl")); err == nil {
			cases = append(cases, d)
		}
	}
	require.Greater(t, len(cases), 0, "no conformance case found in %s", conformanceDir)
	for _, dir := range cases {
		dir := dir
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			c := runCase(t, dir)
			require.Equal(t, 0, c.code, "exit code; stderr:\n%s", c.stderr)
			want := readLines(t, filepath.Join(dir, "expected.jsonl"))
			got := c.received
			if !assert.Equal(t, len(want), len(got), "number of messages; stderr:\n%s", c.stderr) {
				for i, g := range got {
					t.Logf("got %d: %s", i, g)
				}
			}
			for i := 0; i < len(want) && i < len(got); i++ {
				require.True(t, strings.HasSuffix(got[i], "}\n\n"), "message %d must end in \"}\\n\\n\": %q", i, got[i])
				assert.JSONEq(t, want[i], got[i], "message %d", i)
				assert.Equal(t, want[i]+"\n\n", got[i], "message %d bytes", i)
			}
		})
	}
}

type caseResult struct {
	code     int
	stdout   string
	stderr   string
	received []string // messages in order: ports ascending, accept order within a port
}

// runCase runs one case directory.
func runCase(t *testing.T, dir string, extra ...string) caseResult {
	t.Helper()
	tmp := t.TempDir()
	// A template case (template_vars) has template.tick and Kapacitor's
	// vars file instead of script.tick: the task defined from them.
	scriptFile := "script.tick"
	var vars []string
	if _, err := os.Stat(filepath.Join(dir, "template.tick")); err == nil {
		scriptFile = "template.tick"
		vars = []string{"--vars", filepath.Join(dir, "vars.json")}
	}
	script := readFile(t, filepath.Join(dir, scriptFile))
	// Sources under the case folder are written file:///CASE_DIR/... in
	// the recordings (sideload): Kapacitor needs an absolute path.
	abs, err := filepath.Abs(dir)
	require.NoError(t, err)
	script = strings.ReplaceAll(script, "/CASE_DIR", filepath.ToSlash(abs))
	yamls, _ := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	texts := []string{script}
	for _, y := range yamls {
		texts = append(texts, readFile(t, y))
	}
	var listeners []*sink
	for _, addr := range recordedPorts {
		used := false
		for _, s := range texts {
			used = used || strings.Contains(s, addr)
		}
		if !used {
			continue
		}
		s := newSink(t)
		listeners = append(listeners, s)
		for i := range texts {
			texts[i] = strings.ReplaceAll(texts[i], addr, s.addr)
		}
	}
	scriptPath := filepath.Join(tmp, "script.tick")
	require.NoError(t, os.WriteFile(scriptPath, []byte(texts[0]), 0o644))
	args := []string{"run"}
	if a, err := os.ReadFile(filepath.Join(dir, "args")); err == nil {
		args = append(args, strings.Fields(string(a))...)
	}
	for i, y := range yamls {
		p := filepath.Join(tmp, filepath.Base(y))
		require.NoError(t, os.WriteFile(p, []byte(texts[i+1]), 0o644))
		args = append(args, "--handler", p)
	}
	args = append(args, vars...)
	args = append(args, extra...)
	args = append(args, scriptPath)
	input, err := os.Open(filepath.Join(dir, "input.lp"))
	require.NoError(t, err)
	defer input.Close()
	var stdout, stderr bytes.Buffer
	code := run(args, input, &stdout, &stderr)
	res := caseResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
	for _, s := range listeners {
		res.received = append(res.received, s.close()...)
	}
	return res
}

// sink is the TCP endpoint of these tests: internal/testsink, which
// records each connection's bytes in accept order (Kapacitor opens one
// connection per event).
type sink struct {
	*testsink.Sink
	addr string
}

func newSink(t *testing.T) *sink {
	s := testsink.Start(t, "", nil)
	return &sink{s, s.Addr()}
}

// close returns what each connection sent, after the senders finished.
func (s *sink) close() []string { return s.Close() }

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func readLines(t *testing.T, path string) []string {
	var out []string
	for _, l := range strings.Split(readFile(t, path), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}
