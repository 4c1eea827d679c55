package kafkain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/tickrun/tickrun/server/cluster"
)

// ErrKilled is what Run returns after Kill.
var ErrKilled = errors.New("kafka-input: killed")

// Bounds of the waits on the brokers.
const (
	// handOffTimeout bounds storing and committing the last cut of
	// shards given up: past it they are dropped without, and their next
	// owner starts from the checkpoint before (the group waits up to its
	// rebalance timeout, 60s, for a member to give partitions up).
	handOffTimeout = 10 * time.Second
	// cutTimeout bounds a periodic cut's store and commit; one that
	// fails is released by the next that succeeds.
	cutTimeout = 5 * time.Second
	// attemptTimeout bounds one attempt at reading the checkpoint topic
	// or the topic's partitions; failed attempts are retried.
	attemptTimeout = 30 * time.Second
)

// Input is the Kafka input of one instance: a member of the consumer group
// that reads the partitions the group gives it. Make one with New; Run it
// once.
type Input struct {
	cfg  Config
	dial *dialer
	sasl sasl.Mechanism

	// killCtx is canceled by Kill only: the broker work of a graceful
	// hand-off goes on after Run's context has ended.
	killCtx    context.Context
	killCancel context.CancelFunc
	// leaveCtx is canceled when Run's context ends, or by Kill: it
	// bounds taking shards, not giving them up.
	leaveCtx    context.Context
	leaveCancel context.CancelFunc
	killOnce    sync.Once
	killed      atomic.Bool
	// gate is held for reading around every call of the sink and for
	// writing by Kill, so that no call starts or is in progress once
	// Kill has returned.
	gate sync.RWMutex

	started atomic.Bool
	sink    cluster.Sink
	aux     *kgo.Client // produces the checkpoints; admin requests
	adm     *kadm.Client

	// handMu serialises the cuts and hand-offs of the consume loop with
	// the group's callbacks; BlockRebalanceOnPoll already keeps them
	// apart in all but corner cases.
	handMu sync.Mutex

	mu      sync.Mutex
	owned   map[int32]bool  // the partitions restored and not given up
	next    map[int32]int64 // per owned partition, the first offset not yet written, if known
	global  *globalReader   // non-nil while Global is owned
	leaving bool            // Run's context has ended: take nothing new
}

var _ cluster.Input = (*Input)(nil)

// New returns an input for cfg, filled WithDefaults and validated (as if
// enabled). It does not connect: Run does.
func New(cfg Config) (*Input, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	in := &Input{
		cfg:   cfg,
		dial:  newDialer(tlsCfg),
		sasl:  cfg.saslMechanism(),
		owned: make(map[int32]bool),
		next:  make(map[int32]int64),
	}
	in.killCtx, in.killCancel = context.WithCancel(context.Background())
	in.leaveCtx, in.leaveCancel = context.WithCancel(in.killCtx)
	return in, nil
}

// Owned returns the shards the input owns now, sorted: cluster.Global
// first if it owns it, then its partitions.
func (in *Input) Owned() []int32 {
	in.mu.Lock()
	defer in.mu.Unlock()
	shards := make([]int32, 0, len(in.owned)+1)
	if in.global != nil {
		shards = append(shards, cluster.Global)
	}
	for p := range in.owned {
		shards = append(shards, p)
	}
	slices.Sort(shards)
	return shards
}

// Kill stops the input at once, as a crash would: every connection to
// the brokers is closed and no new one is made, so there is no last cut,
// no commit and no LeaveGroup; the group gives the partitions to others
// when the session times out. Kill does not wait for the brokers; it waits
// only for a call of the sink in progress, and the sink gets no call once
// it has returned. It must not be called from the sink's methods. Run
// returns ErrKilled soon after.
func (in *Input) Kill() {
	in.killOnce.Do(func() {
		in.killed.Store(true)
		// Sever first: once the contexts are canceled, Run closes
		// the clients, and a connection still open would carry their
		// LeaveGroup.
		in.dial.sever()
		in.killCancel()
		in.gate.Lock()
		in.gate.Unlock() //nolint:staticcheck // waits out the sink calls in progress
	})
}

// enter starts a call of the sink; false after Kill. A true enter is
// followed by exit.
func (in *Input) enter() bool {
	in.gate.RLock()
	if in.killed.Load() {
		in.gate.RUnlock()
		return false
	}
	return true
}

