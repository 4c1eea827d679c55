package udf

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// procConfig is a process UDF with a generous timeout: only the tests of
// timeouts make it short.
func procConfig(t testing.TB, name string, args ...string) Config {
	return Config{Prog: program(t, name), Args: args, Timeout: 10 * time.Second}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"prog", Config{Prog: "x", Timeout: time.Second}, ""},
		{"socket", Config{Socket: "/tmp/s", Timeout: time.Second}, ""},
		{"no timeout", Config{Prog: "x"}, "timeout is too small: 0s"},
		{"1ms", Config{Prog: "x", Timeout: time.Millisecond}, "timeout is too small: 1ms"},
		{"neither", Config{Timeout: time.Second}, "must set either prog or socket"},
		{"both", Config{Prog: "x", Socket: "/tmp/s", Timeout: time.Second}, "both socket and process config provided"},
		{"socket with env", Config{Socket: "/tmp/s", Env: map[string]string{"A": "b"}, Timeout: time.Second}, "both socket and process config provided"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.err, errText(tc.cfg.Validate()))
		})
	}
	_, err := Start("f", Config{Prog: "x"}, Options{})
	assert.EqualError(t, err, "udf f: timeout is too small: 0s")
}

func TestCheckOption(t *testing.T) {
	info := Info{Options: map[string][]ValueType{"size": {Int}, "pair": {String, Duration}}}
	tests := []struct {
		opt Option
		err string
	}{
		{Option{"size", []Value{IntValue(3)}}, ""},
		{Option{"pair", []Value{StringValue("a"), DurationValue(time.Second)}}, ""},
		{Option{"sise", []Value{IntValue(3)}}, "no option exists named sise"},
		{Option{"size", nil}, "unexpected number of args to size, got 0 expected 1"},
		{Option{"size", []Value{StringValue("3")}}, "unexpected arg to size, got STRING expected INT"},
		{Option{"pair", []Value{StringValue("a"), IntValue(1)}}, "unexpected arg to pair, got INT expected DURATION"},
	}
	for _, tc := range tests {
		t.Run(tc.opt.Name+fmt.Sprint(tc.opt.Values), func(t *testing.T) {
			assert.Equal(t, tc.err, errText(info.CheckOption(tc.opt)))
		})
	}
}

func TestMirrorStream(t *testing.T) {
	noLeaks(t)
	s := newSink()
	c := start(t, "mirror", procConfig(t, "mirror"), s)

	info, err := c.Info()
	require.NoError(t, err)
	assert.Equal(t, Info{Wants: StreamEdge, Provides: StreamEdge, Options: map[string][]ValueType{
		"tag": {String, String},
		"all": {Bool, Int, Double, String, Duration},
	}}, info)

	opts := []Option{
		{"tag", []Value{StringValue("dc"), StringValue("eu")}},
		{"tag", []Value{StringValue("rack"), StringValue("r1")}},
		{"all", []Value{BoolValue(true), IntValue(-7), DoubleValue(2.5), StringValue("é"), DurationValue(90 * time.Second)}},
	}
	for _, o := range opts {
		require.NoError(t, info.CheckOption(o))
	}
	require.NoError(t, c.Init("task1", "mirror2", opts))

	const n = 200
	var want []*Point
	for i := range n {
		p := pt(int64(i)*1e9, "host=a", []Tag{{"host", "a"}},
			f("b", BoolValue(i%2 == 0)), f("i", IntValue(int64(-i))), f("s", StringValue(strings.Repeat("x", i%5))), f("v", DoubleValue(float64(i)/3)))
		require.NoError(t, c.WritePoint(p))
		w := *p
		w.Tags = []Tag{{"dc", "eu"}, {"host", "a"}, {"rack", "r1"}, {"task", "task1/mirror2"}}
		w.Fields = []Field{
			f("b", BoolValue(i%2 == 0)), f("i", IntValue(int64(-i))),
			f("opt_bool", BoolValue(true)), f("opt_double", DoubleValue(2.5)),
			f("opt_duration", IntValue(int64(90*time.Second))), f("opt_int", IntValue(-7)),
			f("opt_string", StringValue("é")),
			f("s", StringValue(strings.Repeat("x", i%5))), f("v", DoubleValue(float64(i)/3)),
		}
		want = append(want, &w)
	}
	require.NoError(t, c.Close())
	got, _, errs, _ := s.snapshot()
	assert.Empty(t, errs)
	require.Len(t, got, n, "Close returns once every output has been delivered")
	for i := range got {
		require.Equal(t, want[i], got[i], "point %d", i)
	}
	assert.EqualError(t, c.WritePoint(pt(0, "", nil)), "udf mirror: closed")
	_, err = c.Info()
	assert.ErrorIs(t, err, ErrClosed)
	assert.NoError(t, c.Close(), "a second Close returns the same")
	<-c.Done()
}

