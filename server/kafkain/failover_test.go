package kafkain

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Failover with no instance joining: the survivor learns of the dead
// one's session timeout at its next heartbeat.
func TestFailoverByTimeout(t *testing.T) {
	c := newCluster(t)
	var order atomic.Int64
	nodes := []*node{startNode(t, c, "a", &order, nil), startNode(t, c, "b", &order, nil)}
	waitFor(t, 15*time.Second, "two instances to share the partitions", func() bool { return balanced(nodes, 6) })
	p := newProducer(t, c, 12)
	stop := make(chan struct{})
	done := p.stream(t, 500, stop)
	time.Sleep(700 * time.Millisecond)
	victim, survivor := nodes[0], nodes[1]
	lost := victim.in.Owned()
	killed := time.Now()
	victim.in.Kill()
	var failover time.Duration
	for _, s := range lost {
		waitFor(t, 15*time.Second, "the victim's shards to flow again", func() bool {
			if since, first, ok := survivor.eng.flowing(s); ok && since.After(killed) {
				failover = max(failover, first.Sub(killed))
				return true
			}
			return false
		})
	}
	t.Logf("failover without a join: %s from Kill to the last of %v flowing again", failover, lost)
	// The 5 s target is a figure to report, not an assertion.
	close(stop)
	<-done
	want, hwm := topicLines(t, c, testTopic)
	waitFor(t, 15*time.Second, "every record to be written", func() bool { return caughtUp([]*node{survivor}, hwm) })
	require.NoError(t, survivor.stop(t))
	victim.eng.endSpans(killed)
	checkExactlyOnce(t, want, victim.eng, survivor.eng)
	checkSpans(t, victim.eng, survivor.eng)
}

// partition makes the input's network silent, as a partition that drops
// packets: from now until heal, no dial completes and nothing is sent or
// received on the connections; what was sent arrives after heal, as TCP
// retransmits it. It must be called before the node starts.
type partition struct {
	mu   sync.Mutex
	heal time.Time
}

func (p *partition) wait(ctx context.Context) error {
	p.mu.Lock()
	d := time.Until(p.heal)
	p.mu.Unlock()
	if d <= 0 {
		return nil
	}
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *partition) cut(d time.Duration) {
	p.mu.Lock()
	p.heal = time.Now().Add(d)
	p.mu.Unlock()
}

func (p *partition) install(in *Input) {
	in.dial.beforeDial = p.wait
	in.dial.wrap = func(c net.Conn) net.Conn { return &stallConn{Conn: c, p: p} }
}

// stallConn holds reads and writes while its partition is cut.
type stallConn struct {
	net.Conn
	p *partition
}

func (c *stallConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	_ = c.p.wait(context.Background())
	return n, err
}

func (c *stallConn) Write(b []byte) (int, error) {
	_ = c.p.wait(context.Background())
	return c.Conn.Write(b)
}

// An instance cut off just past its session timeout comes back a zombie:
// the group has given its partitions away, but franz-go has not yet told
// it so. Its cut, held since before, must not be stored nor released: the
// heartbeat it sends before storing finds it out.
func TestZombieStoresNothing(t *testing.T) {
	c := newCluster(t)
	var order atomic.Int64
	var part partition
	nodes := []*node{
		startNodeSink(t, c, "a", newEngine("a", &order), nil, nil, part.install),
		startNode(t, c, "b", &order, nil),
	}
	waitFor(t, 15*time.Second, "two instances to share the partitions", func() bool { return balanced(nodes, 6) })
	p := newProducer(t, c, 12)
	stop := make(chan struct{})
	done := p.stream(t, 500, stop)
	time.Sleep(1200 * time.Millisecond)
	zombie, other := nodes[0], nodes[1]
	lost := zombie.in.Owned()
	<-zombie.eng.onRelease
	<-zombie.eng.onRelease
	time.Sleep(time.Duration(DefaultCheckpointInterval) / 2) // it holds lines of a cut not stored
	part.cut(DefaultSessionTimeout + 500*time.Millisecond)
	isolated := time.Now()
	for _, s := range lost {
		waitFor(t, 15*time.Second, "the zombie's shards to flow on the other", func() bool {
			since, _, ok := other.eng.flowing(s)
			return ok && since.After(isolated)
		})
	}
	waitFor(t, 15*time.Second, "the zombie to be back", func() bool { return balanced(nodes, 6) })
	time.Sleep(time.Second)
	close(stop)
	<-done
	want, hwm := topicLines(t, c, testTopic)
	waitFor(t, 15*time.Second, "every record to be written", func() bool { return caughtUp(nodes, hwm) })
	stopAll(t, nodes...)
	checkExactlyOnce(t, want, zombie.eng, other.eng)
	cps, _ := latestCheckpoints(t, c, testTopic+checkpointTopicSuffix)
	checkStates(t, cps, want, hwm)
}
