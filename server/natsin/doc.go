// Package natsin is the NATS JetStream input of a scaled-out `tickrun
// serve`: several instances read one JetStream stream that Telegraf's
// outputs.nats writes line protocol to, each owning some of its
// partitions, and hand partitions over between them by checkpoint (the
// contract is package cluster's).
//
// The stream partitions its messages itself: a subject transform, set up
// by Run, stores a message published to telegraf.host1.cpu as
// telegraf.3.telegraf.host1.cpu, where 3 is {{partition(N,k)}} of the
// partition key token (the host). Each partition is read by a durable pull
// consumer of the instance that holds its lease in a JetStream KV bucket
// (<bucket>-leases); the owner of partition 0 also reads every partition
// for the Global shard. Checkpoints go to a second bucket
// (<bucket>-checkpoints), and a new owner resumes after their offsets.
//
// It imports package cluster only, of tickrun's packages.
package natsin
