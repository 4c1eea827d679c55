package server_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/server/config"
)

// kapacitorModule is the kapacitor CLI release the recordings were made
// with.
const kapacitorModule = "github.com/influxdata/kapacitor@v1.8.3"

// kapacitorCLI returns a real kapacitor CLI: $TICKRUN_KAPACITOR_CLI, else
// `kapacitor` on the PATH, else one built from the Go module proxy into
// the user cache directory (once; later runs reuse it). The CLI v1.8.3
// imports flux, whose Go module links libflux (Rust, through cgo); the
// CLI's own code never calls it, so the build replaces the flux module
// with testdata/kapacitorcli/fluxstub: the few declarations its import
// graph names, none of flux's code. Without network or proxy the test is
// skipped with the reason.
func kapacitorCLI(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TICKRUN_KAPACITOR_CLI"); p != "" {
		return p
	}
	if p, err := exec.LookPath("kapacitor"); err == nil {
		return p
	}
	cache, err := os.UserCacheDir()
	require.NoError(t, err)
	dir := filepath.Join(cache, "tickrun", "kapacitor-cli-v1.8.3-fluxstub")
	bin := filepath.Join(dir, "kapacitor")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	stub, err := filepath.Abs(filepath.Join("testdata", "kapacitorcli", "fluxstub"))
	require.NoError(t, err)
	require.NoError(t, os.CopyFS(filepath.Join(dir, "fluxstub"), os.DirFS(stub)))
	mod := "module kapcli\n\ngo 1.26\n\nrequire github.com/influxdata/kapacitor v1.8.3\n\nreplace github.com/influxdata/flux => ./fluxstub\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644))
	cmd := exec.Command("go", "build", "-mod=mod", "-o", bin, "github.com/influxdata/kapacitor/cmd/kapacitor")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Skipf("the kapacitor CLI does not build here (%v): %s", err, strings.Join(lines[max(0, len(lines)-6):], " | "))
	}
	return bin
}

var (
	showTimes = regexp.MustCompile(`(?m)^(Created|Modified|LastEnabled): .*$`)
	dotValues = regexp.MustCompile(`="[^"]*"`)
)

// aside blanks what `kapacitor show` prints that depends on the clock or
// on node statistics: the times and the DOT attribute values.
func aside(s string) string {
	s = showTimes.ReplaceAllString(s, "$1: *")
	return dotValues.ReplaceAllString(s, `="*"`)
}

// TestKapacitorCLI runs the seed page's commands with the real kapacitor
// CLI against tickrun serve and compares what it prints with what it
// printed against Kapacitor 1.8.3 (testdata/api/*.out), times and
// statistics aside.
func TestKapacitorCLI(t *testing.T) {
	cli := kapacitorCLI(t)
	sink := newSink(t)
	ts := startServer(t, t.TempDir(), nil)
	tmp := t.TempDir()
	handler := strings.ReplaceAll(readFile(t, "testdata/api/inputs/tcp_cpu_handler.yaml"), recordedSinkAddr, sink.addr)
	require.NoError(t, os.WriteFile(filepath.Join(tmp, "tcp_cpu_handler.yaml"), []byte(handler), 0o644))
	tick, err := filepath.Abs("testdata/api/inputs/cpu_alert.tick")
	require.NoError(t, err)
	for _, step := range []struct {
		out  string
		args []string
	}{
		{"01_define_cpu_alert_dbrp_flag", []string{"define", "cpu_alert", "-tick", tick, "-dbrp", "telegraf.autogen"}},
		{"02_enable_cpu_alert", []string{"enable", "cpu_alert"}},
		{"03_define_topic_handler", []string{"define-topic-handler", "tcp_cpu_handler.yaml"}},
		{"04_list_tasks", []string{"list", "tasks"}},
		{"05_show_cpu_alert", []string{"show", "cpu_alert"}},
		{"09_list_topic_handlers", []string{"list", "topic-handlers"}},
	} {
		cmd := exec.Command(cli, step.args...)
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), "KAPACITOR_URL="+ts.url)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "%v: %s", step.args, stderr.String())
		want := readFile(t, "testdata/api/"+step.out+".out")
		assert.Equal(t, aside(want), aside(stdout.String()), "kapacitor %s", strings.Join(step.args, " "))
	}
}

// TestKapacitorCLIRecordedSession replays the whole recorded session
// (testdata/api/summary.txt) with the real kapacitor CLI against tickrun
// serve: every command with its recorded arguments, the direct writes in
// between, and compares each command's exit code, stdout and stderr with
// what Kapacitor 1.8.3 gave, times and statistics aside. The server
// answers bad writes as kapacitord does ([http] partial-writes =
// "kapacitor"), so that the counts the CLI prints later are the same.
func TestKapacitorCLIRecordedSession(t *testing.T) {
	cli := kapacitorCLI(t)
	sink := newSink(t)
	ts := startServer(t, t.TempDir(), func(c *config.Config) { c.HTTP.PartialWrites = "kapacitor" })
	tmp := t.TempDir()
	for _, f := range []string{"cpu_alert.tick", "cpu_alert_dbrp.tick", "tcp_cpu_handler.yaml", "template.tick", "vars.json"} {
		data := strings.ReplaceAll(readFile(t, "testdata/api/inputs/"+f), recordedSinkAddr, sink.addr)
		require.NoError(t, os.WriteFile(filepath.Join(tmp, f), []byte(data), 0o644))
	}
	step := regexp.MustCompile(`^# (\d\d_\w+): kapacitor (.*?)\s+-> exit (\d+)$`)
	writes := regexp.MustCompile(`^# (write_\w+): direct POSTs`)
	ran := 0
	for _, line := range readLines(t, "testdata/api/summary.txt") {
		if m := writes.FindStringSubmatch(line); m != nil {
			file := map[string]string{"write_kapacitor_v1": "06_write_kapacitor_v1", "write_influx_compat": "07_write_influx_compat"}[m[1]]
			require.NotEmpty(t, file, m[1])
			for _, x := range readExchanges(t, "testdata/api/"+file+".jsonl") {
				status, _, body := ts.do(x.Request.Method, x.Request.Path, nil, []byte(x.Request.Body))
				require.Equal(t, x.Response.Status, status, "%s %s: %s", file, x.Label, body)
			}
			continue
		}
		m := step.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name, args, wantCode := m[1], strings.Fields(m[2]), m[3]
		cmd := exec.Command(cli, args...)
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), "KAPACITOR_URL="+ts.url)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := "0"
		if ee, ok := err.(*exec.ExitError); ok {
			code = fmt.Sprint(ee.ExitCode())
		} else {
			require.NoError(t, err)
		}
		assert.Equal(t, wantCode, code, "%s: kapacitor %s: %s", name, m[2], stderr.String())
		got := strings.ReplaceAll(stdout.String(), sink.addr, recordedSinkAddr)
		assert.Equal(t, aside(readFile(t, "testdata/api/"+name+".out")), aside(got), "%s: kapacitor %s", name, m[2])
		if want, err := os.ReadFile("testdata/api/" + name + ".err"); err == nil {
			assert.Equal(t, string(want), stderr.String(), name)
		}
		ran++
	}
	require.Equal(t, 23, ran, "every recorded command ran")
}
