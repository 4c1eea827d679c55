package kafkain

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tickrun/tickrun/server/cluster"
)

// globalReader reads every partition of the topic for cluster.Global,
// with a client of its own outside the group: its position is its
// checkpoint's offsets, never a group commit.
type globalReader struct {
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}
}

// startGlobal starts reading Global from cp's offsets + 1, and from the
// first record of a partition cp does not name; nil if the input is
// stopping before the topic's partitions are known.
func (in *Input) startGlobal(cp *cluster.Checkpoint) *globalReader {
	var parts []int32
	if !in.retry(in.leaveCtx, "partitions of "+in.cfg.Topic, func(ctx context.Context) error {
		td, err := in.adm.ListTopics(ctx, in.cfg.Topic)
		if err != nil {
			return err
		}
		t, ok := td[in.cfg.Topic]
		if !ok {
			return errors.New("topic missing from metadata")
		}
		if t.Err != nil {
			return t.Err
		}
		parts = parts[:0]
		for p := range t.Partitions {
			parts = append(parts, p)
		}
		if len(parts) == 0 {
			return fmt.Errorf("topic %s has no partitions", in.cfg.Topic)
		}
		return nil
	}) {
		return nil
	}
	from := make(map[int32]kgo.Offset, len(parts))
	next := make(map[int32]int64, len(parts))
	for _, p := range parts {
		from[p] = kgo.NewOffset().AtStart()
		if cp != nil {
			if off, ok := cp.Offsets[p]; ok {
				from[p] = kgo.NewOffset().At(off + 1)
				next[p] = off + 1
			}
		}
	}
	cl, err := kgo.NewClient(append(in.clientOpts(),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{in.cfg.Topic: from}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil { // only bad options fail here, and New checked them
		in.logf("global reader: %v", err)
		return nil
	}
	ctx, cancel := context.WithCancel(in.killCtx)
	g := &globalReader{cl: cl, cancel: cancel, done: make(chan struct{})}
	go g.run(ctx, in, next)
	return g
}

// run writes what the reader fetches to Global until ctx ends.
func (g *globalReader) run(ctx context.Context, in *Input, next map[int32]int64) {
	defer close(g.done)
	for {
		fs := g.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, kgo.ErrClientClosed) {
				in.logf("global reader: fetch %s partition %d: %v (retrying)", t, p, err)
			}
		})
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			if len(fp.Records) == 0 || !in.enter() {
				return
			}
			n := next[fp.Partition]
			for _, r := range fp.Records {
				if r.Offset < n {
					continue
				}
				in.sink.Write(cluster.Global, fp.Partition, r.Offset, r.Value)
				n = r.Offset + 1
			}
			next[fp.Partition] = n
			in.exit()
		})
	}
}

// stop ends the reader and waits for its last write.
func (g *globalReader) stop() {
	g.cancel()
	<-g.done
	g.cl.Close()
}