func (in *Input) exit() { in.gate.RUnlock() }

func (in *Input) logf(format string, args ...any) {
	if in.cfg.Log != nil && !in.killed.Load() {
		in.cfg.Log("kafka-input: "+format, args...)
	}
}

// clientOpts are the options every client of the input shares.
func (in *Input) clientOpts() []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(in.cfg.Brokers...),
		kgo.Dialer(in.dial.DialContext),
		kgo.ClientID(clientID(in.cfg.Instance)),
	}
	if in.sasl != nil {
		opts = append(opts, kgo.SASL(in.sasl))
	}
	if in.cfg.Log != nil {
		opts = append(opts, kgo.WithLogger(kgoLogger{in}))
	}
	return opts
}

// clientID makes an instance name a client id old brokers accept.
func clientID(instance string) string {
	return "tickrun-" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, instance)
}

// kgoLogger passes franz-go's warnings and errors to Config.Log.
type kgoLogger struct{ in *Input }

func (kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	var b strings.Builder
	b.WriteString(msg)
	for i := 0; i+1 < len(keyvals); i += 2 {
		fmt.Fprintf(&b, " %v=%v", keyvals[i], keyvals[i+1])
	}
	l.in.logf("franz-go %s: %s", level, b.String())
}

// Run joins the group and feeds the sink the partitions it is given until
// ctx ends; then it cuts, stores and commits every shard it owns, leaves
// the group and returns nil. Broker errors are logged and retried. It
// returns an error if the brokers refuse session-timeout, and ErrKilled
// after Kill.
func (in *Input) Run(ctx context.Context, sink cluster.Sink) error {
	if sink == nil {
		return errors.New("kafka-input: Run with no sink")
	}
	if !in.started.CompareAndSwap(false, true) {
		return errors.New("kafka-input: Run called twice")
	}
	if in.killed.Load() {
		return ErrKilled
	}
	in.sink = sink
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	defer context.AfterFunc(in.killCtx, stop)()

	aux, err := kgo.NewClient(append(in.clientOpts(),
		kgo.DefaultProduceTopic(in.cfg.CheckpointTopic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchMaxBytes(maxCheckpointBytes),
		kgo.ProducerBatchCompression(kgo.NoCompression()), // gzipped already
		kgo.ProducerLinger(0),
	)...)
	if err != nil {
		return fmt.Errorf("kafka-input: %w", err)
	}
	defer aux.Close()
	in.aux, in.adm = aux, kadm.NewClient(aux)

	if !in.retry(runCtx, "checkpoint topic", func(ctx context.Context) error {
		return in.ensureCheckpointTopic(ctx, in.adm)
	}) {
		if in.killed.Load() {
			return ErrKilled
		}
		return nil
	}

	group, err := kgo.NewClient(append(in.clientOpts(),
		kgo.ConsumerGroup(in.cfg.Group),
		kgo.ConsumeTopics(in.cfg.Topic),
		// Cooperative: see the package doc for why it keeps
		// revoke-before-reassign and what it spares.
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		// The callbacks run between polls, never while a poll's
		// records are being written: a revoked partition gets no
		// write after its cut.
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(time.Duration(in.cfg.SessionTimeout)),
		kgo.HeartbeatInterval(time.Duration(in.cfg.HeartbeatInterval)),
		// A partition with neither checkpoint nor commit is read from
		// its first record, as Telegraf's kafka_consumer (offset =
		// "oldest").
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(in.onAssigned),
		kgo.OnPartitionsRevoked(in.onRevoked),
		kgo.OnPartitionsLost(in.onLost),
		kgo.AdjustFetchOffsetsFn(in.adjustOffsets),
	)...)
	if err != nil {
		return fmt.Errorf("kafka-input: %w", err)
	}

	err = in.consume(runCtx, group)
	if in.killed.Load() {
		in.closeKilled(group)
		return ErrKilled
	}
	in.shutdown(group)
	return err
}

// consume polls and writes until ctx ends, cutting every
// checkpoint-interval. It returns with rebalances blocked (a poll not
// followed by AllowRebalance), so that the last hand-off is not raced by
// the group's callbacks.
func (in *Input) consume(ctx context.Context, cl *kgo.Client) error {
	interval := time.Duration(in.cfg.CheckpointInterval)
	for {
		due, cancel := context.WithTimeout(ctx, interval)
		for due.Err() == nil {
			fs := cl.PollFetches(due)
			if err := in.fetchErrors(fs); err != nil {
				cancel()
				return err
			}
			fs.EachPartition(in.writePartition)
			if due.Err() == nil {
				cl.AllowRebalance()
			}
		}
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		in.cutOwned(cl)
		cl.AllowRebalance()
	}
}

// fetchErrors logs the errors of a poll; it returns the one error that
// retrying cannot cure, a session timeout the brokers refuse.
func (in *Input) fetchErrors(fs kgo.Fetches) error {
	var fatal error
	fs.EachError(func(topic string, part int32, err error) {
		switch {
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, kgo.ErrClientClosed):
		case errors.Is(err, kerr.InvalidSessionTimeout):
			fatal = fmt.Errorf("[kafka-input] session-timeout: the brokers refuse %s: it must be within their group.min.session.timeout.ms and group.max.session.timeout.ms (6s and 30m unless set)", in.cfg.SessionTimeout)
		case topic == "":
			in.logf("group %s: %v (retrying)", in.cfg.Group, err)
		default:
			in.logf("fetch %s partition %d: %v (retrying)", topic, part, err)
		}
	})
	return fatal
}

