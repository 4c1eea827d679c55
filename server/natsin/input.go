package natsin

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickrun/tickrun/server/cluster"
)

// ErrKilled is what Run returns after Kill.
var ErrKilled = errors.New("nats-input: killed")

// errConfig marks the errors Run returns at once instead of retrying:
// the broker holds something that contradicts the configuration.
type errConfig struct{ err error }

func (e errConfig) Error() string { return e.err.Error() }
func (e errConfig) Unwrap() error { return e.err }

// Input is the NATS JetStream input. It implements cluster.Input.
type Input struct {
	cfg      Config
	sch      scheme
	logf     func(format string, args ...any)
	natsOpts []nats.Option

	// guard orders the calls to the sink: a reader holds it shared around
	// Write, the control loop exclusively around Cut (so that what it
	// notes of the last messages matches the cut exactly), and Kill
	// exclusively to set killed: no sink call starts after Kill returns.
	guard  sync.RWMutex
	killed bool

	mu      sync.Mutex
	owned   []int32
	nc      *nats.Conn
	cancel  context.CancelFunc
	started bool
	killCh  chan struct{}

	reconnected chan struct{} // the connection came back
}

var _ cluster.Input = (*Input)(nil)

// Option configures an Input.
type Option func(*Input)

// WithLog sends the input's log lines to logf (log.Printf by default).
// Lines start with "nats-input: ".
func WithLog(logf func(format string, args ...any)) Option {
	return func(in *Input) {
		if logf != nil {
			in.logf = logf
		}
	}
}

// WithNATSOptions adds options to the NATS connection: credentials, TLS.
// They come after the input's own (name, reconnects and their logging)
// and may replace them.
func WithNATSOptions(opts ...nats.Option) Option {
	return func(in *Input) { in.natsOpts = append(in.natsOpts, opts...) }
}

// New returns an input for cfg, with its defaults filled in; the
// connection is made by Run.
func New(cfg Config, opts ...Option) (*Input, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sch, err := newScheme(cfg.Stream, cfg.Subjects, cfg.PartitionToken, cfg.Partitions)
	if err != nil {
		return nil, err
	}
	in := &Input{cfg: cfg, sch: sch, logf: log.Printf, killCh: make(chan struct{}), reconnected: make(chan struct{}, 1)}
	for _, o := range opts {
		o(in)
	}
	return in, nil
}

// Config returns the configuration the input runs with, defaults filled in.
func (in *Input) Config() Config { return in.cfg }

// Owned returns the shards the input owns now, sorted: partitions, and
// cluster.Global with partition 0.
func (in *Input) Owned() []int32 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.owned)
}

// Kill stops the input at once, as a crash would: it closes the
// connection and leaves its leases to expire, with no last cut and no
// ack. It waits only for a sink call already in progress to return (it
// must not be called from within the sink), never for the broker.
func (in *Input) Kill() {
	in.guard.Lock()
	in.killed = true
	in.guard.Unlock()
	in.mu.Lock()
	nc, cancel := in.nc, in.cancel
	in.owned = nil
	select {
	case <-in.killCh:
	default:
		close(in.killCh)
	}
	in.mu.Unlock()
	if nc != nil {
		nc.Close()
	}
	if cancel != nil {
		cancel()
	}
}

func (in *Input) isKilled() bool {
	in.guard.RLock()
	defer in.guard.RUnlock()
	return in.killed
}

// Run connects, takes partitions and feeds their messages to sink until
// ctx ends; then it hands everything it owns over (a last cut stored,
// leases deleted) and returns nil. It returns ErrKilled after Kill, and an
// error at once when the broker contradicts the configuration (a stream
// partitioned differently); broker outages are logged and retried.
func (in *Input) Run(ctx context.Context, sink cluster.Sink) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in.mu.Lock()
	if in.started {
		in.mu.Unlock()
		return errors.New("nats-input: Run called twice")
	}
	in.started, in.cancel = true, cancel
	in.mu.Unlock()
	if in.isKilled() {
		return ErrKilled
	}

	nc := in.connect(ctx)
	if nc == nil {
		return in.exit(nil)
	}
	in.mu.Lock()
	in.nc = nc
	in.mu.Unlock()
	defer nc.Close()
	if in.isKilled() { // Kill came before in.nc was set
		return ErrKilled
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("nats-input: %w", err)
	}
	r := newRun(in, js, sink)
	if err := r.setup(ctx); err != nil || ctx.Err() != nil {
		return in.exit(err)
	}
	r.loop(ctx)
	if !in.isKilled() {
		r.handOverAll()
	}
	r.wait()
	return in.exit(nil)
}

func (in *Input) exit(err error) error {
	if in.isKilled() {
		return ErrKilled
	}
	return err
}

func (in *Input) setOwned(ids []int32) {
	slices.Sort(ids)
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.killedLocked() {
		in.owned = ids
	}
}

func (in *Input) killedLocked() bool {
	select {
	case <-in.killCh:
		return true
	default:
		return false
	}
}

// sleep waits d, or less if ctx ends; it reports whether ctx is alive.
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

// backoff doubles from 100ms to 5s.
type backoff struct{ d time.Duration }

func (b *backoff) next() time.Duration {
	if b.d == 0 {
		b.d = 100 * time.Millisecond
	} else if b.d *= 2; b.d > 5*time.Second {
		b.d = 5 * time.Second
	}
	return b.d
}

// connect dials until it succeeds or ctx ends (nil then). Once connected,
// nats.go reconnects by itself, for ever; the handlers log it.
func (in *Input) connect(ctx context.Context) *nats.Conn {
	opts := []nats.Option{
		nats.Name("tickrun " + in.cfg.Instance),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.PingInterval(5 * time.Second),
		nats.Timeout(2 * time.Second),
		// Fail requests at once while reconnecting rather than buffer them
		// and send them late: a lease renewal or checkpoint written long
		// after it was given up on would contradict what the loop decided.
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				in.logf("nats-input: disconnected: %v; reconnecting", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			in.logf("nats-input: reconnected to %s", nc.ConnectedUrlRedacted())
			select {
			case in.reconnected <- struct{}{}:
			default:
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				in.logf("nats-input: subscription %s: %v", sub.Subject, err)
				return
			}
			in.logf("nats-input: %v", err)
		}),
	}
	opts = append(opts, in.natsOpts...)
	urls := strings.Join(in.cfg.URLs, ",")
	var b backoff
	for {
		nc, err := nats.Connect(urls, opts...)
		if err == nil {
			return nc
		}
		d := b.next()
		in.logf("nats-input: connect to %s: %v; retrying in %s", urls, err, d)
		if !sleep(ctx, d) {
			return nil
		}
	}
}

// limiter logs a repeated problem once per interval, with how many times
// it happened in between: bad messages must not flood the log.
type limiter struct {
	mu   sync.Mutex
	last map[string]time.Time
	n    map[string]int
}

func (l *limiter) allow(key string, now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last, l.n = map[string]time.Time{}, map[string]int{}
	}
	l.n[key]++
	if now.Sub(l.last[key]) < 10*time.Second {
		return 0, false
	}
	n := l.n[key]
	l.last[key], l.n[key] = now, 0
	return n, true
}
