package natsin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/server/cluster"
)

// startNATS starts an embedded nats-server with JetStream on a random
// port of 127.0.0.1.
func startNATS(tb testing.TB) *server.Server {
	tb.Helper()
	return startNATSAt(tb, tb.TempDir(), -1)
}

// startNATSAt starts it with its JetStream store in dir, on port.
func startNATSAt(tb testing.TB, dir string, port int) *server.Server {
	tb.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true,
	})
	require.NoError(tb, err)
	go s.Start()
	require.True(tb, s.ReadyForConnections(10*time.Second), "nats-server not ready")
	tb.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

func connect(tb testing.TB, s *server.Server) jetstream.JetStream {
	tb.Helper()
	nc, err := nats.Connect(s.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	require.NoError(tb, err)
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(tb, err)
	return js
}

// testLog sends the inputs' log lines to t.Logf while the test runs, and
// nowhere once it is over (a killed input's goroutines may still log).
type testLog struct {
	mu    sync.Mutex
	t     testing.TB
	over  bool
	lines []string
}

func newTestLog(t testing.TB) *testLog {
	l := &testLog{t: t}
	t.Cleanup(func() { l.mu.Lock(); l.over = true; l.mu.Unlock() })
	return l
}

func (l *testLog) logger(name string) func(string, ...any) {
	return func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, name+": "+msg)
		if !l.over {
			l.t.Logf("%s %s: %s", time.Now().Format("15:04:05.000"), name, msg)
		}
	}
}

func (l *testLog) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.lines {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

// node is an instance: an Input and its sink.
type node struct {
	name   string
	in     *Input
	sink   *fakeSink
	cancel context.CancelFunc
	done   chan error
}

func startNode(t *testing.T, s *server.Server, log *testLog, name string, cfg Config) *node {
	t.Helper()
	cfg.URLs = []string{s.ClientURL()}
	cfg.Instance = name
	in, err := New(cfg, WithLog(log.logger(name)))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{name: name, in: in, sink: newFakeSink(name), cancel: cancel, done: make(chan error, 1)}
	go func() { n.done <- in.Run(ctx, n.sink) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-n.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s: Run did not return", name)
		}
	})
	return n
}

// partitions returns the partitions among Owned.
func (n *node) partitions() []int32 {
	var ps []int32
	for _, id := range n.in.Owned() {
		if id != cluster.Global {
			ps = append(ps, id)
		}
	}
	return ps
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// balanced reports whether nodes own every partition once, each n of
// them, and the owner of partition 0 the Global shard.
func balanced(nodes []*node, each int) bool {
	seen := map[int32]bool{}
	for _, n := range nodes {
		owned := n.in.Owned()
		ps := n.partitions()
		if len(ps) != each {
			return false
		}
		has0 := len(ps) > 0 && ps[0] == 0
		hasG := len(owned) > 0 && owned[0] == cluster.Global
		if has0 != hasG {
			return false
		}
		for _, p := range ps {
			if seen[p] {
				return false
			}
			seen[p] = true
		}
	}
	return len(seen) == len(nodes)*each
}

func ownerOf(nodes []*node, p int32) *node {
	for _, n := range nodes {
		for _, q := range n.partitions() {
			if q == p {
				return n
			}
		}
	}
	return nil
}

// publisher publishes Telegraf-like messages: one to three lines of
// cpu,host=hNN value=<per-host counter>i, to telegraf.<host>.cpu.
type publisher struct {
	js     jetstream.JetStream
	hosts  int
	i      int
	values map[string]int64
}

func newPublisher(js jetstream.JetStream, hosts int) *publisher {
	return &publisher{js: js, hosts: hosts, values: map[string]int64{}}
}

func (p *publisher) publish(tb testing.TB) {
	host := fmt.Sprintf("h%02d", p.i%p.hosts)
	var b strings.Builder
	for k := 0; k <= p.i%3; k++ { // batch format: several lines a message
		p.values[host]++
		fmt.Fprintf(&b, "cpu,host=%s value=%di %d\n", host, p.values[host], 1700000000000000000+int64(p.i))
	}
	p.i++
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := p.js.Publish(ctx, "telegraf."+host+".cpu", []byte(b.String()))
	require.NoError(tb, err)
}

// publishFor publishes until stop is closed, every interval; done closes
// when it returns.
func (p *publisher) publishFor(tb testing.TB, every time.Duration, stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			p.publish(tb)
			time.Sleep(every)
		}
	}()
	return done
}

// stored is a message as the stream holds it.
type stored struct {
	seq  int64
	part int32
	data []byte
}

// readBack reads every partitioned message of the stream, in order.
func readBack(t *testing.T, js jetstream.JetStream, sch scheme) []stored {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, sch.stream)
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{sch.filter(-1)}})
	require.NoError(t, err)
	var out []stored
	for uint64(len(out)) < info.State.Msgs {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		require.NoError(t, err)
		md, err := m.Metadata()
		require.NoError(t, err)
		p, ok := sch.partition(m.Subject())
		require.True(t, ok, "stored subject %q", m.Subject())
		out = append(out, stored{int64(md.Sequence.Stream), p, m.Data()})
	}
	return out
}

