package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// udfWait bounds every wait of the UDF tests: a test that waits longer
// has found a hang. It is no assertion on how long things take.
const udfWait = 60 * time.Second

var (
	udfBuildMu sync.Mutex
	udfBuilt   = map[string]string{}
	udfBinDir  string
)

// udfProgram builds the test UDF udf/testdata/NAME with go build, once per
// test binary, into a temp dir, and returns the binary's path.
func udfProgram(t *testing.T, name string) string {
	t.Helper()
	udfBuildMu.Lock()
	defer udfBuildMu.Unlock()
	if p, ok := udfBuilt[name]; ok {
		return p
	}
	if udfBinDir == "" {
		dir, err := os.MkdirTemp("", "pipeline-udf-")
		require.NoError(t, err)
		udfBinDir = dir
	}
	p := filepath.Join(udfBinDir, name)
	out, err := exec.Command("go", "build", "-o", p, "./udf/testdata/"+name).CombinedOutput()
	require.NoError(t, err, "go build %s: %s", name, out)
	udfBuilt[name] = p
	return p
}

// udfConf is a kapacitor.conf with [udf.functions.NAME] sections, each a
// TOML body.
func udfConf(t *testing.T, sections map[string]string) *kapconf.Config {
	t.Helper()
	var b strings.Builder
	b.WriteString("[udf]\n[udf.functions]\n")
	for name, body := range sections {
		fmt.Fprintf(&b, "[udf.functions.%s]\n%s\n", name, body)
	}
	c, err := kapconf.Parse("kapacitor.conf", []byte(b.String()))
	require.NoError(t, err)
	return c
}

// progSection is the TOML of a process UDF.
func progSection(prog string, timeout string, args ...string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = strconv.Quote(a)
	}
	return fmt.Sprintf("prog = %q\nargs = [%s]\ntimeout = %q\n", prog, strings.Join(quoted, ", "), timeout)
}

// events collects the JSON of the events a task sends.
type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) on(_ *pipeline.Event, payload []byte) {
	e.mu.Lock()
	e.list = append(e.list, string(payload))
	e.mu.Unlock()
}

func (e *events) get() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.list...)
}

// messages returns the "message" of every event.
func (e *events) messages() []string {
	var out []string
	for _, ev := range e.get() {
		i := strings.Index(ev, `"message":"`)
		j := strings.Index(ev[i+11:], `"`)
		out = append(out, ev[i+11:i+11+j])
	}
	return out
}

func compileUDF(t *testing.T, script string, conf *kapconf.Config, ev *events, log *syncBuffer) *pipeline.Task {
	t.Helper()
	opts := pipeline.Options{Config: conf, OnEvent: ev.on}
	if log != nil {
		opts.Log = log
	}
	task, err := pipeline.Compile("script", "script.tick", script, opts)
	require.NoError(t, err, "%s", task.ErrorText(err))
	return task
}

// syncBuffer is a log safe for the UDF goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func writeLines(t *testing.T, task *pipeline.Task, lines ...string) {
	t.Helper()
	_, err := task.WriteLineProtocol(strings.NewReader(strings.Join(lines, "\n")+"\n"), "telegraf", "autogen", "", nil)
	require.NoError(t, err)
}

const movavgScript = `stream
    |from()
        .measurement('cpu')
        .groupBy('host')
    @movavg()
        .field('usage')
        .size(3)
        .as('avg')
    |alert()
        .crit(lambda: "avg" > 50.0)
        .message('{{ .ID }} {{ .Level }} {{ index .Fields "avg" }} {{ .Time.Unix }}')
`

