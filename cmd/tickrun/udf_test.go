package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildUDF builds a test UDF of pipeline/udf/testdata into dir.
func buildUDF(t *testing.T, dir, name string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	out, err := exec.Command("go", "build", "-o", bin, "../../pipeline/udf/testdata/"+name).CombinedOutput()
	require.NoError(t, err, "go build %s: %s", name, out)
	return bin
}

// A UDF from the command line: tickrun check probes it (and names one it
// cannot probe), tickrun run hands the points through it, and a UDF that
// dies mid-stream stops the run with `udf NAME exited: ...`.
func TestUDFCommands(t *testing.T) {
	dir := t.TempDir()
	movavg, bad := buildUDF(t, dir, "movavg"), buildUDF(t, dir, "badudf")
	conf := filepath.Join(dir, "kapacitor.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`[udf]
[udf.functions]
  [udf.functions.movavg]
    prog = %q
    timeout = "10s"
  [udf.functions.dying]
    prog = %q
    args = ["exit-after", "2", "3"]
    timeout = "10s"
`, movavg, bad)), 0o644))
	script := func(name, udf string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(`stream
    |from()
        .measurement('cpu')
    @`+udf+`()
        .field('v')
        .size(2)
        .as('avg')
    |alert()
        .crit(lambda: TRUE)
        .message('{{ index .Fields "avg" }}')
        .details('')
`), 0o644))
		return p
	}
	ok, dying := script("ok.tick", "movavg"), script("dying.tick", "dying")
	var stdout, stderr bytes.Buffer
	require.Equal(t, exitOK, run([]string{"check", "--config", conf, ok}, nil, &stdout, &stderr), stderr.String())
	assert.Equal(t, ok+": ok\n", stdout.String())

	stdout.Reset()
	stderr.Reset()
	assert.Equal(t, exitScript, run([]string{"check", ok}, nil, &stdout, &stderr))
	assert.Contains(t, stderr.String(), `no UDF named "movavg"`)

	stdout.Reset()
	stderr.Reset()
	in := strings.NewReader("cpu v=1 1000000000\ncpu v=3 2000000000\ncpu v=5 3000000000\n")
	require.Equal(t, exitOK, run([]string{"run", "--print", "--config", conf, ok}, in, &stdout, &stderr), stderr.String())
	var msgs []string
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		msgs = append(msgs, l[strings.Index(l, `"message":"`)+11:strings.Index(l, `","details"`)])
	}
	assert.Equal(t, []string{"2", "4"}, msgs)

	// dying rejects the options movavg takes: it has none.
	stdout.Reset()
	stderr.Reset()
	assert.Equal(t, exitScript, run([]string{"check", "--config", conf, dying}, nil, &stdout, &stderr))
	assert.Contains(t, stderr.String(), `no method or property "field" on dying`)
	require.NoError(t, os.WriteFile(dying, []byte("stream|from()@dying()|log()\n"), 0o644))
	stdout.Reset()
	stderr.Reset()
	var lines strings.Builder
	for i := range 50 {
		fmt.Fprintf(&lines, "cpu v=%d %d\n", i, (i+1)*1000000000)
	}
	code := run([]string{"run", "--config", conf, dying}, strings.NewReader(lines.String()), &stdout, &stderr)
	assert.Equal(t, exitFailed, code, stderr.String())
	assert.Contains(t, stderr.String(), "tickrun: udf dying exited: exit status 3")
}
