package natsin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickrun/tickrun/server/cluster"
)

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
	sh.cons, sh.it = cons, it
	r.wg.Add(1)
	go r.read(sh)
	return nil
}

// read is a shard's reader: it writes each message to the sink, in order.
func (r *run) read(sh *shard) {
	defer r.wg.Done()
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