// The Go moving average: points go to the UDF, its averages come back
// grouped as they went, in order, and the last output arrives before
// Close returns.
func TestUDFMovingAverage(t *testing.T) {
	conf := udfConf(t, map[string]string{"movavg": progSection(udfProgram(t, "movavg"), "10s")})
	ev := &events{}
	task := compileUDF(t, movavgScript, conf, ev, nil)
	var lines []string
	for i, v := range []float64{10, 20, 90, 100, 110, 0, 0, 0} {
		lines = append(lines, fmt.Sprintf("cpu,host=a usage=%g %d", v, (int64(i)+1)*int64(time.Second)))
		lines = append(lines, fmt.Sprintf("cpu,host=b usage=%g %d", v+1, (int64(i)+1)*int64(time.Second)))
	}
	writeLines(t, task, lines...)
	require.NoError(t, task.Close(context.Background()))
	assert.Equal(t, []string{
		// (10+20+90)/3 = 40 is OK; (20+90+100)/3 = 70 is critical.
		"cpu:host=a CRITICAL 70 4", "cpu:host=b CRITICAL 71 4",
		"cpu:host=a CRITICAL 100 5", "cpu:host=b CRITICAL 101 5",
		"cpu:host=a CRITICAL 70 6", "cpu:host=b CRITICAL 71 6",
		"cpu:host=a OK 36.666666666666664 7", "cpu:host=b OK 37.666666666666664 7",
	}, ev.messages())
}

// The mirror, on batches: a window goes out as a batch and comes back as
// one, with the UDF's options as fields.
func TestUDFMirrorBatches(t *testing.T) {
	conf := udfConf(t, map[string]string{"mirror": progSection(udfProgram(t, "mirror"), "10s", "-batch", "-copies", "2")})
	ev := &events{}
	task := compileUDF(t, `stream
    |from()
        .measurement('cpu')
    |window()
        .period(2s)
        .every(2s)
    @mirror()
        .tag('team', 'web')
        .all(TRUE, 3, 2.5, 'x', 5s)
    |last('usage').as('usage')
    |alert()
        .crit(lambda: TRUE)
        .message('{{ index .Tags "team" }} {{ index .Fields "usage" }} {{ index .Fields "opt_int" }} {{ index .Fields "opt_duration" }} {{ index .Fields "opt_string" }} {{ .Time.Unix }}')
`, conf, ev, nil)
	var lines []string
	for i := range 7 {
		lines = append(lines, fmt.Sprintf("cpu usage=%d %d", i, int64(i)*int64(time.Second)))
	}
	writeLines(t, task, lines...)
	require.NoError(t, task.Close(context.Background()))
	// Windows end at 2, 4, 6; each comes back twice.
	assert.Equal(t, []string{"web 1 3 5000000000 x 2", "web 1 3 5000000000 x 2", "web 3 3 5000000000 x 4",
		"web 3 3 5000000000 x 4", "web 5 3 5000000000 x 6", "web 5 3 5000000000 x 6"}, ev.messages())
}

// The option calls are checked against the UDF's Info with Kapacitor's
// messages; a UDF that is not configured, cannot be probed, refuses its
// options or gets the wrong edge is an error at compile time.
func TestUDFBindErrors(t *testing.T) {
	movavg := udfProgram(t, "movavg")
	conf := udfConf(t, map[string]string{
		"movavg": progSection(movavg, "10s"),
		"gone":   progSection(filepath.Join(t.TempDir(), "no-such-program"), "10s"),
		"bad":    "prog = 'x'\nsocket = '/tmp/x'\ntimeout = '10s'\n",
	})
	for _, tc := range []struct{ name, script, want string }{
		{"type", "stream|from()@movavg().field('x').size('three')", "script.tick:1:35: unexpected arg to size, got STRING expected INT"},
		{"arity", "stream|from()@movavg().field('x', 'y').size(3)", "script.tick:1:24: unexpected number of args to field, got 2 expected 1"},
		{"unknown", "stream|from()@movavg().field('x').sizes(3)", `script.tick:1:35: no method or property "sizes" on movavg (did you mean "size"?)`},
		{"lambda", "stream|from()@movavg().field(lambda: \"x\")", "argument 1 of .field() must be a boolean, integer, float, string or duration, got a lambda"},
		{"not configured", "stream|from()@nope()", `script.tick:1:15: no UDF named "nope": it needs a [udf.functions.nope] section in kapacitor.conf`},
		{"cannot probe", "stream|from()@gone()", `script.tick:1:15: cannot probe UDF "gone": udf gone: start: fork/exec`},
		{"bad config", "stream|from()@bad()", "udf bad: [udf.functions.bad] of kapacitor.conf:"},
		{"edges", "stream|from()|window().period(1s).every(1s)@movavg().field('x').size(2)", "cannot add child mismatched edges: window2:batch -> movavg3:stream"},
		{"init refused", "stream|from()@movavg().size(3)", "script.tick:1:15: udf movavg: init failed: field must not be empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task, err := pipeline.Compile("script", "script.tick", tc.script, pipeline.Options{Config: conf})
			require.Error(t, err)
			assert.Contains(t, task.ErrorText(err), tc.want)
		})
	}
	// Without any kapacitor.conf (tickrun check without --config).
	task, err := pipeline.Compile("script", "script.tick", "stream|from()@movavg()", pipeline.Options{Config: &kapconf.Config{Lenient: true}})
	require.Error(t, err)
	assert.Contains(t, task.ErrorText(err), `no UDF named "movavg"`)
}

