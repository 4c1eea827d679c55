package natsin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
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
	wg          sync.WaitGroup
	warn        limiter

	ttl, tick, opTimeout time.Duration

	memberRev uint64
	memberExp time.Time
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
	it       jetstream.MessagesContext
	cons     jetstream.Consumer
	done     chan struct{}

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
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
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

// watch keeps the table up to date with the leases bucket.
func (r *run) watch(ctx context.Context) {
	defer r.wg.Done()
	var b backoff
	first := true
	for ctx.Err() == nil {
		w, err := r.leases.WatchAll(ctx)
		if err != nil {
			if r.in.isKilled() {
				return
			}
			d := b.next()
			r.logf("nats-input: watch bucket %s-leases: %v; retrying in %s", r.in.cfg.Bucket, err, d)
			if !sleep(ctx, d) {
				return
			}
			continue
		}
		b = backoff{}
		for e := range w.Updates() {
			if e == nil {
				if first {
					close(r.synced)
					first = false
				}
				continue
			}
			r.table.set(e.Key(), e.Value(), e.Revision(), e.Operation() != jetstream.KeyValuePut)
			r.notify()
		}
		_ = w.Stop()
		if !sleep(ctx, 100*time.Millisecond) {
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
	r.memberRev, r.memberExp = rev, exp
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
		if r.acquire(ctx, p, parts[p]) {
			r.logf("nats-input: partition %d: free for %s with no taker; taking it over the fair share", p, now.Sub(r.freeSince[p]).Round(time.Millisecond))
			r.sticky[p] = now.Add(20 * r.ttl)
		}
	}
	if len(giveUp) > 0 {
		r.handOver(ctx, giveUp)
	}
}

// acquire takes the lease of partition p, restores its checkpoint (and the
// Global one with partition 0) and starts reading. It reports whether p is
// now owned.
func (r *run) acquire(ctx context.Context, p int32, seen leaseEntry) bool {
	octx, cancel := r.op(ctx)
	defer cancel()
	key := partKey(p)
	exp := time.Now().Add(r.ttl)
	val := encodeLease(lease{Instance: r.in.cfg.Instance, Expires: exp})
	var rev uint64
	var err error
	if seen.rev == 0 || seen.deleted {
		rev, err = r.leases.Create(octx, key, val)
	} else {
		// Expired as the watcher saw it: check the current entry, then
		// replace exactly it.
		var e jetstream.KeyValueEntry
		e, err = r.leases.Get(octx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted):
			rev, err = r.leases.Create(octx, key, val)
		case err != nil:
		case !time.Now().Before(decodeLease(e.Value()).Expires):
			rev, err = r.leases.Update(octx, key, val, e.Revision())
		default:
			return false // renewed meanwhile
		}
	}
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && ctx.Err() == nil {
			r.logf("nats-input: partition %d: take lease: %v", p, err)
		}
		return false
	}
	r.table.set(key, val, rev, false)
	part := &shard{id: p, leaseRev: rev, leaseExp: exp}
	ids := []int32{p}
	news := []*shard{part}
	if p == 0 {
		ids = append(ids, cluster.Global)
		news = append(news, &shard{id: cluster.Global})
	}
	var restored []int32
	refuse := func(why string, err error, d time.Duration) bool {
		r.logf("nats-input: partition %d: %s: %v; leaving it for %s", p, why, err, d)
		r.refused[p] = time.Now().Add(d)
		r.in.guard.Lock()
		for _, sh := range news {
			sh.stopped = true
		}
		r.in.guard.Unlock()
		for _, sh := range news {
			if sh.it != nil {
				sh.it.Stop()
			}
		}
		if len(restored) > 0 {
			r.drop(restored)
		}
		dctx, cancel := r.op(context.WithoutCancel(ctx))
		defer cancel()
		_ = r.leases.Delete(dctx, key, jetstream.LastRevision(rev))
		return false
	}
	// A checkpoint that cannot be read is refused, not replaced by a fresh
	// start: starting over would replay the whole stream into the tasks
	// (alerts sent again) and starting at the end would skip data, both
	// silently. The partition stalls with an error in the log until the
	// key is fixed or deleted (nats kv del <bucket>-checkpoints p.N
	// chooses a start from scratch).
	cps := make([]*cluster.Checkpoint, len(news))
	for i, sh := range news {
		ck := key
		if sh.id == cluster.Global {
			ck = globalKey
		}
		cctx, cancel := r.op(ctx)
		cp, cpRev, err := r.readCheckpoint(cctx, ck)
		cancel()
		if err != nil {
			return refuse("read checkpoint "+ck, err, refuseFor)
		}
		cps[i], sh.cpRev = cp, cpRev
		sh.offsets = map[int32]int64{}
		if cp != nil {
			for part, off := range cp.Offsets {
				sh.offsets[part] = off
				if sh.id == cluster.Global || part == p {
					sh.last = max(sh.last, off)
				}
			}
		}
	}
	if err := r.checkStart(ctx, news); err != nil {
		return refuse("checkpoint", err, refuseFor)
	}
	for i, sh := range news {
		if err := r.restore(sh.id, cps[i]); err != nil {
			restored = append(restored, sh.id) // it may hold part of it
			return refuse("restore checkpoint", err, refuseFor)
		}
		restored = append(restored, sh.id)
	}
	for _, sh := range news {
		sctx, cancel := r.op(ctx)
		err := r.startReader(sctx, sh)
		cancel()
		if err != nil {
			return refuse("start consumer", err, r.ttl)
		}
	}
	for _, sh := range news {
		r.shards[sh.id] = sh
	}
	delete(r.freeSince, p)
	r.publishOwned()
	return true
}