// writePartition writes the records of an owned partition, skipping any
// at or before the offset already processed (the checkpoint's, after a
// crash that stored it but did not commit).
func (in *Input) writePartition(fp kgo.FetchTopicPartition) {
	if fp.Topic != in.cfg.Topic || len(fp.Records) == 0 {
		return
	}
	p := fp.Partition
	in.mu.Lock()
	owned, next := in.owned[p], in.next[p]
	in.mu.Unlock()
	if !owned || !in.enter() {
		return
	}
	for _, r := range fp.Records {
		if r.Offset < next {
			continue
		}
		in.sink.Write(p, p, r.Offset, r.Value)
		next = r.Offset + 1
	}
	in.exit()
	in.mu.Lock()
	if in.owned[p] {
		in.next[p] = next
	}
	in.mu.Unlock()
}

// shutdown is the graceful end of Run: the last hand-off of every shard
// owned, then the group is left.
func (in *Input) shutdown(cl *kgo.Client) {
	in.mu.Lock()
	in.leaving = true
	in.leaveCancel()
	parts := make([]int32, 0, len(in.owned))
	for p := range in.owned {
		parts = append(parts, p)
	}
	in.mu.Unlock()
	in.handMu.Lock()
	if shards := in.takeBack(parts); len(shards) > 0 {
		in.handOff(cl, shards)
	}
	in.handMu.Unlock()
	cl.AllowRebalance()
	ctx, cancel := context.WithTimeout(in.killCtx, handOffTimeout)
	defer cancel()
	if err := cl.LeaveGroupContext(ctx); err != nil && !in.killed.Load() {
		in.logf("leave group %s: %v", in.cfg.Group, err)
	}
	cl.Close()
}

// closeKilled closes the clients of a killed input. The connections are
// severed already: nothing reaches the brokers.
func (in *Input) closeKilled(cl *kgo.Client) {
	in.mu.Lock()
	g := in.global
	in.mu.Unlock()
	if g != nil {
		g.stop()
	}
	cl.AllowRebalance()
	_ = cl.LeaveGroupContext(in.killCtx) // canceled: no request is made
	cl.Close()
}

// stopping reports whether the input is on its way out: killed, or Run's
// context ended.
func (in *Input) stopping() bool {
	if in.killed.Load() {
		return true
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.leaving
}

// retry calls fn until it succeeds, with a growing pause between
// attempts; false if ctx ended or the input is stopping first.
func (in *Input) retry(ctx context.Context, what string, fn func(context.Context) error) bool {
	pause := 100 * time.Millisecond
	for {
		if ctx.Err() != nil || in.stopping() {
			return false
		}
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := fn(actx)
		cancel()
		if err == nil {
			return true
		}
		if ctx.Err() != nil || in.stopping() {
			return false
		}
		in.logf("%s: %v (retrying in %s)", what, err, pause)
		if !sleep(ctx, pause) {
			return false
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// sleep waits d; false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