// A UDF may send any number of points per point it gets.
func TestMirrorCopies(t *testing.T) {
	noLeaks(t)
	s := newSink()
	c := start(t, "mirror", procConfig(t, "mirror", "-copies", "3"), s)
	require.NoError(t, c.Init("", "", nil))
	for i := range 10 {
		require.NoError(t, c.WritePoint(pt(int64(i), "", nil, f("v", IntValue(int64(i))))))
	}
	got := s.waitPoints(t, 30)
	for i, p := range got {
		assert.Equal(t, int64(i/3), p.Timestamp)
	}
	require.NoError(t, c.Close())
	got, _, _, _ = s.snapshot()
	assert.Len(t, got, 30)
}

func TestMirrorEnvAndArgs(t *testing.T) {
	noLeaks(t)
	s := newSink()
	cfg := procConfig(t, "mirror", "-env", "MIRROR_TAG")
	cfg.Env = map[string]string{"MIRROR_TAG": "from-config"}
	c := start(t, "mirror", cfg, s)
	require.NoError(t, c.Init("", "", nil))
	require.NoError(t, c.WritePoint(pt(5, "", nil, f("v", DoubleValue(1)))))
	require.NoError(t, c.Close())
	got, _, _, _ := s.snapshot()
	require.Len(t, got, 1)
	assert.Equal(t, []Tag{{"env", "from-config"}}, got[0].Tags)
}

func TestMirrorBatch(t *testing.T) {
	noLeaks(t)
	s := newSink()
	c := start(t, "mirror", procConfig(t, "mirror", "-batch"), s)
	info, err := c.Info()
	require.NoError(t, err)
	assert.Equal(t, BatchEdge, info.Wants)
	assert.Equal(t, BatchEdge, info.Provides)
	require.NoError(t, c.Init("", "", nil))
	var want []*Batch
	for i := range 3 {
		b := &Batch{
			Name: "cpu", Group: fmt.Sprintf("host=h%d", i), Tags: []Tag{{"host", fmt.Sprintf("h%d", i)}},
			Dims: Dimensions{ByName: true, TagNames: []string{"host"}}, TMax: int64(i+1) * 1e9,
		}
		for j := range i + 2 {
			b.Points = append(b.Points, Point{
				Timestamp: int64(i)*1e9 + int64(j), Tags: b.Tags,
				Fields: []Field{f("v", DoubleValue(float64(j)))},
			})
		}
		require.NoError(t, c.WriteBatch(b))
		// What comes back: batch points carry their group, as sent.
		w := *b
		w.Points = nil
		for _, p := range b.Points {
			p.Group = b.Group
			w.Points = append(w.Points, p)
		}
		want = append(want, &w)
	}
	require.NoError(t, c.Close())
	_, got, errs, _ := s.snapshot()
	assert.Empty(t, errs)
	assert.Equal(t, want, got)
}

func TestInitRefused(t *testing.T) {
	noLeaks(t)
	s := newSink()
	c := start(t, "mirror", procConfig(t, "mirror"), s)
	err := c.Init("t", "n", []Option{{"tag", []Value{StringValue(""), StringValue("x")}}})
	assert.EqualError(t, err, "udf mirror: init failed: tag key must not be empty")
	assert.ErrorIs(t, err, ErrInit)
	assert.Equal(t, err, s.waitError(t), "OnError gets the same failure")
	assert.Equal(t, err, c.Close())
	assert.Equal(t, err, c.WritePoint(pt(0, "", nil)), "later calls return the failure")
}

