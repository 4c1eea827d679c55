package kafkain

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tickrun/tickrun/server/cluster"
)

const testTopic = "telegraf"

// newCluster starts an in-process Kafka with the topic of 6 partitions.
// kfake refuses session timeouts under 6s, as Kafka does by default; the
// input's default of 3s needs the broker's minimum lowered.
func newCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{
		kfake.NumBrokers(1),
		kfake.SeedTopics(6, testTopic),
		kfake.GroupMinSessionTimeout(time.Second),
	}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// testLog is a Config.Log that stops logging when the test ends (a log
// after the end would panic).
func testLog(t testing.TB, name string) func(string, ...any) {
	var mu sync.Mutex
	done := false
	t.Cleanup(func() { mu.Lock(); done = true; mu.Unlock() })
	return func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			t.Logf("%s %s: %s", time.Now().Format("15:04:05.000"), name, fmt.Sprintf(format, args...))
		}
	}
}

// node is one instance: an input and its engine.
type node struct {
	name   string
	in     *Input
	eng    *engine
	sink   cluster.Sink
	cancel context.CancelFunc
	done   chan error
	err    error
	ended  bool
}

// startNode runs an instance with the default configuration but for the
// brokers, its name and what mod changes.
func startNode(t testing.TB, c *kfake.Cluster, name string, order *atomic.Int64, mod func(*Config)) *node {
	t.Helper()
	return startNodeSink(t, c, name, newEngine(name, order), nil, mod, nil)
}

// startNodeSink is startNode with an engine or another sink (nil: the
// engine), and prep to change the input before it runs.
func startNodeSink(t testing.TB, c *kfake.Cluster, name string, eng *engine, sink cluster.Sink, mod func(*Config), prep func(*Input)) *node {
	t.Helper()
	if sink == nil {
		sink = eng
	}
	cfg := Config{Enabled: true, Brokers: c.ListenAddrs(), Instance: name, Log: testLog(t, name)}
	if mod != nil {
		mod(&cfg)
	}
	in, err := New(cfg)
	require.NoError(t, err)
	if prep != nil {
		prep(in)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{name: name, in: in, eng: eng, sink: sink, cancel: cancel, done: make(chan error, 1)}
	go func() { n.done <- in.Run(ctx, sink) }()
	t.Cleanup(func() { n.in.Kill(); n.stop(t) })
	return n
}

// stop ends the node gracefully (unless killed) and waits for Run.
func (n *node) stop(t testing.TB) error {
	t.Helper()
	if n.ended {
		return n.err
	}
	n.cancel()
	select {
	case n.err = <-n.done:
	case <-time.After(20 * time.Second):
		t.Errorf("%s: Run did not return 20s after its context ended", n.name)
	}
	n.ended = true
	return n.err
}

// stopAll stops nodes at once.
func stopAll(t *testing.T, nodes ...*node) {
	t.Helper()
	for _, n := range nodes {
		n.cancel()
	}
	for _, n := range nodes {
		assert.NoError(t, n.stop(t), n.name)
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// owners returns the owned shards of each node.
func owners(nodes []*node) [][]int32 {
	out := make([][]int32, len(nodes))
	for i, n := range nodes {
		out[i] = n.in.Owned()
	}
	return out
}

// balanced reports whether nodes own every partition and Global exactly
// once, each about as many partitions, Global with partition 0.
func balanced(nodes []*node, parts int) bool {
	seen := map[int32]int{}
	for _, o := range owners(nodes) {
		n := 0
		for _, s := range o {
			seen[s]++
			if s >= 0 {
				n++
			}
		}
		if n < parts/len(nodes) || n > (parts+len(nodes)-1)/len(nodes) {
			return false
		}
		if slices.Contains(o, cluster.Global) != slices.Contains(o, 0) {
			return false
		}
	}
	for s := int32(-1); s < int32(parts); s++ {
		if seen[s] != 1 {
			return false
		}
	}
	return len(seen) == parts+1
}

// producer writes test lines keyed by host, as Telegraf's outputs.kafka
// with routing_tag = "host", one to three lines a message.
type producer struct {
	cl    *kgo.Client
	hosts int
	seq   int
	msgs  int
}

func newProducer(t testing.TB, c *kfake.Cluster, hosts int) *producer {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic(testTopic), kgo.ProducerLinger(0))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return &producer{cl: cl, hosts: hosts}
}

// produce writes n messages and waits for them.
func (p *producer) produce(t testing.TB, n int) {
	t.Helper()
	recs := make([]*kgo.Record, 0, n)
	for range n {
		host := fmt.Sprintf("h%02d", p.msgs%p.hosts)
		lines := make([]string, 1+p.msgs%3)
		for i := range lines {
			p.seq++
			lines[i] = fmt.Sprintf("cpu,host=%s seq=%di", host, p.seq)
		}
		p.msgs++
		recs = append(recs, &kgo.Record{Key: []byte(host), Value: []byte(strings.Join(lines, "\n"))})
	}
	require.NoError(t, p.cl.ProduceSync(context.Background(), recs...).FirstErr())
}

// stream produces about rate messages a second until stop is closed.
func (p *producer) stream(t testing.TB, rate int, stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				p.produce(t, max(1, rate/100))
			}
		}
	}()
	return done
}

