package udf

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pythonUDF starts testdata/pysock/scale.py, a UDF in plain Python 3 with
// hand-encoded messages (the machine has no protobuf module), serving a
// Unix socket in a temp dir, and returns the socket's config and the
// server's process.
func pythonUDF(t *testing.T) (Config, *exec.Cmd) {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the Python socket UDF cannot run")
	}
	dir, err := os.MkdirTemp("", "udfsock-") // short: socket paths are limited to 108 bytes
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "scale.sock")
	cmd := exec.Command(python, "-u", "testdata/pysock/scale.py", path)
	var stderr bytes.Buffer // read once the process has been waited for
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("scale.py's stderr:\n%s", stderr.String())
		}
	})
	// The socket file appears at bind, before listen: only a connection
	// tells that the server is up. The probe's connection closes at once,
	// which the server takes as a use that ended.
	deadline := time.Now().Add(waitLimit)
	for {
		if conn, err := net.Dial("unix", path); err == nil {
			conn.Close()
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("scale.py ended before listening: %v\n%s", err, stderr.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "scale.py did not listen within %s", waitLimit)
		time.Sleep(20 * time.Millisecond)
	}
	return Config{Socket: path, Timeout: 10 * time.Second}, cmd
}

func TestPythonSocketUDF(t *testing.T) {
	cfg, _ := pythonUDF(t)
	noLeaks(t)
	opts := []Option{{"field", []Value{StringValue("value")}}, {"factor", []Value{DoubleValue(2.5)}}}

	s := newSink()
	c := start(t, "scale", cfg, s)
	info, err := c.Info()
	require.NoError(t, err)
	assert.Equal(t, Info{Wants: StreamEdge, Provides: StreamEdge, Options: map[string][]ValueType{
		"field": {String}, "factor": {Double},
	}}, info)
	require.NoError(t, c.Init("task", "scale1", opts))
	tags := []Tag{{"host", "a"}, {"region", "é"}}
	for i := range 3 {
		require.NoError(t, c.WritePoint(pt(int64(i)-1, "host=a,region=é", tags,
			f("flag", BoolValue(true)), f("note", StringValue("n")), f("value", IntValue(int64(i*2))))))
	}
	snap, err := c.Snapshot()
	require.NoError(t, err)
	assert.Equal(t, "3", string(snap))
	require.NoError(t, c.Close())
	got, _, errs, _ := s.snapshot()
	assert.Empty(t, errs)
	require.Len(t, got, 3)
	for i, p := range got {
		want := pt(int64(i)-1, "host=a,region=é", tags,
			f("flag", BoolValue(true)), f("note", StringValue("n")),
			f("seen", IntValue(int64(i+1))), f("value", DoubleValue(float64(i*2)*2.5)))
		assert.Equal(t, want, p, "point %d", i)
	}

	// A second connection, restored, counts on; two uses at once are
	// independent.
	s2, s3 := newSink(), newSink()
	c2 := start(t, "scale", cfg, s2)
	c3 := start(t, "scale", cfg, s3)
	require.NoError(t, c2.Init("", "", opts))
	require.NoError(t, c3.Init("", "", opts))
	require.NoError(t, c2.Restore(snap))
	var wg sync.WaitGroup
	for _, c := range []*Client{c2, c3} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, c.WritePoint(pt(1, "", nil, f("value", DoubleValue(1)))))
		}()
	}
	wg.Wait()
	require.NoError(t, c2.Close())
	require.NoError(t, c3.Close())
	p2, _, _, _ := s2.snapshot()
	p3, _, _, _ := s3.snapshot()
	require.Len(t, p2, 1)
	require.Len(t, p3, 1)
	assert.Equal(t, Field{"seen", IntValue(4)}, p2[0].Fields[0])
	assert.Equal(t, Field{"seen", IntValue(1)}, p3[0].Fields[0])
}

func TestPythonSocketFailures(t *testing.T) {
	cfg, server := pythonUDF(t)
	noLeaks(t)

	c, err := Start("scale", cfg, Options{})
	require.NoError(t, err)
	assert.EqualError(t, c.Init("", "", nil), "udf scale: init failed: scale needs a field")
	c.Abort()

	s := newSink()
	c = start(t, "scale", cfg, s)
	require.NoError(t, c.Init("", "", []Option{{"field", []Value{StringValue("value")}}}))
	require.NoError(t, c.Restore([]byte("7")))
	require.NoError(t, c.WritePoint(pt(1, "", nil, f("other", DoubleValue(1)))))
	assert.EqualError(t, s.waitError(t), "udf scale: error: point has no field value")
	assert.ErrorIs(t, c.Close(), ErrReported)

	c = start(t, "scale", cfg, newSink())
	err = c.Restore([]byte("x"))
	assert.EqualError(t, err, `udf scale: restore failed: bad snapshot b'x'`)

	// The server goes away mid-stream.
	s = newSink()
	c = start(t, "scale", cfg, s)
	require.NoError(t, c.Init("", "", []Option{{"field", []Value{StringValue("value")}}}))
	require.NoError(t, c.WritePoint(pt(1, "", nil, f("value", DoubleValue(1)))))
	s.waitPoints(t, 1)
	require.NoError(t, server.Process.Kill())
	err = s.waitError(t)
	assert.ErrorIs(t, err, ErrConnection)
	assert.True(t, strings.HasPrefix(err.Error(), "udf scale: connection lost: "), err)
	assert.Equal(t, err, c.Close())
}
