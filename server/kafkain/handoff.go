package kafkain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tickrun/tickrun/server/cluster"
)

// cutOwned cuts every shard owned, at once.
func (in *Input) cutOwned(cl *kgo.Client) {
	in.handMu.Lock()
	defer in.handMu.Unlock()
	shards := in.Owned()
	if len(shards) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(in.killCtx, cutTimeout)
	defer cancel()
	if err := in.checkpoint(ctx, cl, shards); err != nil {
		in.logf("cut of shards %v not stored: %v", shards, err)
	}
}

// checkpoint cuts shards, stores their checkpoints, releases the events of
// the cut and commits the offset after the cut's of each partition among
// the shards. An error means nothing was released.
func (in *Input) checkpoint(ctx context.Context, cl *kgo.Client, shards []int32) error {
	until, err := in.member(ctx, cl)
	if err != nil {
		return err
	}
	if !in.enter() {
		return ErrKilled
	}
	cps, release := in.sink.Cut(shards)
	in.exit()
	for _, s := range shards {
		if cps[s] == nil {
			return fmt.Errorf("the sink cut no checkpoint of shard %d", s)
		}
	}
	sctx, cancel := context.WithDeadline(ctx, until)
	err = in.storeCheckpoints(sctx, cps)
	cancel()
	if err != nil {
		return err
	}
	if !in.enter() {
		return ErrKilled
	}
	if release != nil {
		release()
	}
	in.exit()

	commit := make(map[int32]kgo.EpochOffset)
	for _, s := range shards {
		if s == cluster.Global {
			continue // read without the group: its checkpoint is its commit
		}
		if off, ok := cps[s].Offsets[s]; ok {
			commit[s] = kgo.EpochOffset{Epoch: -1, Offset: off + 1}
		}
	}
	if len(commit) == 0 {
		return nil
	}
	cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{in.cfg.Topic: commit},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			// The checkpoints are stored: a failed commit only leaves
			// the group's offset behind, and the next owner skips to
			// the checkpoint's.
			if err != nil {
				in.logf("commit offsets %v of %s: %v", commit, in.cfg.Topic, err)
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
						in.logf("commit offset of %s partition %d: %v", t.Topic, p.Partition, err)
					}
				}
			}
		})
	return nil
}

// member proves, with a heartbeat of its own, that the group still counts
// this instance in, and returns until when its checkpoints may be stored:
// the group gives no partition of a live member to another before the
// member has given it up, but it does give away those of a member whose
// session timed out, and a checkpoint such a zombie stored after its
// successor's would win. The heartbeat refreshes the session; the broker
// cannot time the member out before its send time + session-timeout, and
// a heartbeat-interval is kept in hand.
func (in *Input) member(ctx context.Context, cl *kgo.Client) (until time.Time, err error) {
	id, gen := cl.GroupMetadata()
	if id == "" {
		return time.Time{}, errors.New("not a member of the group yet")
	}
	sent := time.Now()
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.MemberID, req.Generation = in.cfg.Group, id, gen
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return time.Time{}, fmt.Errorf("heartbeat: %w", err)
	}
	// A rebalance in progress still counts the member in: it must
	// rejoin, and give up what it loses, before anyone else gets it.
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil && !errors.Is(err, kerr.RebalanceInProgress) {
		return time.Time{}, fmt.Errorf("the group no longer counts this instance in: %w", err)
	}
	return sent.Add(time.Duration(in.cfg.SessionTimeout - in.cfg.HeartbeatInterval)), nil
}

// handOff gives shards up: the last cut, stored and committed (retried
// until handOffTimeout), then Drop.
func (in *Input) handOff(cl *kgo.Client, shards []int32) {
	ctx, cancel := context.WithTimeout(in.killCtx, handOffTimeout)
	defer cancel()
	for {
		err := in.checkpoint(ctx, cl, shards)
		if err == nil || errors.Is(err, ErrKilled) {
			break
		}
		if ctx.Err() != nil {
			in.logf("gave up shards %v without storing their last cut (%v): their next owner starts from the cut before", shards, err)
			break
		}
		in.logf("hand-off of shards %v: %v (retrying)", shards, err)
		sleep(ctx, 200*time.Millisecond)
	}
	in.drop(shards)
}