// checkStart compares where the shards resume with the stream. A
// checkpoint beyond the stream's end means the stream was deleted and made
// again: resuming would skip everything up to the old offset, silently, so
// the partition is refused until its checkpoints are deleted. A start
// before the stream's first message means messages were removed by the
// stream's limits unread: said, and read from what is left.
func (r *run) checkStart(ctx context.Context, news []*shard) error {
	octx, cancel := r.op(ctx)
	defer cancel()
	st, err := r.js.Stream(octx, r.in.cfg.Stream)
	if err != nil {
		return err
	}
	state := st.CachedInfo().State
	for _, sh := range news {
		if sh.last > int64(state.LastSeq) {
			return fmt.Errorf("shard %s resumes after offset %d, but stream %q ends at %d (made again?): delete its checkpoints in bucket %s-checkpoints to start over",
				shardName(sh.id), sh.last, r.in.cfg.Stream, state.LastSeq, r.in.cfg.Bucket)
		}
		if sh.last > 0 && uint64(sh.last)+1 < state.FirstSeq {
			r.logf("nats-input: shard %s resumes after offset %d, but stream %q now starts at %d: the messages in between were removed by its limits unread", shardName(sh.id), sh.last, r.in.cfg.Stream, state.FirstSeq)
		}
	}
	return nil
}

// readCheckpoint returns the checkpoint under key and its revision; nil
// and 0 for none.
func (r *run) readCheckpoint(ctx context.Context, key string) (*cluster.Checkpoint, uint64, error) {
	e, err := r.checkpoints.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	cp, err := cluster.Decode(e.Value())
	if err != nil {
		return nil, 0, fmt.Errorf("key %s revision %d: %w", key, e.Revision(), err)
	}
	for part, off := range cp.Offsets {
		if part < 0 || int(part) >= r.in.cfg.Partitions || off < 0 {
			return nil, 0, fmt.Errorf("key %s revision %d: offset %d of partition %d out of range", key, e.Revision(), off, part)
		}
	}
	return cp, e.Revision(), nil
}

// consumerName names the durable consumer of a shard.
func (r *run) consumerName(id int32) string {
	if id == cluster.Global {
		return r.in.cfg.Bucket + "-global"
	}
	return r.in.cfg.Bucket + "-p" + strconv.Itoa(int(id))
}

