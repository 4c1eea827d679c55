package natsin

import (
	"encoding/json"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A lease is the value of a key of the leases bucket: p.<n> for a
// partition, member.<instance> for an instance that is alive. Its holder
// renews it (an update by revision) every third of the TTL. Expiry is
// judged by the reader's clock against the writer's: the instances' clocks
// must agree to well within lease-ttl (NTP does). Were they not, two
// instances could both believe they hold a partition for a moment; the
// revision checks on renewals and on checkpoint writes then make the
// later one lose it before its checkpoint counts (see storeCut).
type lease struct {
	Instance string    `json:"instance"`
	Expires  time.Time `json:"expires"`
}

// leaseEntry is a lease as last seen in the bucket.
type leaseEntry struct {
	lease
	rev     uint64
	deleted bool // a delete marker: free
}

// free reports whether anyone may take the lease at now.
func (e leaseEntry) free(now time.Time) bool {
	return e.rev == 0 || e.deleted || !now.Before(e.Expires)
}

func encodeLease(l lease) []byte {
	b, _ := json.Marshal(l) // a string and a time: cannot fail
	return b
}

// decodeLease reads a lease; a value that is not one is treated as
// expired long ago, so that it can be taken over.
func decodeLease(b []byte) lease {
	var l lease
	if err := json.Unmarshal(b, &l); err != nil {
		return lease{}
	}
	return l
}

// partKey is the key of partition p in both buckets.
func partKey(p int32) string { return "p." + strconv.Itoa(int(p)) }

// globalKey is the checkpoint key of the Global shard.
const globalKey = "global"

// memberPrefix prefixes the member keys.
const memberPrefix = "member."

// memberKey is the key announcing instance. KV keys take [-/_=.a-zA-Z0-9]:
// any other byte, and '.', are written as =XX.
func memberKey(instance string) string {
	var b strings.Builder
	b.WriteString(memberPrefix)
	for i := 0; i < len(instance); i++ {
		c := instance[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('=')
		b.WriteString(strconv.FormatUint(uint64(c)>>4, 16))
		b.WriteString(strconv.FormatUint(uint64(c)&15, 16))
	}
	return b.String()
}

// table is the leases bucket as the watcher last saw it.
type table struct {
	mu      sync.Mutex
	parts   []leaseEntry
	members map[string]leaseEntry // by key
}

func newTable(parts int) *table {
	return &table{parts: make([]leaseEntry, parts), members: map[string]leaseEntry{}}
}

// set records an entry of the bucket; other keys are ignored.
func (t *table) set(key string, value []byte, rev uint64, deleted bool) {
	e := leaseEntry{rev: rev, deleted: deleted}
	if !deleted {
		e.lease = decodeLease(value)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if strings.HasPrefix(key, memberPrefix) {
		if deleted {
			delete(t.members, key)
		} else {
			t.members[key] = e
		}
		return
	}
	p, ok := strings.CutPrefix(key, "p.")
	if !ok {
		return
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n >= len(t.parts) || strconv.Itoa(n) != p {
		return
	}
	if rev >= t.parts[n].rev { // the watcher and our own writes may race
		t.parts[n] = e
	}
}

// view returns a copy of the table for plan.
func (t *table) view() ([]leaseEntry, map[string]leaseEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	members := make(map[string]leaseEntry, len(t.members))
	for k, v := range t.members {
		members[k] = v
	}
	return append([]leaseEntry(nil), t.parts...), members
}

// planInput is what plan decides from.
type planInput struct {
	now     time.Time
	self    string
	parts   []leaseEntry          // by partition
	members map[string]leaseEntry // alive or not
	held    map[int32]bool        // partitions this instance holds and reads
	// freeSince tells since when each free partition has been seen free,
	// and sticky until when an extra taken because nobody else would must
	// not be given up.
	freeSince map[int32]time.Time
	sticky    map[int32]time.Time
	// overflowAfter is how long a partition must stay free before an
	// instance at its fair share takes it all the same.
	overflowAfter time.Duration
	refused       map[int32]time.Time // partitions not to take before then
}

// plan decides what to take and what to give up. Each instance takes at
// most its fair share, ceil(partitions/alive); one holding more gives the
// extras up, so that a newcomer finds them free. A partition nobody takes
// for overflowAfter (an instance counted alive that cannot read it) is
// taken over the fair share, and kept a while (sticky).
func plan(in planInput) (take []int32, overflow []int32, giveUp []int32) {
	alive := 0
	for _, m := range in.members {
		if !m.free(in.now) {
			alive++
		}
	}
	if _, ok := in.members[memberKey(in.self)]; !ok || in.members[memberKey(in.self)].free(in.now) {
		alive++ // ourselves, before the watcher shows our announcement
	}
	n := len(in.parts)
	fair := (n + alive - 1) / alive
	mine := len(in.held)

	// Free partitions, in an order of our own so that instances starting
	// together try different ones first.
	var free []int32
	for p, e := range in.parts {
		if !in.held[int32(p)] && e.free(in.now) && !in.now.Before(in.refused[int32(p)]) {
			free = append(free, int32(p))
		}
	}
	off := int(instanceHash(in.self) % uint32(n))
	sort.Slice(free, func(i, j int) bool {
		return (int(free[i])+n-off)%n < (int(free[j])+n-off)%n
	})
	for _, p := range free {
		switch {
		case mine < fair:
			take = append(take, p)
			mine++
		case in.overflowAfter > 0 && !in.freeSince[p].IsZero() && in.now.Sub(in.freeSince[p]) >= in.overflowAfter:
			overflow = append(overflow, p)
		}
	}
	if extra := len(in.held) - fair; extra > 0 && len(take) == 0 {
		// Give up the highest partitions, partition 0 last: moving it
		// moves the Global shard too.
		held := make([]int32, 0, len(in.held))
		for p := range in.held {
			if in.now.Before(in.sticky[p]) {
				continue
			}
			held = append(held, p)
		}
		sort.Slice(held, func(i, j int) bool {
			if (held[i] == 0) != (held[j] == 0) {
				return held[j] == 0
			}
			return held[i] > held[j]
		})
		if extra > len(held) {
			extra = len(held)
		}
		giveUp = held[:extra]
	}
	return take, overflow, giveUp
}

func instanceHash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}
