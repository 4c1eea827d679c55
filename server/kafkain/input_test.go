package kafkain

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
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

// caughtUp reports whether, for every partition, some node's engine has
// written the partition's last offset, for the partition's shard and for
// Global.
func caughtUp(nodes []*node, hwm map[int32]int64) bool {
	for p, end := range hwm {
		if end == 0 {
			continue
		}
		for _, shard := range []int32{p, cluster.Global} {
			ok := false
			for _, n := range nodes {
				if off, has := n.eng.offset(shard, p); has && off == end-1 {
					ok = true
				}
			}
			if !ok {
				return false
			}
		}
	}
	return true
}

func endOffsets(t testing.TB, c *kfake.Cluster) map[int32]int64 {
	_, hwm := topicLines(t, c, testTopic)
	return hwm
}

// Three instances share the six partitions, two each, Global with
// partition 0, and process every record once.
func TestThreeInstancesShareSixPartitions(t *testing.T) {
	c := newCluster(t)
	var order atomic.Int64
	nodes := []*node{
		startNode(t, c, "a", &order, nil),
		startNode(t, c, "b", &order, nil),
		startNode(t, c, "c", &order, nil),
	}
	waitFor(t, 15*time.Second, "three instances to share the partitions", func() bool { return balanced(nodes, 6) })
	t.Logf("owned: %v", owners(nodes))

	p := newProducer(t, c, 30)
	p.produce(t, 3000)
	want, hwm := topicLines(t, c, testTopic)
	waitFor(t, 15*time.Second, "every record to be written", func() bool { return caughtUp(nodes, hwm) })
	stopped := time.Now()
	stopAll(t, nodes...)
	// They left the group (its session timeout has not passed) after
	// committing the offset after the last record.
	assert.Empty(t, groupMembers(t, c, DefaultGroup), "members %s after a graceful stop", time.Since(stopped))
	assert.Equal(t, hwm, committed(t, c, DefaultGroup))

	engines := []*engine{nodes[0].eng, nodes[1].eng, nodes[2].eng}
	checkExactlyOnce(t, want, engines...)
	checkSpans(t, engines...)
	lines := 0
	for _, l := range want {
		lines += len(l)
	}
	written := 0
	for _, e := range engines {
		got, _, _, _ := e.snapshot()
		for _, ev := range got {
			if ev.shard != cluster.Global {
				written++
			}
		}
	}
	assert.Equal(t, lines, written, "lines written to the partitions' shards, all instances together")
	cps, _ := latestCheckpoints(t, c, testTopic+checkpointTopicSuffix)
	checkStates(t, cps, want, hwm)
}