// startReader (re)creates the shard's durable consumer to start right
// after its checkpoint, and starts its reader.
func (r *run) startReader(ctx context.Context, sh *shard) error {
	name := r.consumerName(sh.id)
	if err := r.js.DeleteConsumer(ctx, r.in.cfg.Stream, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("delete consumer %s: %w", name, err)
	}
	cc := jetstream.ConsumerConfig{
		Durable:       name,
		Description:   fmt.Sprintf("tickrun nats-input, instance %s", r.in.cfg.Instance),
		FilterSubject: r.in.sch.filter(sh.id),
		AckPolicy:     jetstream.AckAllPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		// Acks come once per checkpoint: allow any number pending, and
		// wait long before redelivering (redeliveries are skipped anyway).
		MaxAckPending: -1,
		AckWait:       max(30*time.Second, 10*time.Duration(r.in.cfg.CheckpointInterval)),
	}
	if sh.last > 0 {
		cc.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cc.OptStartSeq = uint64(sh.last) + 1
	}
	cons, err := r.js.CreateConsumer(ctx, r.in.cfg.Stream, cc)
	if err != nil {
		return fmt.Errorf("create consumer %s: %w", name, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(1000))
	if err != nil {
		return fmt.Errorf("consume %s: %w", name, err)
	}
	sh.cons, sh.it, sh.done = cons, it, make(chan struct{})
	r.wg.Add(1)
	go r.read(sh)
	return nil
}

// read is a shard's reader: it writes each message to the sink, in order.
func (r *run) read(sh *shard) {
	defer r.wg.Done()
	defer close(sh.done)
	for {
		msg, err := sh.it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			if errors.Is(err, jetstream.ErrNoHeartbeat) {
				// Quiet for long: normal after an outage, fatal if the
				// consumer is gone.
				ctx, cancel := context.WithTimeout(context.Background(), r.opTimeout)
				_, ierr := sh.cons.Info(ctx)
				cancel()
				if !errors.Is(ierr, jetstream.ErrConsumerNotFound) {
					continue
				}
				err = ierr
			}
			if !r.in.isKilled() {
				r.logf("nats-input: consumer %s: %v; giving the shard up", r.consumerName(sh.id), err)
				select {
				case r.lost <- sh:
				default:
				}
			}
			return
		}
		r.deliver(sh, msg)
	}
}

// deliver writes one message. The sequence check skips redeliveries and
// anything at or before the checkpoint.
func (r *run) deliver(sh *shard, msg jetstream.Msg) {
	md, err := msg.Metadata()
	if err != nil {
		r.bad("metadata", "message on %s: no JetStream metadata: %v", msg.Subject(), err)
		return
	}
	part, ok := r.in.sch.partition(msg.Subject())
	if !ok || (sh.id != cluster.Global && part != sh.id) {
		r.bad("subject", "consumer %s: message %d on %s belongs to no partition of %d; skipped", r.consumerName(sh.id), md.Sequence.Stream, msg.Subject(), r.in.cfg.Partitions)
		return
	}
	seq := int64(md.Sequence.Stream)
	r.in.guard.RLock()
	defer r.in.guard.RUnlock()
	if r.in.killed || sh.stopped || seq <= sh.last {
		return
	}
	r.sink.Write(sh.id, part, seq, msg.Data())
	sh.last, sh.lastMsg = seq, msg
	sh.offsets[part] = seq
}

// bad logs a bad message, rate-limited per kind.
func (r *run) bad(kind, format string, args ...any) {
	if n, ok := r.warn.allow(kind, time.Now()); ok {
		if n > 1 {
			format += " (" + strconv.Itoa(n-1) + " more like it since the last report)"
		}
		r.logf("nats-input: "+format, args...)
	}
}

// restore calls sink.Restore unless killed.
func (r *run) restore(id int32, cp *cluster.Checkpoint) error {
	r.in.guard.RLock()
	defer r.in.guard.RUnlock()
	if r.in.killed {
		return ErrKilled
	}
	return r.sink.Restore(id, cp)
}

// drop calls sink.Drop unless killed.
func (r *run) drop(ids []int32) {
	r.in.guard.RLock()
	defer r.in.guard.RUnlock()
	if !r.in.killed {
		r.sink.Drop(ids)
	}
}

// release calls a cut's release unless killed.
func (r *run) release(release func()) {
	r.in.guard.RLock()
	defer r.in.guard.RUnlock()
	if !r.in.killed && release != nil {
		release()
	}
}

// cut is a cut of shards: their checkpoints (offsets completed with what
// was written), the release, and the last message of each to ack.
type cut struct {
	ids     []int32
	cps     map[int32]*cluster.Checkpoint
	release func()
	last    map[int32]jetstream.Msg
}