// expected returns, per shard, the lines a single instance would have
// processed, and the last offset per partition.
func expected(msgs []stored) (map[int32][]rec, map[int32]int64) {
	lines := map[int32][]rec{}
	last := map[int32]int64{}
	for _, m := range msgs {
		for _, l := range bytes.Split(m.data, []byte("\n")) {
			if len(bytes.TrimSpace(l)) == 0 {
				continue
			}
			r := rec{m.part, m.seq, string(l)}
			lines[m.part] = append(lines[m.part], r)
			lines[cluster.Global] = append(lines[cluster.Global], r)
		}
		last[m.part] = m.seq
	}
	return lines, last
}

// stateOf is the state a single instance would have after recs.
func stateOf(recs []rec) fakeState {
	st := fakeState{Count: map[string]int{}, Last: map[string]int64{}}
	for _, r := range recs {
		h, v, _ := parseLine(r.line)
		st.Count[h]++
		st.Last[h] = v
	}
	return st
}

// caughtUp reports whether the owners of every shard have written every
// message of last.
func caughtUp(nodes []*node, last map[int32]int64) bool {
	for p, off := range last {
		o := ownerOf(nodes, p)
		if o == nil || o.sink.offset(p, p) < off {
			return false
		}
		g := ownerOf(nodes, 0)
		if g == nil || g.sink.offset(cluster.Global, p) < off {
			return false
		}
	}
	return true
}

// processed gathers, per shard, the lines that count as processed over
// sinks: those released, and of a killed sink those of its cuts that were
// stored (its last stored cut is the one the next owner restored).
func processed(t *testing.T, sinks []*fakeSink, killed map[string]bool) map[int32][]rec {
	t.Helper()
	storedCut := map[string]map[int32]int{}
	for _, s := range sinks {
		s.mu.Lock()
		for _, ev := range s.restores {
			if storedCut[ev.from] == nil {
				storedCut[ev.from] = map[int32]int{}
			}
			storedCut[ev.from][ev.shard] = max(storedCut[ev.from][ev.shard], ev.cut)
		}
		s.mu.Unlock()
	}
	got := map[int32][]rec{}
	for _, s := range sinks {
		s.mu.Lock()
		for shard, recs := range s.released {
			for i := 1; i < len(recs); i++ {
				if recs[i].off < recs[i-1].off {
					t.Errorf("%s: shard %d: released offset %d after %d", s.name, shard, recs[i].off, recs[i-1].off)
				}
			}
			got[shard] = append(got[shard], recs...)
		}
		if killed[s.name] {
			for _, b := range s.held {
				if b.cut <= storedCut[s.name][b.shard] {
					got[b.shard] = append(got[b.shard], b.recs...)
				}
			}
		}
		for _, e := range s.errs {
			t.Errorf("%s: %s", s.name, e)
		}
		s.mu.Unlock()
	}
	for _, recs := range got {
		sort.SliceStable(recs, func(i, j int) bool { return recs[i].off < recs[j].off })
	}
	return got
}

// checkExactlyOnce compares what was processed with what was published,
// shard by shard, and the final checkpoints with a single instance's state.
func checkExactlyOnce(t *testing.T, js jetstream.JetStream, cfg Config, msgs []stored, got map[int32][]rec) {
	t.Helper()
	want, last := expected(msgs)
	shards := []int32{cluster.Global}
	for p := int32(0); p < int32(cfg.Partitions); p++ {
		shards = append(shards, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, cfg.Bucket+"-checkpoints")
	require.NoError(t, err)
	for _, sh := range shards {
		w, g := want[sh], got[sh]
		if len(w) != len(g) {
			t.Errorf("shard %d: %d lines processed, %d published", sh, len(g), len(w))
		}
		for i := 0; i < min(len(w), len(g)); i++ {
			if w[i] != g[i] {
				t.Errorf("shard %d: line %d: got %+v, want %+v", sh, i, g[i], w[i])
				break
			}
		}
		key := globalKey
		if sh != cluster.Global {
			key = partKey(sh)
		}
		e, err := kv.Get(ctx, key)
		if len(w) == 0 && err != nil {
			continue
		}
		require.NoError(t, err, "checkpoint %s", key)
		cp, err := cluster.Decode(e.Value())
		require.NoError(t, err)
		var st fakeState
		require.NoError(t, json.Unmarshal(cp.State, &st))
		ws := stateOf(w)
		require.Equal(t, ws.Count, st.Count, "shard %d: final state: counts", sh)
		require.Equal(t, ws.Last, st.Last, "shard %d: final state: last values", sh)
		if sh == cluster.Global {
			require.Equal(t, last, cp.Offsets, "global offsets")
		} else {
			require.Equal(t, map[int32]int64{sh: last[sh]}, cp.Offsets, "shard %d offsets", sh)
		}
	}
}

// stopAll ends the nodes' Runs together and waits for them.
func stopAll(t *testing.T, nodes []*node) {
	t.Helper()
	for _, n := range nodes {
		n.cancel()
	}
	for _, n := range nodes {
		select {
		case err := <-n.done:
			require.NoError(t, err, n.name)
			n.done <- err // for the cleanup
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Run did not return", n.name)
		}
	}
}
