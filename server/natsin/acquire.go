package natsin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickrun/tickrun/server/cluster"
)

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
	news := []*shard{part}
	if p == 0 {
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
			d := r.ttl // the broker, again soon
			if errors.As(err, new(errCorrupt)) {
				d = refuseFor
			}
			return refuse("read checkpoint "+ck, err, d)
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
		d := r.ttl
		if errors.As(err, new(errCorrupt)) {
			d = refuseFor
		}
		return refuse("checkpoint", err, d)
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
			return errCorrupt{fmt.Errorf("shard %s resumes after offset %d, but stream %q ends at %d (made again?): delete its checkpoints in bucket %s-checkpoints to start over",
				shardName(sh.id), sh.last, r.in.cfg.Stream, state.LastSeq, r.in.cfg.Bucket)}
		}
		if sh.last > 0 && uint64(sh.last)+1 < state.FirstSeq {
			r.logf("nats-input: shard %s resumes after offset %d, but stream %q now starts at %d: the messages in between were removed by its limits unread", shardName(sh.id), sh.last, r.in.cfg.Stream, state.FirstSeq)
		}
	}
	return nil
}

// errCorrupt is a checkpoint that cannot be used.
type errCorrupt struct{ error }

func (e errCorrupt) Unwrap() error { return e.error }

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
		return nil, 0, errCorrupt{fmt.Errorf("key %s revision %d: %w", key, e.Revision(), err)}
	}
	for part, off := range cp.Offsets {
		if part < 0 || int(part) >= r.in.cfg.Partitions || off < 0 {
			return nil, 0, errCorrupt{fmt.Errorf("key %s revision %d: offset %d of partition %d out of range", key, e.Revision(), off, part)}
		}
	}
	return cp, e.Revision(), nil
}