// cut cuts shards ids, stopping their readers first if stop; ok is false
// once killed.
func (r *run) cut(ids []int32, stop bool) (c cut, ok bool) {
	r.in.guard.Lock()
	defer r.in.guard.Unlock()
	if r.in.killed {
		return c, false
	}
	for _, id := range ids {
		if stop {
			r.shards[id].stopped = true
		}
	}
	cps, release := r.sink.Cut(ids)
	c = cut{ids: ids, cps: map[int32]*cluster.Checkpoint{}, release: release, last: map[int32]jetstream.Msg{}}
	now := time.Now()
	for _, id := range ids {
		sh := r.shards[id]
		if m := sh.lastMsg; m != nil && m != sh.acked {
			c.last[id] = m
		}
		cp := cps[id]
		if cp == nil {
			continue
		}
		// The offsets are the sink's, completed with ours: a shard
		// restored and given no message since must not lose its
		// restored offsets (the next owner would replay from the start).
		x := *cp
		x.Offsets = make(map[int32]int64, len(cp.Offsets)+len(sh.offsets))
		for part, off := range cp.Offsets {
			x.Offsets[part] = off
		}
		for part, off := range sh.offsets {
			x.Offsets[part] = max(x.Offsets[part], off)
		}
		if x.Instance == "" {
			x.Instance = r.in.cfg.Instance
		}
		if x.Time.IsZero() {
			x.Time = now
		}
		c.cps[id] = &x
	}
	return c, true
}

// storeResult sorts the shards of a cut by how their checkpoint fared.
type storeResult struct {
	conflict []int32 // written by another instance since we read it: not ours
	failed   []int32 // not stored (broker, size)
}

// store writes the checkpoints of a cut, in parallel, each by revision:
// a checkpoint written meanwhile by another instance (which took the
// partition while this one still believed it held it) wins, and this
// instance must drop the shard without releasing its events.
func (r *run) store(ctx context.Context, c cut) storeResult {
	var mu sync.Mutex
	var res storeResult
	var wg sync.WaitGroup
	for _, id := range c.ids {
		sh := r.shards[id]
		cp := c.cps[id]
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := r.storeOne(ctx, sh, cp)
			if err == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if isConflict(err) {
				r.logf("nats-input: shard %s: checkpoint written by another instance meanwhile; dropping the shard", shardName(id))
				res.conflict = append(res.conflict, id)
				return
			}
			if ctx.Err() == nil && !r.in.isKilled() && r.connected() {
				r.logf("nats-input: shard %s: store checkpoint: %v", shardName(id), err)
			}
			res.failed = append(res.failed, id)
		}()
	}
	wg.Wait()
	return res
}

func (r *run) storeOne(ctx context.Context, sh *shard, cp *cluster.Checkpoint) error {
	if cp == nil {
		return errors.New("the sink returned no checkpoint for it")
	}
	b, err := cluster.Encode(cp)
	if err != nil {
		return err
	}
	key := globalKey
	if sh.id != cluster.Global {
		key = partKey(sh.id)
	}
	put := func() (uint64, error) {
		octx, cancel := r.op(ctx)
		defer cancel()
		if sh.cpRev == 0 {
			return r.checkpoints.Create(octx, key, b)
		}
		return r.checkpoints.Update(octx, key, b, sh.cpRev)
	}
	rev, err := put()
	if isConflict(err) && sh.unsure != nil && r.landed(ctx, key, sh.unsure, sh) {
		// The conflict is our own earlier write, whose answer was lost:
		// it counts (this cut's release releases its events too).
		rev, err = put()
	}
	switch {
	case err == nil:
		sh.cpRev, sh.unsure = rev, nil
		return nil
	case isConflict(err):
		return err
	}
	// No answer: the write may have landed all the same. Look, or
	// remember it for the next cut to check.
	if r.landed(ctx, key, b, sh) {
		sh.unsure = nil
		return nil
	}
	sh.unsure = b
	return err
}

func isConflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

// landed reports whether key holds exactly b, a write of ours whose
// answer was lost, and takes its revision.
func (r *run) landed(ctx context.Context, key string, b []byte, sh *shard) bool {
	octx, cancel := r.op(ctx)
	defer cancel()
	e, err := r.checkpoints.Get(octx, key)
	if err != nil || e.Revision() <= sh.cpRev || !bytes.Equal(e.Value(), b) {
		return false
	}
	sh.cpRev = e.Revision()
	return true
}

func shardName(id int32) string {
	if id == cluster.Global {
		return "global"
	}
	return strconv.Itoa(int(id))
}

// ack acks the last message of each shard of a cut; with AckAll that acks
// everything before it.
func (r *run) ack(c cut, skip []int32) {
	for id, m := range c.last {
		if contains(skip, id) {
			continue
		}
		sh := r.shards[id]
		if sh == nil { // lost meanwhile
			continue
		}
		_ = m.Ack() // a lost ack only leaves the consumer's floor behind
		sh.acked = m
	}
}