// An instance killed mid-stream loses what it processed after its last
// stored cut; the survivors and a newcomer process it again, and the
// union of the released lines is the topic's, each once, in order. The
// killed instance owns partition 0, so Global fails over too.
func TestKillAndJoin(t *testing.T) {
	c := newCluster(t)
	var order atomic.Int64
	nodes := []*node{
		startNode(t, c, "a", &order, nil),
		startNode(t, c, "b", &order, nil),
		startNode(t, c, "c", &order, nil),
	}
	waitFor(t, 15*time.Second, "three instances to share the partitions", func() bool { return balanced(nodes, 6) })

	p := newProducer(t, c, 30)
	stopProducing := make(chan struct{})
	produced := p.stream(t, 1000, stopProducing)
	time.Sleep(1500 * time.Millisecond)

	// The victim owns partition 0 and Global; kill it half-way between
	// two cuts, so it holds lines of a cut not stored.
	var victim *node
	var survivors []*node
	for _, n := range nodes {
		if slices.Contains(n.in.Owned(), 0) {
			victim = n
		} else {
			survivors = append(survivors, n)
		}
	}
	require.NotNil(t, victim)
	lost := victim.in.Owned()
	require.Contains(t, lost, cluster.Global)
	<-victim.eng.onRelease
	<-victim.eng.onRelease
	time.Sleep(time.Duration(DefaultCheckpointInterval) / 2)
	killed := time.Now()
	victim.in.Kill()
	killTook := time.Since(killed)
	_, _, _, callsAtKill := victim.eng.snapshot()
	victim.eng.endSpans(time.Now())
	t.Logf("killed %s owning %v; Kill took %s", victim.name, lost, killTook)
	assert.Less(t, killTook, 2*time.Second, "Kill blocks")
	select {
	case err := <-victim.done:
		victim.ended, victim.err = true, err
		t.Logf("Run of the killed instance returned %s after Kill", time.Since(killed))
	case <-time.After(5 * time.Second):
		t.Error("Run of the killed instance did not return 5s after Kill")
	}
	// No LeaveGroup, even from the clients Run closed: the group still
	// counts the victim in.
	time.Sleep(200 * time.Millisecond)
	assert.Contains(t, groupMembers(t, c, DefaultGroup), clientID(victim.name), "members after Kill")

	d := startNode(t, c, "d", &order, nil)
	survivors = append(survivors, d)

	// Failover: every shard the victim owned flows again elsewhere.
	var failover time.Duration
	for _, s := range lost {
		waitFor(t, 15*time.Second, "the victim's shards to flow again", func() bool {
			for _, n := range survivors {
				if since, first, ok := n.eng.flowing(s); ok && since.After(killed) {
					failover = max(failover, first.Sub(killed))
					return true
				}
			}
			return false
		})
	}
	t.Logf("failover: %s from Kill to the last of %v flowing again (session-timeout %s, heartbeat-interval %s)",
		failover, lost, DefaultSessionTimeout, DefaultHeartbeatInterval)
	// The 5 s target is a figure to report, not an assertion.

	waitFor(t, 15*time.Second, "four instances but one killed to share the partitions", func() bool { return balanced(survivors, 6) })
	time.Sleep(time.Second)
	close(stopProducing)
	<-produced
	want, hwm := topicLines(t, c, testTopic)
	waitFor(t, 15*time.Second, "every record to be written", func() bool { return caughtUp(survivors, hwm) })
	stopAll(t, survivors...)

	assert.ErrorIs(t, victim.stop(t), ErrKilled)
	_, _, _, callsAfter := victim.eng.snapshot()
	assert.Equal(t, callsAtKill, callsAfter, "calls of the killed instance's sink after Kill returned")
	got, released, _, _ := victim.eng.snapshot()
	assert.Greater(t, len(got), len(released), "the victim held lines it never released")

	engines := []*engine{victim.eng}
	for _, n := range survivors {
		engines = append(engines, n.eng)
	}
	checkExactlyOnce(t, want, engines...)
	checkSpans(t, engines...)

	// The restored state plus the lines after it is the state of a
	// single instance that read everything.
	cps, _ := latestCheckpoints(t, c, testTopic+checkpointTopicSuffix)
	checkStates(t, cps, want, hwm)
	solo := startNode(t, c, "solo", &order, func(c *Config) { c.Group = "solo"; c.CheckpointTopic = "solo-checkpoints" })
	waitFor(t, 15*time.Second, "the single instance to read everything", func() bool { return caughtUp([]*node{solo}, hwm) })
	require.NoError(t, solo.stop(t))
	soloCps, _ := latestCheckpoints(t, c, "solo-checkpoints")
	for key, cp := range soloCps {
		if assert.Contains(t, cps, key) {
			assert.JSONEq(t, string(cp.State), string(cps[key].State), "state of %s: one instance and four", key)
			assert.Equal(t, cp.Offsets, cps[key].Offsets, "offsets of %s: one instance and four", key)
		}
	}
}