func TestMovingAverageStream(t *testing.T) {
	noLeaks(t)
	s := newSink()
	c := start(t, "movavg", procConfig(t, "movavg"), s)
	require.NoError(t, c.Init("", "", []Option{
		{"field", []Value{StringValue("value")}}, {"size", []Value{IntValue(3)}}, {"as", []Value{StringValue("mean")}},
	}))
	// Two groups, interleaved: a gets 1..6, b gets 10, 20, 30, 40 (ints).
	a := []Tag{{"host", "a"}}
	b := []Tag{{"host", "b"}}
	ts := int64(0)
	for i := 1; i <= 6; i++ {
		ts++
		require.NoError(t, c.WritePoint(pt(ts, "host=a", a, f("value", DoubleValue(float64(i))))))
		if i <= 4 {
			ts++
			require.NoError(t, c.WritePoint(pt(ts, "host=b", b, f("value", IntValue(int64(i*10))))))
		}
	}
	require.NoError(t, c.Close())
	got, _, _, _ := s.snapshot()
	type avg struct {
		group string
		mean  float64
	}
	var means []avg
	for _, p := range got {
		require.Len(t, p.Fields, 1)
		assert.Equal(t, "mean", p.Fields[0].Key)
		means = append(means, avg{p.Group, p.Fields[0].Value.Double})
	}
	assert.Equal(t, []avg{{"host=a", 2}, {"host=b", 20}, {"host=a", 3}, {"host=b", 30}, {"host=a", 4}, {"host=a", 5}}, means)
}

func TestMovingAverageBatch(t *testing.T) {
	noLeaks(t)
	s := newSink()
	c := start(t, "movavg", procConfig(t, "movavg", "-batch"), s)
	require.NoError(t, c.Init("", "", []Option{{"field", []Value{StringValue("v")}}, {"size", []Value{IntValue(2)}}}))
	batch := func(tmax int64, values ...float64) *Batch {
		bt := &Batch{Name: "m", Group: "", TMax: tmax}
		for i, v := range values {
			bt.Points = append(bt.Points, Point{Timestamp: tmax - int64(len(values)-i), Fields: []Field{f("v", DoubleValue(v))}})
		}
		return bt
	}
	require.NoError(t, c.WriteBatch(batch(10, 1, 3, 5)))
	require.NoError(t, c.WriteBatch(batch(20, 7)))
	require.NoError(t, c.WriteBatch(batch(30)))
	require.NoError(t, c.Close())
	_, got, errs, _ := s.snapshot()
	assert.Empty(t, errs)
	require.Len(t, got, 3)
	var out [][]float64
	for _, bt := range got {
		var vs []float64
		for _, p := range bt.Points {
			vs = append(vs, p.Fields[0].Value.Double)
		}
		out = append(out, vs)
	}
	// The window goes on across batches: 1,3 → 2; 3,5 → 4; 5,7 → 6.
	assert.Equal(t, [][]float64{{2, 4}, {6}, nil}, out)
	assert.Equal(t, []int64{10, 20, 30}, []int64{got[0].TMax, got[1].TMax, got[2].TMax})
}

func TestMovingAverageSnapshotRestore(t *testing.T) {
	noLeaks(t)
	opts := []Option{{"field", []Value{StringValue("v")}}, {"size", []Value{IntValue(3)}}}
	write := func(c *Client, values ...float64) {
		for _, v := range values {
			require.NoError(t, c.WritePoint(pt(1, "g", nil, f("v", DoubleValue(v)))))
		}
	}
	s1 := newSink()
	c1 := start(t, "movavg", procConfig(t, "movavg"), s1)
	require.NoError(t, c1.Init("", "", opts))
	write(c1, 1, 2)
	snap, err := c1.Snapshot()
	require.NoError(t, err)
	var state map[string][]float64
	require.NoError(t, json.Unmarshal(snap, &state))
	assert.Equal(t, map[string][]float64{"g": {1, 2}}, state)
	require.NoError(t, c1.Close())
	got, _, _, _ := s1.snapshot()
	assert.Empty(t, got, "the window was not full yet")

	// A new process restored from the snapshot goes on where it was.
	s2 := newSink()
	c2 := start(t, "movavg", procConfig(t, "movavg"), s2)
	require.NoError(t, c2.Init("", "", opts))
	require.NoError(t, c2.Restore(snap))
	write(c2, 6)
	require.NoError(t, c2.Close())
	got, _, _, _ = s2.snapshot()
	require.Len(t, got, 1)
	assert.Equal(t, 3.0, got[0].Fields[0].Value.Double)

	s3 := newSink()
	c3 := start(t, "movavg", procConfig(t, "movavg"), s3)
	require.NoError(t, c3.Init("", "", opts))
	err = c3.Restore([]byte("{not json"))
	assert.ErrorIs(t, err, ErrRestore)
	assert.True(t, strings.HasPrefix(errText(err), "udf movavg: restore failed: bad snapshot: "), err)
}