// A UDF served by a Python 3 program on a Unix socket.
func TestUDFPythonSocket(t *testing.T) {
	sock := pythonUDF(t)
	conf := udfConf(t, map[string]string{"scale": fmt.Sprintf("socket = %q\ntimeout = '10s'\n", sock)})
	ev := &events{}
	task := compileUDF(t, `stream
    |from()
        .measurement('cpu')
    @scale()
        .field('usage')
        .factor(2.5)
    |alert()
        .crit(lambda: "usage" > 10.0)
        .message('{{ index .Fields "usage" }} {{ index .Fields "seen" }}')
`, conf, ev, nil)
	writeLines(t, task, "cpu usage=2 1", "cpu usage=5i 2", "cpu usage=1 3")
	require.NoError(t, task.Close(context.Background()))
	assert.Equal(t, []string{"12.5 2", "2.5 3"}, ev.messages())
}

// pythonUDF starts udf/testdata/pysock/scale.py serving a socket in a temp
// dir and returns the socket's path.
func pythonUDF(t *testing.T) string {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the Python socket UDF cannot run")
	}
	dir, err := os.MkdirTemp("", "udfsock-") // socket paths are short
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "scale.sock")
	cmd := exec.Command(python, "-u", "udf/testdata/pysock/scale.py", path)
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	deadline := time.Now().Add(udfWait)
	for {
		if conn, err := net.Dial("unix", path); err == nil {
			conn.Close()
			return path
		}
		select {
		case err := <-exited:
			t.Fatalf("scale.py ended before listening: %v", err)
		default:
		}
		require.True(t, time.Now().Before(deadline), "scale.py did not listen")
		time.Sleep(20 * time.Millisecond)
	}
}

// A UDF killed mid-stream stops its task with `udf NAME exited: ...`;
// a second task sharing the alert registry goes on, and nothing hangs.
func TestUDFKilledMidStream(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The shell writes its pid and becomes the UDF (exec keeps the pid).
	wrapper := fmt.Sprintf("prog = '/bin/sh'\nargs = ['-c', 'echo $$ > %s; exec %s']\ntimeout = '10s'\n", pidFile, udfProgram(t, "movavg"))
	conf := udfConf(t, map[string]string{"movavg": wrapper})
	reg := alert.NewRegistry(nil)
	defer reg.Close(context.Background())
	ev1, ev2 := &events{}, &events{}
	log := &syncBuffer{}
	opts := pipeline.Options{Config: conf, OnEvent: ev1.on, Alerts: reg, Log: log}
	t1, err := pipeline.Compile("t1", "t1.tick", movavgScript, opts)
	require.NoError(t, err, "%s", t1.ErrorText(err))
	opts.OnEvent = ev2.on
	t2, err := pipeline.Compile("t2", "t2.tick", `stream|from().measurement('cpu')|alert().crit(lambda: "usage" > 50.0).message('{{ .Level }} {{ .Time.Unix }}')`, opts)
	require.NoError(t, err)

	writeLines(t, t1, "cpu,host=a usage=10 1000000000", "cpu,host=a usage=20 2000000000", "cpu,host=a usage=90 3000000000", "cpu,host=a usage=100 4000000000")
	waitUDF(t, "the UDF's first averages", func() bool { return len(ev1.get()) >= 1 })
	pid, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	n, err := strconv.Atoi(strings.TrimSpace(string(pid)))
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(n, syscall.SIGKILL))

	// The task stops: writes fail with the UDF's error, soon.
	var werr error
	waitUDF(t, "the task to stop", func() bool {
		werr = t1.WritePoint(&pipeline.Point{Name: "cpu", Database: "telegraf", RP: "autogen", Timestamp: 5,
			Fields: []pipeline.Field{{Key: "usage", Value: floatValue(1)}}})
		return werr != nil
	})
	assert.Equal(t, "udf movavg exited: signal: killed", werr.Error())
	assert.Equal(t, werr, t1.Err())
	assert.ErrorIs(t, t1.Close(context.Background()), werr)
	assert.Contains(t, log.String(), "task t1 stopped: udf movavg exited: signal: killed")

	// The other task goes on.
	writeLines(t, t2, "cpu,host=a usage=90 10000000000", "cpu,host=a usage=10 11000000000")
	require.NoError(t, t2.Close(context.Background()))
	assert.Equal(t, []string{"CRITICAL 10", "OK 11"}, ev2.messages())
}

