package natsin

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickrun/tickrun/server/cluster"
)

// run is the state of one Run: the control loop, which alone takes,
// renews, cuts and gives shards up, and a reader goroutine per owned
// shard, which only writes.
type run struct {
	in          *Input
	logf        func(format string, args ...any)
	js          jetstream.JetStream
	sink        cluster.Sink
	leases      jetstream.KeyValue
	checkpoints jetstream.KeyValue
	table       *table
	changed     chan struct{} // the watcher saw a change
	lost        chan *shard   // a reader cannot go on
	synced      chan struct{} // the watcher delivered the bucket's content
	rewatch     chan struct{} // the watcher is stale: start it over
	watchSeen   atomic.Uint64 // revision of our member key the watcher showed
	wg          sync.WaitGroup
	warn        limiter

	ttl, tick, opTimeout time.Duration

	memberRev uint64
	shards    map[int32]*shard // owned; Global with partition 0
	freeSince map[int32]time.Time
	sticky    map[int32]time.Time
	refused   map[int32]time.Time
}

// shard is an owned shard and its reader.
type shard struct {
	id       int32
	leaseRev uint64    // partitions: our lease's revision
	leaseExp time.Time // and the expiry it holds
	cpRev    uint64    // revision of the checkpoint key, 0 for none
	unsure   []byte    // a checkpoint written without an answer: it may have landed
	failures int       // checkpoints not stored in a row
	it       jetstream.MessagesContext
	cons     jetstream.Consumer

	// Under Input.guard: written by the reader holding it shared (or by
	// the control loop holding it exclusively), read by the control loop
	// holding it exclusively.
	stopped bool
	last    int64           // stream sequence of the last message written
	lastMsg jetstream.Msg   // that message, to ack
	offsets map[int32]int64 // per partition, restored or written
	acked   jetstream.Msg
}

// refuseFor is how long a partition whose checkpoint cannot be read or
// restored is left alone before the instance tries it again.
const refuseFor = 30 * time.Second

func newRun(in *Input, js jetstream.JetStream, sink cluster.Sink) *run {
	ttl := time.Duration(in.cfg.LeaseTTL)
	return &run{
		in: in, logf: in.logf, js: js, sink: sink,
		table:     newTable(in.cfg.Partitions),
		changed:   make(chan struct{}, 1),
		lost:      make(chan *shard, in.cfg.Partitions+1),
		synced:    make(chan struct{}),
		rewatch:   make(chan struct{}, 1),
		ttl:       ttl,
		tick:      ttl / 3,
		opTimeout: min(max(ttl/2, 500*time.Millisecond), 5*time.Second),
		shards:    map[int32]*shard{},
		freeSince: map[int32]time.Time{},
		sticky:    map[int32]time.Time{},
		refused:   map[int32]time.Time{},
	}
}

// wait waits for the goroutines of the run, after the connection closed or
// ctx ended (both end them).
func (r *run) wait() {
	for _, sh := range r.shards {
		sh.it.Stop()
	}
	r.wg.Wait()
}

func (r *run) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.opTimeout)
}

// loop is the control loop: renew and rebalance every tick (and when the
// leases change), cut every checkpoint-interval.
func (r *run) loop(ctx context.Context) {
	r.wg.Add(1)
	go r.watch(ctx)
	r.announce(ctx)
	tick := time.NewTicker(r.tick)
	defer tick.Stop()
	cp := time.NewTicker(time.Duration(r.in.cfg.CheckpointInterval))
	defer cp.Stop()
	// Take nothing before the watcher has shown the bucket and one tick
	// has passed: instances started together then see each other, instead
	// of the first taking everything and giving most of it back.
	settle := time.Now().Add(r.tick)
	ready := func() bool {
		select {
		case <-r.synced:
			return !time.Now().Before(settle)
		default:
			return false
		}
	}
	var announced uint64 // our member key's revision a tick ago
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if announced != 0 && r.watchSeen.Load() < announced && r.connected() {
				r.logf("nats-input: watch bucket %s-leases: stale; starting it over", r.in.cfg.Bucket)
				select {
				case r.rewatch <- struct{}{}:
				default:
				}
			}
			announced = r.memberRev
			// Renew even while disconnected: failing to is what gives the
			// leases up before they expire. Taking and cutting wait for
			// the connection (the disconnect is logged once, by connect).
			r.renew(ctx)
			if ready() && r.connected() {
				r.balance(ctx)
			}
		case <-r.changed:
			if ready() && r.connected() {
				r.balance(ctx)
			}
		case <-cp.C:
			if r.connected() {
				r.checkpoint(ctx)
			}
		case sh := <-r.lost:
			if r.shards[sh.id] == sh {
				p := sh.id
				if p == cluster.Global {
					p = 0
				}
				r.lose([]int32{p}, true)
			}
		}
	}
}

