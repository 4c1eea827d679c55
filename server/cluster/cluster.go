// Package cluster is the contract between the broker inputs of a
// scaled-out server (server/natsin for NATS JetStream, server/kafkain for
// Kafka) and the engine that runs the tasks.
//
// The broker divides the stream into partitions and says which instance
// owns which; an input reads the partitions its instance owns and gives
// every message to a Sink. A shard is what an instance owns and hands
// over as a whole: one partition, for the tasks that run sharded (every
// group key contains the partition key), or Global, for the tasks that run
// on one instance only over every partition (the owner of partition 0).
//
// Handover is by checkpoint. At an interval, and before it gives shards
// up, the input asks the sink for a Cut: the state of the shards' groups
// and, per broker partition, the offset of the last message processed.
// The input stores the checkpoint in the broker (a JetStream KV bucket, a
// compacted Kafka topic) and only then calls release, which lets the
// events produced up to the cut go to their handlers, and then acks or
// commits the offsets. The next owner restores the checkpoint and reads
// from the message after its offsets: what the old owner processed after
// its last cut was never delivered, so it is produced again, once.
package cluster

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Global is the shard of the tasks that run on one elected instance,
// reading every partition: the instance that owns partition 0 owns it.
const Global int32 = -1

// Checkpoint is the state of one shard at a cut.
type Checkpoint struct {
	// Offsets holds, per broker partition, the offset of the last message
	// processed (a Kafka offset; a JetStream stream sequence): a reader
	// resumes after it. A partition absent was never read.
	Offsets map[int32]int64 `json:"offsets"`
	// State is the tasks' state of the shard's groups, opaque to inputs.
	State []byte `json:"state,omitempty"`
	// Instance and Time tell who cut it and when.
	Instance string    `json:"instance"`
	Time     time.Time `json:"time"`
}

// Sink processes the messages of the shards an instance owns. Write may
// be called from several goroutines at once; Cut waits for the writes in
// progress and holds new ones back while it cuts.
type Sink interface {
	// Restore gives the sink a shard it now owns, with the shard's last
	// checkpoint (nil for none), before any message of it.
	Restore(shard int32, cp *Checkpoint) error
	// Write processes the body (line protocol) of one message of broker
	// partition part at offset off, for shard (part itself, or Global).
	Write(shard, part int32, off int64, body []byte)
	// Cut takes a checkpoint of each of shards. The events produced so far
	// are held until release is called, after the checkpoints are stored;
	// a cut whose checkpoints could not be stored is released all the
	// same by the next successful one (its events are older).
	Cut(shards []int32) (cps map[int32]*Checkpoint, release func())
	// Drop forgets the state of shards given up (after a stored cut) or
	// lost (without one): their held events are discarded.
	Drop(shards []int32)
}

// Input is a broker input: it takes partitions from its broker and feeds
// their messages to a Sink until the context ends.
type Input interface {
	// Run reads until ctx ends; it gives up its shards with a last cut
	// on the way out.
	Run(ctx context.Context, sink Sink) error
	// Kill stops at once, as a crash would: no last cut, no ack or commit,
	// no lease or group left; the broker learns of it by timeout.
	Kill()
	// Owned returns the shards the input owns now.
	Owned() []int32
}

// Encode returns cp as gzipped JSON, as the inputs store it.
func Encode(cp *Checkpoint) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(cp); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// maxCheckpoint bounds a decoded checkpoint (a hostile or corrupt value
// must not take the memory).
const maxCheckpoint = 256 << 20

// Decode reads a checkpoint Encode wrote.
func Decode(b []byte) (*Checkpoint, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, maxCheckpoint+1))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if len(data) > maxCheckpoint {
		return nil, fmt.Errorf("checkpoint: larger than %d bytes", maxCheckpoint)
	}
	var cp Checkpoint
	if err := json.Unmarshal(data, &cp); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return &cp, nil
}