// Global goes with partition 0: to the instance that takes it, and on to
// the other when that one leaves.
func TestGlobalMovesWithPartitionZero(t *testing.T) {
	c := newCluster(t)
	var order atomic.Int64
	a := startNode(t, c, "a", &order, nil)
	waitFor(t, 15*time.Second, "one instance to own everything", func() bool { return balanced([]*node{a}, 6) })
	p := newProducer(t, c, 12)
	p.produce(t, 300)
	waitFor(t, 15*time.Second, "every record to be written", func() bool { return caughtUp([]*node{a}, endOffsets(t, c)) })

	b := startNode(t, c, "b", &order, nil)
	nodes := []*node{a, b}
	waitFor(t, 15*time.Second, "two instances to share the partitions", func() bool { return balanced(nodes, 6) })
	t.Logf("owned: %v", owners(nodes))
	p.produce(t, 300)
	waitFor(t, 15*time.Second, "every record to be written", func() bool { return caughtUp(nodes, endOffsets(t, c)) })

	first, other := a, b
	if !slices.Contains(a.in.Owned(), 0) {
		first, other = b, a
	}
	require.NoError(t, first.stop(t))
	waitFor(t, 15*time.Second, "the other instance to own everything", func() bool { return balanced([]*node{other}, 6) })
	// The other restored Global from the checkpoint the first stored
	// on its way out.
	other.eng.mu.Lock()
	var restored *cluster.Checkpoint
	for _, r := range other.eng.restores {
		if r.shard == cluster.Global {
			restored = r.cp
		}
	}
	other.eng.mu.Unlock()
	require.NotNil(t, restored, "Global restored without a checkpoint")
	assert.Equal(t, first.name, restored.Instance)
	p.produce(t, 300)
	want, hwm := topicLines(t, c, testTopic)
	waitFor(t, 15*time.Second, "every record to be written", func() bool { return caughtUp([]*node{other}, hwm) })
	require.NoError(t, other.stop(t))

	checkExactlyOnce(t, want, a.eng, b.eng)
	checkSpans(t, a.eng, b.eng)
	cps, _ := latestCheckpoints(t, c, testTopic+checkpointTopicSuffix)
	checkStates(t, cps, want, hwm)
}

// A checkpoint ahead of the group's committed offset (a crash between
// storing it and committing) wins; a checkpoint that does not decode is
// logged and the shard restored without one; keys of no shard are
// ignored.
func TestCheckpointAheadOfCommit(t *testing.T) {
	c := newCluster(t)
	p := newProducer(t, c, 12)
	p.produce(t, 300)
	want, hwm := topicLines(t, c, testTopic)
	require.Greater(t, hwm[1], int64(10))

	cpTopic := testTopic + checkpointTopicSuffix
	ahead, err := cluster.Encode(&cluster.Checkpoint{Offsets: map[int32]int64{1: 9}, State: []byte(`{"h99":{"count":7,"last":"x"}}`), Instance: "gone"})
	require.NoError(t, err)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic(cpTopic))
	require.NoError(t, err)
	defer cl.Close()
	_, err = kadm.NewClient(cl).CreateTopic(context.Background(), 1, -1, checkpointTopicConfigs, cpTopic)
	require.NoError(t, err)
	older, err := cluster.Encode(&cluster.Checkpoint{Offsets: map[int32]int64{1: 3}})
	require.NoError(t, err)
	require.NoError(t, cl.ProduceSync(context.Background(),
		&kgo.Record{Key: []byte("p.1"), Value: older},
		&kgo.Record{Key: []byte("p.1"), Value: ahead},
		&kgo.Record{Key: []byte("p.2"), Value: []byte("not gzip")},
		&kgo.Record{Key: []byte("junk"), Value: []byte("x")},
		&kgo.Record{Key: []byte("p.x"), Value: []byte("x")},
	).FirstErr())

	var order atomic.Int64
	a := startNode(t, c, "a", &order, nil)
	waitFor(t, 15*time.Second, "every record to be written", func() bool { return caughtUp([]*node{a}, hwm) })
	require.NoError(t, a.stop(t))

	a.eng.mu.Lock()
	restored := map[int32]*cluster.Checkpoint{}
	for _, r := range a.eng.restores {
		restored[r.shard] = r.cp
	}
	a.eng.mu.Unlock()
	require.NotNil(t, restored[1])
	assert.Equal(t, map[int32]int64{1: 9}, restored[1].Offsets)
	assert.Nil(t, restored[2], "a checkpoint that does not decode")

	got, _, problems, _ := a.eng.snapshot()
	assert.Empty(t, problems)
	var first1 int64 = -1
	for _, ev := range got {
		if ev.shard == 1 {
			first1 = ev.off
			break
		}
	}
	assert.Equal(t, int64(10), first1, "first offset of partition 1 written")
	var firstLines []event
	for _, ev := range want[1] {
		if ev.off >= 10 {
			firstLines = append(firstLines, ev)
		}
	}
	cps, _ := latestCheckpoints(t, c, cpTopic)
	st := fold(firstLines)
	st["h99"] = hostState{Count: 7, Last: "x"}
	var state map[string]hostState
	require.NoError(t, json.Unmarshal(cps["p.1"].State, &state))
	assert.Equal(t, st, state, "state of partition 1: the checkpoint's and the lines after it")
}