func contains(ids []int32, id int32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// checkpoint cuts every owned shard, stores the checkpoints, releases and
// acks. A checkpoint that could not be stored holds the release back (the
// next successful cut releases it); one that lost to another instance
// drops its shard first.
func (r *run) checkpoint(ctx context.Context) {
	if len(r.shards) == 0 {
		return
	}
	ids := make([]int32, 0, len(r.shards))
	for id := range r.shards {
		ids = append(ids, id)
	}
	c, ok := r.cut(ids, false)
	if !ok {
		return
	}
	res := r.store(ctx, c)
	if len(res.conflict) > 0 {
		r.lose(partitionsOf(res.conflict), true)
	}
	if len(res.failed) > 0 {
		return
	}
	r.release(c.release)
	r.ack(c, res.conflict)
}

// partitionsOf maps Global to partition 0, which it goes with.
func partitionsOf(ids []int32) []int32 {
	var ps []int32
	for _, id := range ids {
		if id == cluster.Global {
			id = 0
		}
		if !contains(ps, id) {
			ps = append(ps, id)
		}
	}
	return ps
}

// withGlobal adds Global to partitions that hold 0, if owned.
func (r *run) withGlobal(parts []int32) []int32 {
	ids := append([]int32(nil), parts...)
	if contains(parts, 0) && r.shards[cluster.Global] != nil && !contains(parts, cluster.Global) {
		ids = append(ids, cluster.Global)
	}
	return ids
}

// handOver gives partitions up gracefully: stop reading, cut, store,
// release, ack, drop, delete the leases, so that the next owner starts
// exactly where this one stopped.
func (r *run) handOver(ctx context.Context, parts []int32) {
	ids := r.withGlobal(parts)
	c, ok := r.cut(ids, true)
	for _, id := range ids {
		r.shards[id].it.Stop()
	}
	if !ok {
		return
	}
	res := r.store(ctx, c)
	notStored := append(res.conflict, res.failed...)
	if len(notStored) > 0 {
		r.drop(notStored)
		r.logf("nats-input: shards %v given up without a stored checkpoint: their events since the last one are dropped, and the next owner produces them again", notStored)
	}
	r.release(c.release)
	r.ack(c, notStored)
	var stored []int32
	for _, id := range ids {
		if !contains(notStored, id) {
			stored = append(stored, id)
		}
	}
	if len(stored) > 0 {
		r.drop(stored)
	}
	r.deleteLeases(ctx, parts)
	for _, id := range ids {
		delete(r.shards, id)
	}
	r.publishOwned()
	r.logf("nats-input: handed over partitions %v", parts)
}

// lose drops partitions without a cut: their lease went to another
// instance, could not be renewed, or their consumer is gone. With
// deleteLease the lease, still ours, is freed for whoever comes next.
func (r *run) lose(parts []int32, deleteLease bool) {
	ids := r.withGlobal(parts)
	r.in.guard.Lock()
	for _, id := range ids {
		if sh := r.shards[id]; sh != nil {
			sh.stopped = true
		}
	}
	r.in.guard.Unlock()
	var owned []int32
	for _, id := range ids {
		if sh := r.shards[id]; sh != nil {
			sh.it.Stop()
			owned = append(owned, id)
		}
	}
	r.drop(owned)
	if deleteLease {
		r.deleteLeases(context.Background(), parts)
	}
	for _, id := range ids {
		delete(r.shards, id)
	}
	r.publishOwned()
}

// deleteLeases deletes the leases of parts, each only if still ours.
func (r *run) deleteLeases(ctx context.Context, parts []int32) {
	var wg sync.WaitGroup
	for _, p := range parts {
		sh := r.shards[p]
		if sh == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			octx, cancel := r.op(context.WithoutCancel(ctx))
			defer cancel()
			if err := r.leases.Delete(octx, partKey(p), jetstream.LastRevision(sh.leaseRev)); err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !r.in.isKilled() {
				r.logf("nats-input: partition %d: delete lease: %v (it expires in %s)", p, err, time.Until(sh.leaseExp).Round(time.Millisecond))
			}
		}()
	}
	wg.Wait()
}

// handOverAll hands everything over on the way out: the member key first,
// so that the others count one instance less when they take the
// partitions.
func (r *run) handOverAll() {
	ctx := context.Background()
	octx, cancel := r.op(ctx)
	_ = r.leases.Delete(octx, memberKey(r.in.cfg.Instance), jetstream.LastRevision(r.memberRev))
	cancel()
	if parts := r.held(); len(parts) > 0 {
		ps := make([]int32, 0, len(parts))
		for p := range parts {
			ps = append(ps, p)
		}
		r.handOver(ctx, ps)
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