func (r *run) connected() bool { return r.js.Conn().IsConnected() }

// watch keeps the table up to date with the leases bucket. It starts
// over on a reconnect, and whenever the loop finds it stale (it has not
// shown this instance's own announcement of a tick ago): a watcher that
// went quiet would make live instances look dead.
func (r *run) watch(ctx context.Context) {
	defer r.wg.Done()
	own := memberKey(r.in.cfg.Instance)
	var b backoff
	first := true
	for ctx.Err() == nil {
		w, err := r.leases.WatchAll(ctx)
		if err != nil {
			if r.in.isKilled() {
				return
			}
			d := b.next()
			if r.connected() {
				r.logf("nats-input: watch bucket %s-leases: %v; retrying in %s", r.in.cfg.Bucket, err, d)
			}
			if !sleep(ctx, d) {
				return
			}
			continue
		}
		b = backoff{}
	updates:
		for {
			select {
			case e, ok := <-w.Updates():
				if !ok {
					break updates
				}
				if e == nil {
					if first {
						close(r.synced)
						first = false
					}
					continue
				}
				if e.Key() == own {
					r.watchSeen.Store(e.Revision())
				}
				r.table.set(e.Key(), e.Value(), e.Revision(), e.Operation() != jetstream.KeyValuePut)
				r.notify()
			case <-r.in.reconnected:
				break updates
			case <-r.rewatch:
				break updates
			case <-ctx.Done():
				break updates
			}
		}
		_ = w.Stop()
		// The watcher's delivery blocks on its channel: empty it so that
		// it can see the stop and end.
		go func() {
			for range w.Updates() {
			}
		}()
		if !sleep(ctx, 50*time.Millisecond) {
			return
		}
	}
}

func (r *run) notify() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// announce writes or renews this instance's member key.
func (r *run) announce(ctx context.Context) {
	key := memberKey(r.in.cfg.Instance)
	exp := time.Now().Add(r.ttl)
	val := encodeLease(lease{Instance: r.in.cfg.Instance, Expires: exp})
	octx, cancel := r.op(ctx)
	defer cancel()
	var rev uint64
	var err error
	if r.memberRev != 0 {
		rev, err = r.leases.Update(octx, key, val, r.memberRev)
	}
	if r.memberRev == 0 || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		// First time, or the key was removed: take it whatever it holds
		// (an earlier run of the same instance name).
		rev, err = r.leases.Put(octx, key, val)
	}
	if err != nil {
		if ctx.Err() == nil && !r.in.isKilled() && r.connected() {
			r.logf("nats-input: announce instance %q: %v", r.in.cfg.Instance, err)
		}
		return
	}
	r.memberRev = rev
	r.table.set(key, val, rev, false)
}