// The checkpoint topic works compacted: kfake compacts it (with
// log.cleaner.backoff.ms set), and a new owner still finds each shard's
// latest checkpoint.
func TestCompactedCheckpointTopic(t *testing.T) {
	c := newCluster(t, kfake.BrokerConfigs(map[string]string{"log.cleaner.backoff.ms": "100"}))
	var order atomic.Int64
	fast := func(c *Config) { c.CheckpointInterval = Duration(20 * time.Millisecond) }
	a := startNode(t, c, "a", &order, fast)
	p := newProducer(t, c, 12)
	stop := make(chan struct{})
	done := p.stream(t, 500, stop)
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	<-done
	want, hwm := topicLines(t, c, testTopic)
	waitFor(t, 15*time.Second, "every record to be written", func() bool { return caughtUp([]*node{a}, hwm) })
	require.NoError(t, a.stop(t))
	cpTopic := testTopic + checkpointTopicSuffix
	a.eng.mu.Lock()
	cuts := a.eng.cuts
	a.eng.mu.Unlock()
	var records int
	waitFor(t, 5*time.Second, "the checkpoint topic to be compacted", func() bool {
		_, records = latestCheckpoints(t, c, cpTopic)
		return records < cuts
	})
	t.Logf("%d cuts of 7 shards stored, %d records left after compaction", cuts, records)

	b := startNode(t, c, "b", &order, nil)
	p.produce(t, 100)
	want, hwm = topicLines(t, c, testTopic)
	waitFor(t, 15*time.Second, "every record to be written", func() bool { return caughtUp([]*node{b}, hwm) })
	require.NoError(t, b.stop(t))
	checkExactlyOnce(t, want, a.eng, b.eng)
	cps, _ := latestCheckpoints(t, c, cpTopic)
	checkStates(t, cps, want, hwm)
}

// Brokers at their default group.min.session.timeout.ms (6s; kfake's
// too) refuse the default session timeout of 3s: Run says so.
func TestSessionTimeoutRefused(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(6, testTopic))
	require.NoError(t, err)
	defer c.Close()
	in, err := New(Config{Brokers: c.ListenAddrs(), Log: testLog(t, "a")})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = in.Run(ctx, newEngine("a", new(atomic.Int64)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "session-timeout")
	assert.NoError(t, ctx.Err(), "Run returned only when its context ended")
}

// Kill before Run, Kill twice, Run twice, Run without a sink, and a
// broker that is not there: no panic, no hang.
func TestKillAndRunEdges(t *testing.T) {
	in, err := New(Config{Brokers: []string{"127.0.0.1:1"}})
	require.NoError(t, err)
	in.Kill()
	in.Kill()
	assert.ErrorIs(t, in.Run(context.Background(), newEngine("a", new(atomic.Int64))), ErrKilled)
	assert.Error(t, in.Run(context.Background(), newEngine("a", new(atomic.Int64))), "Run twice")
	assert.Empty(t, in.Owned())

	in, err = New(Config{Brokers: []string{"127.0.0.1:1"}})
	require.NoError(t, err)
	assert.Error(t, in.Run(context.Background(), nil))

	// No broker: Run retries until its context ends, then returns nil.
	in, err = New(Config{Brokers: []string{"127.0.0.1:1"}, Log: testLog(t, "nobroker")})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	assert.NoError(t, in.Run(ctx, newEngine("a", new(atomic.Int64))))

	// Kill while Run retries: ErrKilled, at once.
	in, err = New(Config{Brokers: []string{"127.0.0.1:1"}})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- in.Run(context.Background(), newEngine("a", new(atomic.Int64))) }()
	time.Sleep(200 * time.Millisecond)
	in.Kill()
	select {
	case err := <-done:
		assert.True(t, errors.Is(err, ErrKilled), "Run after Kill: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return 5s after Kill")
	}
}