// drop tells the sink to forget shards and forgets them.
func (in *Input) drop(shards []int32) {
	if len(shards) == 0 {
		return
	}
	if in.enter() {
		in.sink.Drop(shards)
		in.exit()
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, s := range shards {
		if s == cluster.Global {
			in.global = nil
			continue
		}
		delete(in.owned, s)
		delete(in.next, s)
	}
}

// onAssigned restores the partitions the group gives, and Global with
// partition 0, before any of their records is written.
func (in *Input) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	if in.killed.Load() {
		return
	}
	in.handMu.Lock()
	defer in.handMu.Unlock()
	in.mu.Lock()
	var parts []int32
	for _, p := range assigned[in.cfg.Topic] {
		if !in.owned[p] { // the group does not give twice; if it did, keep the state
			parts = append(parts, p)
		}
	}
	in.mu.Unlock()
	if len(parts) == 0 {
		return
	}
	slices.Sort(parts)
	shards := parts
	withGlobal := parts[0] == 0
	if withGlobal {
		shards = append([]int32{cluster.Global}, parts...)
	}
	var cps map[int32]*cluster.Checkpoint
	if !in.retry(in.leaveCtx, "read checkpoints", func(ctx context.Context) (err error) {
		cps, err = in.readCheckpoints(ctx, in.adm, shards)
		return err
	}) {
		return
	}
	for _, p := range parts {
		if !in.restore(p, cps[p]) {
			return
		}
		in.mu.Lock()
		in.owned[p] = true
		delete(in.next, p)
		if cp := cps[p]; cp != nil {
			if off, ok := cp.Offsets[p]; ok {
				in.next[p] = off + 1
			}
		}
		in.mu.Unlock()
	}
	if withGlobal {
		if !in.restore(cluster.Global, cps[cluster.Global]) {
			return
		}
		g := in.startGlobal(cps[cluster.Global])
		if g == nil { // stopping
			if in.enter() {
				in.sink.Drop([]int32{cluster.Global})
				in.exit()
			}
			return
		}
		in.mu.Lock()
		in.global = g
		in.mu.Unlock()
	}
}

// restore gives the sink a shard; false if the input is stopping.
func (in *Input) restore(shard int32, cp *cluster.Checkpoint) bool {
	if in.stopping() || !in.enter() {
		return false
	}
	err := in.sink.Restore(shard, cp)
	in.exit()
	if err != nil {
		// The checkpoint's offsets still hold: its events were
		// delivered by the shard's last owner.
		in.logf("restore shard %d: %v: reading on from the checkpoint's offsets without its state", shard, err)
	}
	return true
}

// adjustOffsets makes the group read each partition restored from the
// offset after its checkpoint's, whatever the group's committed offset.
func (in *Input) adjustOffsets(_ context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for p := range offsets[in.cfg.Topic] {
		if n, ok := in.next[p]; ok && in.owned[p] {
			offsets[in.cfg.Topic][p] = kgo.NewOffset().At(n)
		}
	}
	return offsets, nil
}

// onRevoked hands off the partitions the group takes away, and Global
// with partition 0.
func (in *Input) onRevoked(_ context.Context, cl *kgo.Client, revoked map[string][]int32) {
	if in.killed.Load() {
		return
	}
	in.handMu.Lock()
	defer in.handMu.Unlock()
	shards := in.takeBack(revoked[in.cfg.Topic])
	if len(shards) > 0 {
		in.handOff(cl, shards)
	}
}

// onLost drops the partitions the group took away without asking (a
// session that timed out, a fatal group error): there is no cut, their
// held events are discarded.
func (in *Input) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	if in.killed.Load() {
		return
	}
	in.handMu.Lock()
	defer in.handMu.Unlock()
	shards := in.takeBack(lost[in.cfg.Topic])
	if len(shards) > 0 {
		in.logf("lost shards %v to the group: dropped without a cut", shards)
		in.drop(shards)
	}
}

// takeBack returns the owned shards among parts, with Global if partition
// 0 is among them, and stops reading Global.
func (in *Input) takeBack(parts []int32) []int32 {
	in.mu.Lock()
	var shards []int32
	for _, p := range parts {
		if in.owned[p] {
			shards = append(shards, p)
		}
	}
	g := in.global
	if !slices.Contains(shards, 0) {
		g = nil
	}
	in.mu.Unlock()
	slices.Sort(shards)
	if g != nil {
		g.stop()
		shards = append([]int32{cluster.Global}, shards...)
	}
	return shards
}