// What the protocol cannot carry is an error of the call, not a failure.
func TestUnencodableValues(t *testing.T) {
	c, err := Start("mirror", procConfig(t, "mirror"), Options{})
	require.NoError(t, err)
	defer c.Abort()
	err = c.Init("", "", []Option{{"x", []Value{{Type: ValueType(9)}}}})
	assert.EqualError(t, err, "udf mirror: option x: value of unknown type 9")
	assert.NoError(t, c.Err(), "a value the host cannot encode does not fail the UDF")
	assert.EqualError(t, c.WritePoint(pt(0, "", nil, f("d", DurationValue(1)))),
		"udf mirror: field d has type DURATION, which a point cannot carry")
	assert.EqualError(t, c.WritePoint(pt(0, "", []Tag{{"k", "\xff"}})), "udf mirror: string field contains invalid UTF-8")
	require.NoError(t, c.WritePoint(pt(0, "", nil)), "the bad point left nothing half-written behind")
	assert.NoError(t, c.Err())
}

func TestProbe(t *testing.T) {
	noLeaks(t)
	info, err := Probe("movavg", procConfig(t, "movavg", "-batch"), Options{})
	require.NoError(t, err)
	assert.Equal(t, Info{Wants: BatchEdge, Provides: BatchEdge, Options: map[string][]ValueType{
		"field": {String}, "size": {Int}, "as": {String},
	}}, info)
	_, err = Probe("bad", procConfig(t, "badudf", "exit-now", "4"), Options{})
	assert.EqualError(t, err, "udf bad exited: exit status 4")
}

// Every way a UDF can fail ends in one error naming it, delivered to
// OnError after what came before it, returned by Close, with no goroutine
// left behind.
func TestFailures(t *testing.T) {
	const short = time.Second
	tests := []struct {
		name    string
		args    []string
		timeout time.Duration
		points  int    // points written after Info and Init
		skipReq bool   // write no Info nor Init
		err     string // the whole message, or its prefix when prefix is set
		prefix  bool
		is      error
		echoed  int    // points sent back before the failure
		stderr  string // in Error.Stderr
	}{
		{name: "exits mid-stream", args: []string{"exit-after", "3", "1"}, points: 10,
			err: "udf bad exited: exit status 1", echoed: 3, stderr: "badudf: dying after 3 points"},
		{name: "exits at once", args: []string{"exit-now", "2"}, err: "udf bad exited: exit status 2", stderr: "badudf: giving up at once"},
		{name: "hangs", args: []string{"hang-after", "2"}, timeout: short, points: 5,
			err: "udf bad: keepalive timeout after 1s", is: ErrTimeout, echoed: 2},
		{name: "garbage", args: []string{"garbage-after", "1"}, points: 3,
			err: "udf bad: bad message: ", prefix: true, is: ErrBadMessage, echoed: 1},
		{name: "huge length", args: []string{"huge-after", "1"}, points: 3,
			err: "udf bad: bad message: message of 1099511627776 bytes is over the 67108864 byte limit", is: ErrBadMessage, echoed: 1},
		{name: "garbage then exit 0", args: []string{"garbage-exit"}, skipReq: true,
			err: "udf bad: bad message: cut short: 21 of 104 bytes", is: ErrBadMessage},
		{name: "error answer", args: []string{"error-after", "2"}, points: 5,
			err: "udf bad: error: boom at point 3", is: ErrReported, echoed: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			cfg := procConfig(t, "badudf", tc.args...)
			if tc.timeout != 0 {
				cfg.Timeout = tc.timeout
			}
			s := newSink()
			c := start(t, "bad", cfg, s)
			var callErr error
			if !tc.skipReq {
				if _, callErr = c.Info(); callErr == nil {
					callErr = c.Init("", "", nil)
				}
			}
			for i := 0; i < tc.points && callErr == nil; i++ {
				callErr = c.WritePoint(pt(int64(i), "", nil, f("v", IntValue(int64(i)))))
			}
			err := s.waitError(t)
			if tc.prefix {
				assert.True(t, strings.HasPrefix(err.Error(), tc.err), "%q has no prefix %q", err, tc.err)
			} else {
				assert.EqualError(t, err, tc.err)
			}
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, "bad", e.Name)
			if tc.stderr != "" {
				assert.Contains(t, e.Stderr, tc.stderr)
			}
			if callErr != nil {
				assert.Equal(t, err, callErr, "a call that failed returns the failure")
			}
			assert.Equal(t, err, c.Close())
			<-c.Done()
			points, _, errs, logs := s.snapshot()
			assert.Len(t, errs, 1, "OnError is called once")
			assert.Len(t, points, tc.echoed, "points sent before the failure are delivered")
			assert.Equal(t, tc.echoed, s.errAt, "and delivered before the error")
			if tc.stderr != "" {
				assert.True(t, hasLine(logs, tc.stderr), "stderr is logged: %q", logs)
			}
		})
	}
}

