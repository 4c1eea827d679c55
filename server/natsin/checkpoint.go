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
	conflict  []int32 // written by another instance since we read it: not ours
	permanent []int32 // can never be stored as it is (too large)
	failed    []int32 // not stored this time (broker)
}

// errTooLarge is a checkpoint over the server's max_payload.
type errTooLarge struct{ error }

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
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				sh.failures = 0
			case isConflict(err):
				r.logf("nats-input: shard %s: checkpoint written by another instance meanwhile; dropping the shard", shardName(id))
				res.conflict = append(res.conflict, id)
			case errors.As(err, new(errTooLarge)):
				r.logf("nats-input: shard %s: %v; dropping the shard, its events with it", shardName(id), err)
				res.permanent = append(res.permanent, id)
			default:
				sh.failures++
				if ctx.Err() == nil && !r.in.isKilled() && r.connected() {
					r.bad("store "+shardName(id), "shard %s: store checkpoint: %v; its events wait for a stored one", shardName(id), err)
				}
				res.failed = append(res.failed, id)
			}
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
	if limit := r.js.Conn().MaxPayload(); int64(len(b)) > limit {
		return errTooLarge{fmt.Errorf("checkpoint is %d bytes, over the server's max_payload of %d: raise max_payload in the nats-server configuration, or use more partitions", len(b), limit)}
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
// next successful cut releases it) — for all shards, so a shard whose
// checkpoints keep failing (maxStoreFailures in a row, or too large to
// store at all) is dropped, and left for a while, rather than hold back
// the events of every other. One that lost to another instance is dropped
// at once. Dropping comes first: the release must not let its events go.
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
	drop := append(res.conflict, res.permanent...)
	waiting := false
	for _, id := range res.failed {
		if r.shards[id].failures >= maxStoreFailures {
			r.logf("nats-input: shard %s: %d checkpoints in a row not stored; dropping the shard so that the others' events can go", shardName(id), r.shards[id].failures)
			drop = append(drop, id)
		} else {
			waiting = true
		}
	}
	if len(drop) > 0 {
		ps := partitionsOf(drop)
		for _, p := range ps {
			if !contains(res.conflict, p) {
				r.refused[p] = time.Now().Add(refuseFor)
			}
		}
		r.lose(ps, true)
	}
	if waiting {
		return
	}
	r.release(c.release)
	r.ack(c, nil)
}

// maxStoreFailures is how many checkpoints of a shard in a row may fail
// before the shard is given up.
const maxStoreFailures = 5

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
	notStored := append(append(res.conflict, res.permanent...), res.failed...)
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