// renew renews the member key and every lease held, in parallel: a slow
// broker must not make one lease wait for another. A lease taken by
// another instance is lost at once; one that cannot be renewed is given
// up before it expires, so that no two instances read a partition.
func (r *run) renew(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.announce(ctx) }()
	type result struct {
		sh  *shard
		rev uint64
		exp time.Time
		err error
	}
	var parts []*shard
	for id, sh := range r.shards {
		if id != cluster.Global {
			parts = append(parts, sh)
		}
	}
	res := make([]result, len(parts))
	for i, sh := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			octx, cancel := r.op(ctx)
			defer cancel()
			exp := time.Now().Add(r.ttl)
			rev, err := r.leases.Update(octx, partKey(sh.id), encodeLease(lease{Instance: r.in.cfg.Instance, Expires: exp}), sh.leaseRev)
			res[i] = result{sh, rev, exp, err}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	var lost []int32
	for _, x := range res {
		switch {
		case x.err == nil:
			x.sh.leaseRev, x.sh.leaseExp = x.rev, x.exp
		case errors.Is(x.err, jetstream.ErrKeyRevisionMismatch) && r.ownLease(ctx, x.sh):
			// An earlier renewal landed without its answer: still ours.
		case errors.Is(x.err, jetstream.ErrKeyRevisionMismatch) || errors.Is(x.err, jetstream.ErrKeyNotFound):
			r.logf("nats-input: partition %d: lease taken by another instance; dropping it", x.sh.id)
			lost = append(lost, x.sh.id)
		case time.Until(x.sh.leaseExp) < r.tick+r.tick/2:
			r.logf("nats-input: partition %d: cannot renew its lease (%v) before it expires; dropping it", x.sh.id, x.err)
			lost = append(lost, x.sh.id)
		case r.connected():
			r.logf("nats-input: partition %d: renew lease: %v; retrying", x.sh.id, x.err)
		}
	}
	if len(lost) > 0 {
		r.lose(lost, false)
	}
}

// ownLease reports whether the lease of sh, at a revision other than the
// one we know, is ours all the same, and takes its revision.
func (r *run) ownLease(ctx context.Context, sh *shard) bool {
	octx, cancel := r.op(ctx)
	defer cancel()
	e, err := r.leases.Get(octx, partKey(sh.id))
	if err != nil || e.Revision() <= sh.leaseRev {
		return false
	}
	l := decodeLease(e.Value())
	if l.Instance != r.in.cfg.Instance || !time.Now().Before(l.Expires) {
		return false
	}
	sh.leaseRev, sh.leaseExp = e.Revision(), l.Expires
	return true
}

// held returns the partitions owned (not Global).
func (r *run) held() map[int32]bool {
	m := make(map[int32]bool, len(r.shards))
	for id := range r.shards {
		if id != cluster.Global {
			m[id] = true
		}
	}
	return m
}

// balance takes free partitions up to the fair share and gives up extras.
func (r *run) balance(ctx context.Context) {
	now := time.Now()
	parts, members := r.table.view()
	held := r.held()
	for p, e := range parts {
		if !held[int32(p)] && e.free(now) {
			if r.freeSince[int32(p)].IsZero() {
				r.freeSince[int32(p)] = now
			}
		} else {
			delete(r.freeSince, int32(p))
		}
	}
	take, overflow, giveUp := plan(planInput{
		now: now, self: r.in.cfg.Instance, parts: parts, members: members, held: held,
		freeSince: r.freeSince, sticky: r.sticky, overflowAfter: 2 * r.ttl, refused: r.refused,
	})
	for _, p := range take {
		if ctx.Err() != nil {
			return
		}
		r.acquire(ctx, p, parts[p])
	}
	if len(take) == 0 && len(overflow) > 0 {
		p := overflow[0]
		free := now.Sub(r.freeSince[p]).Round(time.Millisecond)
		if r.acquire(ctx, p, parts[p]) {
			r.logf("nats-input: partition %d: free for %s with no taker; taking it over the fair share", p, free)
			r.sticky[p] = now.Add(20 * r.ttl)
		}
	}
	if len(giveUp) > 0 {
		r.handOver(ctx, giveUp)
	}
}

// publishOwned updates what Owned returns.
func (r *run) publishOwned() {
	ids := make([]int32, 0, len(r.shards))
	for id := range r.shards {
		ids = append(ids, id)
	}
	r.in.setOwned(ids)
}
