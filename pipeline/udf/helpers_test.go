package udf

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// binDir holds the test UDFs, built once per test binary.
var (
	binDir   string
	buildMu  sync.Mutex
	builtUDF = map[string]string{}
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "udf-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// program builds testdata/NAME (a main package) with go build, once, and
// returns the path of the binary.
func program(tb testing.TB, name string) string {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if path, ok := builtUDF[name]; ok {
		return path
	}
	path := filepath.Join(binDir, name)
	cmd := exec.Command("go", "build", "-o", path, "./testdata/"+name)
	out, err := cmd.CombinedOutput()
	require.NoError(tb, err, "go build %s: %s", name, out)
	builtUDF[name] = path
	return path
}

// waitLimit bounds every wait of the tests: a test that waits longer has
// found a hang. It is no assertion on how long things take.
const waitLimit = 60 * time.Second

// sink collects what a Client hands its callbacks.
type sink struct {
	mu      sync.Mutex
	points  []*Point
	batches []*Batch
	errs    []error
	logs    []string
	errAt   int // how many points and batches had come when the error did
	changed chan struct{}
}

func newSink() *sink { return &sink{changed: make(chan struct{}, 1)} }

func (s *sink) options() Options {
	return Options{
		OnPoint: func(p *Point) { s.update(func() { s.points = append(s.points, p) }) },
		OnBatch: func(b *Batch) { s.update(func() { s.batches = append(s.batches, b) }) },
		OnError: func(err error) {
			s.update(func() { s.errs = append(s.errs, err); s.errAt = len(s.points) + len(s.batches) })
		},
		Log: func(line string) { s.update(func() { s.logs = append(s.logs, line) }) },
	}
}

func (s *sink) update(f func()) {
	s.mu.Lock()
	f()
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// waitFor waits until cond holds, read under the sink's lock.
func (s *sink) waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok := cond()
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-s.changed:
		case <-deadline.C:
			tb.Fatalf("waited %s for %s", waitLimit, what)
		}
	}
}

func (s *sink) waitPoints(tb testing.TB, n int) []*Point {
	tb.Helper()
	s.waitFor(tb, fmt.Sprintf("%d points", n), func() bool { return len(s.points) >= n })
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Point(nil), s.points...)
}

func (s *sink) waitError(tb testing.TB) error {
	tb.Helper()
	s.waitFor(tb, "an error", func() bool { return len(s.errs) > 0 })
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errs[0]
}

func (s *sink) snapshot() (points []*Point, batches []*Batch, errs []error, logs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Point(nil), s.points...), append([]*Batch(nil), s.batches...),
		append([]error(nil), s.errs...), append([]string(nil), s.logs...)
}

// noLeaks fails the test if goroutines started during it are still running
// when it ends (after its own cleanups, which run first).
func noLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(waitLimit)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				n := runtime.Stack(buf, true)
				t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:n])
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// start starts a UDF for a test and aborts it at the end of the test.
func start(t *testing.T, name string, cfg Config, s *sink) *Client {
	t.Helper()
	c, err := Start(name, cfg, s.options())
	require.NoError(t, err)
	t.Cleanup(c.Abort)
	return c
}

// pt is a stream point for the tests.
func pt(ts int64, group string, tags []Tag, fields ...Field) *Point {
	return &Point{
		Name: "cpu", Database: "telegraf", RP: "autogen", Timestamp: ts,
		Tags: tags, Fields: fields, Group: group,
		Dims: Dimensions{TagNames: tagNames(tags)},
	}
}

func tagNames(tags []Tag) []string {
	var names []string
	for _, t := range tags {
		names = append(names, t.Key)
	}
	return names
}

func f(key string, v Value) Field { return Field{Key: key, Value: v} }

// errText renders an error for comparison, "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// hasLine tells whether some line contains sub.
func hasLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}