func TestSilentUDFTimesOut(t *testing.T) {
	noLeaks(t)
	cfg := procConfig(t, "badudf", "silent")
	cfg.Timeout = 300 * time.Millisecond
	s := newSink()
	c := start(t, "bad", cfg, s)
	_, err := c.Info()
	// Both watches fire after one timeout; either message is right.
	assert.Regexp(t, `^udf bad: (info|keepalive) timeout after 300ms$`, errText(err))
	assert.ErrorIs(t, err, ErrTimeout)
	assert.Equal(t, err, s.waitError(t))
}

// A UDF that stops reading: writes wait for room, then fail once the
// timeout passes; they do not block forever.
func TestStuckUDFWritesEnd(t *testing.T) {
	noLeaks(t)
	cfg := procConfig(t, "badudf", "hang-after", "0")
	cfg.Timeout = time.Second
	s := newSink()
	c := start(t, "bad", cfg, s)
	require.NoError(t, c.Init("", "", nil))
	big := pt(0, "", nil, f("s", StringValue(strings.Repeat("x", 4096))))
	var err error
	for i := 0; err == nil; i++ {
		err = c.WritePoint(big)
		require.Less(t, i, 1<<20, "a megabyte of points went into a UDF that reads nothing")
	}
	assert.ErrorIs(t, err, ErrTimeout)
	assert.Regexp(t, `^udf bad: (keepalive|write) timeout after 1s$`, err.Error())
	assert.Equal(t, err, c.Close())
}

// Kapacitor gives a UDF twice its timeout to end after its input closes.
func TestLingeringUDF(t *testing.T) {
	noLeaks(t)
	cfg := procConfig(t, "badudf", "linger")
	cfg.Timeout = time.Second
	s := newSink()
	c := start(t, "bad", cfg, s)
	require.NoError(t, c.Init("", "", nil))
	require.NoError(t, c.WritePoint(pt(1, "", nil)))
	err := c.Close()
	assert.EqualError(t, err, "udf bad: shutdown timeout after 2s")
	assert.Len(t, s.waitPoints(t, 1), 1, "its output before that is delivered")
}

// A UDF sends points whenever it likes, not only in answer to one.
func TestSpontaneousPoints(t *testing.T) {
	noLeaks(t)
	s := newSink()
	c := start(t, "bad", procConfig(t, "badudf", "spontaneous", "5"), s)
	require.NoError(t, c.Init("", "", nil))
	got := s.waitPoints(t, 5)
	for i, p := range got {
		assert.Equal(t, []Field{f("i", IntValue(int64(i)))}, p.Fields)
	}
	require.NoError(t, c.Close())
}

func TestUnaskedAnswerIsLogged(t *testing.T) {
	noLeaks(t)
	s := newSink()
	c := start(t, "bad", procConfig(t, "badudf", "unasked"), s)
	require.NoError(t, c.Init("", "", nil))
	require.NoError(t, c.WritePoint(pt(1, "", nil)))
	require.NoError(t, c.WritePoint(pt(2, "", nil)))
	require.NoError(t, c.Close())
	points, _, _, logs := s.snapshot()
	assert.Len(t, points, 2)
	assert.True(t, hasLine(logs, "udf bad: dropped an unrequested init answer"), "%q", logs)
}

