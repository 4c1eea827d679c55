// Package kafkain is the Kafka input of `tickrun serve` scaled out over
// several instances: it implements cluster.Input with franz-go.
//
// Telegraf's outputs.kafka, with routing_tag = "host", keys each message by
// its host tag, so one host is always in one partition. The instances of a
// server join one Kafka consumer group ([kafka-input] group) on the topic
// ([kafka-input] topic); the group's rebalancing decides which instance owns
// which partition. A partition is a shard of cluster's contract: its
// messages go to the sink as Write(p, p, offset, body). The owner of
// partition 0 also owns cluster.Global: it reads every partition a second
// time, with a direct (non-group) consumer, for the tasks that run on one
// instance only.
//
// Hand-over is by checkpoint, stored in a compacted topic
// ([kafka-input] checkpoint-topic) under the key "p.N" for partition N and
// "global" for Global; the latest value of a key wins. Every
// checkpoint-interval, and before a partition is given up, the input cuts
// the shards (Sink.Cut), stores the checkpoints (acks from all in-sync
// replicas), calls release, and only then commits the group offsets. The
// next owner reads the checkpoint topic to its high watermark, restores the
// shard (Sink.Restore) and reads from the checkpoint's offset + 1, so what
// a crashed owner processed after its last stored cut is processed again,
// once, and its held events are never delivered.
//
// The group balances with the cooperative-sticky balancer (KIP-429): a
// partition that moves is first revoked from its owner, whose revoke
// callback stores the checkpoint and commits before the owner rejoins, and
// is assigned to the new owner only in the rebalance that follows that
// rejoin. So a live owner always stores its checkpoint before anyone else
// reads it, and partitions that do not move keep flowing during a
// rebalance (an eager balancer would stop and cut every shard of every
// instance each time one instance comes or goes).
//
// Kill is a crash: the input's dialer closes every connection and refuses
// new ones before anything else, so not even the LeaveGroup of the clients
// being closed reaches a broker, and the group learns of it by
// session-timeout. With the defaults (3s, heartbeats every 500ms) a killed
// instance's partitions flow again on another in about 3s.
//
// A zombie, an instance cut off past its session timeout that comes back
// before franz-go tells it its partitions are lost, must not store the cut
// it held: its checkpoint would win over its successor's, and its release
// would deliver events twice. So before each store the input sends a
// heartbeat of its own and stores only if the group still counts it in,
// within session-timeout - heartbeat-interval of sending it.
//
// What it does not do:
//   - Fence a store whose request left before that deadline but reaches
//     the broker after the session expired (a network holding it for
//     seconds). Transactions (checkpoint and commit in one, fenced by
//     the group generation) would close this; the contract's order
//     (store, release, commit) does not allow them.
//   - Follow partitions added to the topic for Global: its reader reads
//     the partitions the topic had when it took Global, until Global
//     moves. The group itself takes new partitions on.
//   - Store a checkpoint over 16 MiB gzipped, the max.message.bytes the
//     checkpoint topic is created with (an existing topic keeps its own).
//
// It imports server/cluster only of tickrun's packages.
package kafkain