// A UDF that stops answering, one that writes garbage and one that exits
// on its own each stop their task with their error, never the process.
func TestUDFFailures(t *testing.T) {
	bad := udfProgram(t, "badudf")
	for _, tc := range []struct{ mode, timeout, want string }{
		{"hang-after 2", "300ms", "udf bad: "},
		{"garbage-after 2", "10s", "udf bad: bad message"},
		{"exit-after 2 3", "10s", "udf bad exited: exit status 3"},
	} {
		t.Run(strings.Fields(tc.mode)[0], func(t *testing.T) {
			conf := udfConf(t, map[string]string{"bad": progSection(bad, tc.timeout, strings.Fields(tc.mode)...)})
			task := compileUDF(t, "stream|from()@bad()|log()", conf, &events{}, &syncBuffer{})
			var err error
			waitUDF(t, "the task to stop", func() bool {
				err = task.WritePoint(&pipeline.Point{Name: "cpu", Database: "telegraf", RP: "autogen", Timestamp: 1,
					Fields: []pipeline.Field{{Key: "usage", Value: floatValue(1)}}})
				return err != nil
			})
			assert.Contains(t, err.Error(), tc.want)
			assert.ErrorIs(t, task.Close(context.Background()), err)
		})
	}
}

// Snapshot and Restore: a task's UDF state goes into a later task.
func TestUDFSnapshotRestore(t *testing.T) {
	conf := udfConf(t, map[string]string{"movavg": progSection(udfProgram(t, "movavg"), "10s")})
	ev := &events{}
	t1 := compileUDF(t, movavgScript, conf, ev, nil)
	writeLines(t, t1, "cpu,host=a usage=100 1000000000", "cpu,host=a usage=100 2000000000")
	snaps, err := t1.SnapshotUDFs()
	require.NoError(t, err)
	require.Equal(t, []string{"movavg2"}, keys(snaps))
	assert.JSONEq(t, `{"host=a":[100,100]}`, string(snaps["movavg2"]))
	require.NoError(t, t1.Close(context.Background()))
	assert.Empty(t, ev.get(), "two values do not fill a window of 3")

	t2, err := pipeline.Compile("script", "script.tick", movavgScript, pipeline.Options{Config: conf, OnEvent: ev.on, UDFRestore: snaps})
	require.NoError(t, err, "%s", t2.ErrorText(err))
	writeLines(t, t2, "cpu,host=a usage=70 3000000000")
	require.NoError(t, t2.Close(context.Background()))
	assert.Equal(t, []string{"cpu:host=a CRITICAL 90 3"}, ev.messages())

	_, err = pipeline.Compile("script", "script.tick", movavgScript, pipeline.Options{Config: conf,
		UDFRestore: map[string][]byte{"movavg2": []byte("not json")}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "udf movavg: restore failed: bad snapshot")
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func waitUDF(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(udfWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", udfWait, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func floatValue(f float64) eval.Value { return eval.FloatValue(f) }