// A UDF killed mid-stream fails its own Client; another use of the same
// UDF goes on (issue 14: the other tasks of a serve go on).
func TestIssue14KilledMidStream(t *testing.T) {
	noLeaks(t)
	s1, s2 := newSink(), newSink()
	c1 := start(t, "mirror", procConfig(t, "mirror"), s1)
	c2 := start(t, "mirror", procConfig(t, "mirror"), s2)
	require.NoError(t, c1.Init("", "", nil))
	require.NoError(t, c2.Init("", "", nil))
	for i := range 5 {
		require.NoError(t, c1.WritePoint(pt(int64(i), "", nil)))
	}
	s1.waitPoints(t, 5)
	require.NoError(t, c1.t.(*process).cmd.Process.Signal(syscall.SIGKILL))
	err := s1.waitError(t)
	assert.EqualError(t, err, "udf mirror exited: signal: killed")
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.True(t, e.Exited)
	assert.Equal(t, err, c1.WritePoint(pt(9, "", nil)))

	for i := range 5 {
		require.NoError(t, c2.WritePoint(pt(int64(i), "", nil)))
	}
	require.NoError(t, c2.Close())
	got, _, errs, _ := s2.snapshot()
	assert.Len(t, got, 5)
	assert.Empty(t, errs)
}

// A callback may abort its own Client, and Abort drops what is left.
func TestAbortFromCallback(t *testing.T) {
	noLeaks(t)
	var c *Client
	got := make(chan int64, 100)
	var o Options
	o.OnPoint = func(p *Point) {
		got <- p.Timestamp
		if p.Timestamp == 3 {
			c.Abort()
		}
	}
	c, err := Start("mirror", procConfig(t, "mirror"), o)
	require.NoError(t, err)
	require.NoError(t, c.Init("", "", nil))
	for i := range 10 {
		if err := c.WritePoint(pt(int64(i), "", nil)); err != nil {
			assert.ErrorIs(t, err, ErrClosed)
			break
		}
	}
	<-c.Done()
	assert.NoError(t, c.Err(), "Abort is no failure")
	assert.NoError(t, c.Close())
	close(got)
	var ts []int64
	for x := range got {
		ts = append(ts, x)
	}
	assert.Equal(t, []int64{0, 1, 2, 3}, ts)
}

func TestStartErrors(t *testing.T) {
	_, err := Start("nope", Config{Prog: "/nonexistent/udf", Timeout: time.Second}, Options{})
	assert.EqualError(t, err, "udf nope: start: fork/exec /nonexistent/udf: no such file or directory")
	_, err = Start("sock", Config{Socket: "/nonexistent/udf.sock", Timeout: time.Second}, Options{})
	assert.EqualError(t, err, "udf sock: connect: dial unix /nonexistent/udf.sock: connect: no such file or directory")
	var e *Error
	assert.True(t, errors.As(err, &e))
}

// An idle UDF that answers keepalives stays up past many timeouts: the Go
// agent's answers and the Python UDF's hand-encoded ones both count.
func TestKeepaliveKeepsIdleUDFAlive(t *testing.T) {
	for _, name := range []string{"mirror", "scale"} {
		t.Run(name, func(t *testing.T) {
			var cfg Config
			opts := []Option(nil)
			if name == "scale" {
				cfg, _ = pythonUDF(t)
				opts = []Option{{"field", []Value{StringValue("v")}}}
			} else {
				cfg = procConfig(t, "mirror")
			}
			noLeaks(t)
			cfg.Timeout = time.Second
			s := newSink()
			c := start(t, name, cfg, s)
			require.NoError(t, c.Init("", "", opts))
			// Idle: only keepalives go back and forth, one every half
			// timeout; wait for six answers, three timeouts' worth.
			base := c.seen.Load()
			deadline := time.Now().Add(waitLimit)
			for c.seen.Load() < base+6 && c.Err() == nil && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			require.NoError(t, c.Err())
			require.GreaterOrEqual(t, c.seen.Load(), base+6, "keepalive answers")
			require.NoError(t, c.WritePoint(pt(1, "", nil, f("v", DoubleValue(1)))))
			require.NoError(t, c.Close())
			assert.Len(t, s.waitPoints(t, 1), 1)
		})
	}
}
