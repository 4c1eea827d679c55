// Package natsin is the NATS JetStream input of a scaled-out `tickrun
// serve`: several instances read one JetStream stream that Telegraf's
// outputs.nats writes line protocol to, each owning some of its
// partitions, and hand partitions over between them by checkpoint (the
// contract is package cluster's).
//
// The stream partitions its messages itself: a subject transform, set up
// by Run, stores a message published to telegraf.host1.cpu as
// telegraf.3.telegraf.host1.cpu — the stream's name, the partition
// ({{partition(N,k)}}, a hash of the key token: the host), then the
// subject as published. A message too short to have the key token is
// stored as published, under no partition, and read by no one.
//
// Each partition is read by a durable pull consumer (<bucket>-p<N>) of the
// instance that holds its lease, a key p.<N> of the KV bucket
// <bucket>-leases renewed every third of lease-ttl; the owner of partition
// 0 also reads every partition for the Global shard (<bucket>-global).
// Instances announce themselves in the same bucket (member.<instance>),
// and each takes at most its fair share of the partitions,
// ceil(partitions/instances alive), giving extras up to newcomers. Every
// checkpoint-interval the owned shards are cut together and their
// checkpoints written to <bucket>-checkpoints (keys p.<N> and global); a
// new owner restores them and resumes right after their offsets.
//
// What it relies on: JetStream on the server (nats-server 2.10 or later,
// for stream subject transforms), with the right to create or update the
// stream, the two buckets and the consumers; clocks in step across the
// instances to well within lease-ttl (the expiry in a lease is the
// writer's time; revision checks on renewals and on checkpoint writes stop
// a skewed instance from committing anything, but not from reading a
// partition for a moment); checkpoints under the server's max_payload
// (1 MiB by default). An instance that dies frees its partitions when its
// leases expire: the others take them between two thirds and four thirds
// of lease-ttl after it died (2 to 4s by default), and restore them.
//
// It imports package cluster only, of tickrun's packages.
package natsin