// topicLines reads the topic back: per partition, its lines in offset
// order, and the high watermarks.
func topicLines(t testing.TB, c *kfake.Cluster, topic string) (map[int32][]event, map[int32]int64) {
	t.Helper()
	adm, err := kadm.NewOptClient(kgo.SeedBrokers(c.ListenAddrs()...))
	require.NoError(t, err)
	defer adm.Close()
	ends, err := adm.ListEndOffsets(context.Background(), topic)
	require.NoError(t, err)
	hwm := map[int32]int64{}
	from := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		hwm[o.Partition] = o.Offset
		from[o.Partition] = kgo.NewOffset().AtStart()
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}))
	require.NoError(t, err)
	defer cl.Close()
	lines := map[int32][]event{}
	last := map[int32]int64{}
	remaining := 0
	for p, end := range hwm {
		if end > 0 {
			remaining++
		}
		last[p] = -1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for remaining > 0 {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "reading %s back", topic)
		fs.EachRecord(func(r *kgo.Record) {
			for i, line := range strings.Split(string(r.Value), "\n") {
				if line != "" {
					lines[r.Partition] = append(lines[r.Partition], event{part: r.Partition, off: r.Offset, idx: i, line: line})
				}
			}
			last[r.Partition] = r.Offset
			if r.Offset == hwm[r.Partition]-1 {
				remaining--
			}
		})
	}
	return lines, hwm
}

// latestCheckpoints reads a checkpoint topic as a new owner would: the
// latest value of each key, and how many records it holds.
func latestCheckpoints(t testing.TB, c *kfake.Cluster, topic string) (map[string]*cluster.Checkpoint, int) {
	t.Helper()
	lines := map[string]*cluster.Checkpoint{}
	adm, err := kadm.NewOptClient(kgo.SeedBrokers(c.ListenAddrs()...))
	require.NoError(t, err)
	defer adm.Close()
	ends, err := adm.ListEndOffsets(context.Background(), topic)
	require.NoError(t, err)
	end, _ := ends.Lookup(topic, 0)
	if end.Offset <= 0 {
		return lines, 0
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := 0
	for done := false; !done; {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "reading %s", topic)
		fs.EachRecord(func(r *kgo.Record) {
			n++
			if cp, err := cluster.Decode(r.Value); err == nil {
				lines[string(r.Key)] = cp
			}
			if r.Offset >= end.Offset-1 {
				done = true
			}
		})
	}
	return lines, n
}

