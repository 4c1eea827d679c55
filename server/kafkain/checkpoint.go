package kafkain

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tickrun/tickrun/server/cluster"
)

// maxCheckpointBytes bounds one stored checkpoint (gzipped): the
// checkpoint topic is created with this max.message.bytes and the producer
// sends batches up to it. Kafka's default for other topics is 1 MiB.
const maxCheckpointBytes = 16 << 20

// checkpointTopicConfigs are the configs the checkpoint topic is created
// with: compacted, so it keeps the latest checkpoint of each shard, with
// segments rolled every 10 minutes so the cleaner gets to them (Kafka
// never cleans the active segment, 7 days by default).
var checkpointTopicConfigs = map[string]*string{
	"cleanup.policy":            kadm.StringPtr("compact"),
	"segment.ms":                kadm.StringPtr("600000"),
	"min.cleanable.dirty.ratio": kadm.StringPtr("0.1"),
	"max.message.bytes":         kadm.StringPtr(strconv.Itoa(maxCheckpointBytes)),
}

// globalKey is the checkpoint key of cluster.Global.
const globalKey = "global"

// shardKey returns the checkpoint key of a shard: "p.3" or "global".
func shardKey(shard int32) string {
	if shard == cluster.Global {
		return globalKey
	}
	return "p." + strconv.Itoa(int(shard))
}

// ensureCheckpointTopic creates the checkpoint topic if it is missing and
// says so if an existing one is not compacted.
func (in *Input) ensureCheckpointTopic(ctx context.Context, adm *kadm.Client) error {
	topic := in.cfg.CheckpointTopic
	_, err := adm.CreateTopic(ctx, 1, -1, checkpointTopicConfigs, topic)
	if err == nil {
		in.logf("created checkpoint topic %s (compacted)", topic)
		return nil
	}
	if !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create checkpoint topic %s: %w", topic, err)
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return nil // it exists; the policy is only worth a warning
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		return nil
	}
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && c.Value != nil && !strings.Contains(*c.Value, "compact") {
			in.logf("checkpoint topic %s has cleanup.policy=%s, not compact: it will grow, or lose checkpoints to retention", topic, *c.Value)
		}
	}
	return nil
}

// readCheckpoints reads the checkpoint topic to its high watermark and
// returns the latest checkpoint of each shard asked for; a shard with none,
// or whose latest value does not decode, is absent.
func (in *Input) readCheckpoints(ctx context.Context, adm *kadm.Client, shards []int32) (map[int32]*cluster.Checkpoint, error) {
	topic := in.cfg.CheckpointTopic
	want := make(map[string]int32, len(shards))
	for _, s := range shards {
		want[shardKey(s)] = s
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list start offsets of %s: %w", topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	from := make(map[int32]kgo.Offset)
	last := make(map[int32]int64) // the offset to read up to, per partition
	ends.Each(func(o kadm.ListedOffset) {
		start, ok := starts.Lookup(topic, o.Partition)
		if !ok || o.Offset <= start.Offset {
			return
		}
		from[o.Partition] = kgo.NewOffset().At(start.Offset)
		last[o.Partition] = o.Offset - 1
	})
	latest := make(map[string][]byte)
	if len(from) > 0 {
		cl, err := kgo.NewClient(append(in.clientOpts(),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		)...)
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		for len(last) > 0 {
			fs := cl.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("read %s: %w", topic, err)
			}
			fs.EachError(func(t string, p int32, err error) {
				in.logf("read checkpoint topic %s partition %d: %v (retrying)", t, p, err)
			})
			fs.EachRecord(func(r *kgo.Record) {
				if _, ok := want[string(r.Key)]; ok {
					latest[string(r.Key)] = r.Value
				}
				if end, ok := last[r.Partition]; ok && r.Offset >= end {
					delete(last, r.Partition)
				}
			})
		}
	}
	cps := make(map[int32]*cluster.Checkpoint, len(latest))
	for key, v := range latest {
		if v == nil {
			continue // a tombstone: no checkpoint
		}
		cp, err := cluster.Decode(v)
		if err != nil {
			in.logf("checkpoint %s in %s: %v: restoring the shard without it", key, topic, err)
			continue
		}
		if cp.Offsets == nil {
			cp.Offsets = map[int32]int64{}
		}
		cps[want[key]] = cp
	}
	return cps, nil
}

// storeCheckpoints produces the checkpoints, waiting for all in-sync
// replicas. It fills in Instance and Time if the sink left them empty.
func (in *Input) storeCheckpoints(ctx context.Context, cps map[int32]*cluster.Checkpoint) error {
	recs := make([]*kgo.Record, 0, len(cps))
	now := time.Now()
	for shard, cp := range cps {
		if cp == nil {
			return fmt.Errorf("shard %d: the sink cut no checkpoint", shard)
		}
		if cp.Instance == "" {
			cp.Instance = in.cfg.Instance
		}
		if cp.Time.IsZero() {
			cp.Time = now
		}
		b, err := cluster.Encode(cp)
		if err != nil {
			return fmt.Errorf("shard %d: encode checkpoint: %w", shard, err)
		}
		if len(b) > maxCheckpointBytes {
			return fmt.Errorf("shard %d: checkpoint of %d bytes is over the %d bytes stored", shard, len(b), maxCheckpointBytes)
		}
		recs = append(recs, &kgo.Record{Topic: in.cfg.CheckpointTopic, Key: []byte(shardKey(shard)), Value: b})
	}
	if len(recs) == 0 {
		return nil
	}
	if err := in.aux.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("store checkpoints in %s: %w", in.cfg.CheckpointTopic, err)
	}
	return nil
}