// checkExactlyOnce checks that the events the engines released are the
// topic's lines, each once, in order per partition, for every partition
// and for Global.
func checkExactlyOnce(t *testing.T, want map[int32][]event, engines ...*engine) {
	t.Helper()
	type key struct{ shard, part int32 }
	got := map[key][]event{}
	for _, e := range engines {
		_, released, problems, _ := e.snapshot()
		assert.Empty(t, problems, "engine %s broke the contract", e.name)
		for _, ev := range released {
			got[key{ev.shard, ev.part}] = append(got[key{ev.shard, ev.part}], ev)
		}
	}
	render := func(evs []event) []string {
		out := make([]string, len(evs))
		for i, ev := range evs {
			out[i] = fmt.Sprintf("%d/%d %s", ev.off, ev.idx, ev.line)
		}
		return out
	}
	for _, global := range []bool{false, true} {
		for part, lines := range want {
			k := key{part, part}
			if global {
				k = key{cluster.Global, part}
			}
			evs := got[k]
			sort.Slice(evs, func(i, j int) bool { return evs[i].order < evs[j].order })
			if !assert.Equal(t, render(lines), render(evs), "shard %d partition %d: released lines differ from the topic's", k.shard, part) {
				return
			}
		}
	}
}

// checkStates checks the last stored checkpoint of each shard against
// the state one engine reaches from the topic's lines.
func checkStates(t *testing.T, cps map[string]*cluster.Checkpoint, want map[int32][]event, hwm map[int32]int64) {
	t.Helper()
	var all []event
	for p := int32(0); p < int32(len(want)); p++ {
		all = append(all, want[p]...)
		cp := cps[shardKey(p)]
		if !assert.NotNil(t, cp, "no checkpoint of partition %d", p) {
			continue
		}
		var state map[string]hostState
		require.NoError(t, json.Unmarshal(cp.State, &state))
		assert.Equal(t, fold(want[p]), state, "state of partition %d", p)
		assert.Equal(t, hwm[p]-1, cp.Offsets[p], "offset of partition %d", p)
	}
	cp := cps[globalKey]
	if assert.NotNil(t, cp, "no checkpoint of Global") {
		var state map[string]hostState
		require.NoError(t, json.Unmarshal(cp.State, &state))
		assert.Equal(t, fold(all), state, "state of Global")
		for p, end := range hwm {
			assert.Equal(t, end-1, cp.Offsets[p], "Global's offset of partition %d", p)
		}
	}
}

// checkSpans checks that no two engines owned a shard at once.
func checkSpans(t *testing.T, engines ...*engine) {
	t.Helper()
	byShard := map[int32][]span{}
	for _, e := range engines {
		e.mu.Lock()
		for _, s := range e.spans {
			byShard[s.shard] = append(byShard[s.shard], s)
		}
		e.mu.Unlock()
	}
	for shard, spans := range byShard {
		sort.Slice(spans, func(i, j int) bool { return spans[i].start.Before(spans[j].start) })
		for i := 1; i < len(spans); i++ {
			prev := spans[i-1]
			assert.False(t, prev.end.IsZero() || spans[i].start.Before(prev.end),
				"shard %d owned twice at once: %v-%v and from %v", shard, prev.start, prev.end, spans[i].start)
		}
	}
}

// groupMembers returns the client ids of the group's members.
func groupMembers(t testing.TB, c *kfake.Cluster, group string) []string {
	t.Helper()
	adm, err := kadm.NewOptClient(kgo.SeedBrokers(c.ListenAddrs()...))
	require.NoError(t, err)
	defer adm.Close()
	gs, err := adm.DescribeGroups(context.Background(), group)
	require.NoError(t, err)
	var ids []string
	for _, m := range gs[group].Members {
		ids = append(ids, m.ClientID)
	}
	slices.Sort(ids)
	return ids
}

// committed returns the group's committed offsets of the topic.
func committed(t testing.TB, c *kfake.Cluster, group string) map[int32]int64 {
	t.Helper()
	adm, err := kadm.NewOptClient(kgo.SeedBrokers(c.ListenAddrs()...))
	require.NoError(t, err)
	defer adm.Close()
	offs, err := adm.FetchOffsets(context.Background(), group)
	require.NoError(t, err)
	out := map[int32]int64{}
	for p, o := range offs[testTopic] {
		out[p] = o.At
	}
	return out
}
