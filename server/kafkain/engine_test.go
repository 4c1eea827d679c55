package kafkain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickrun/tickrun/server/cluster"
)

// engine is a fake of tickrun's engine behind cluster.Sink: per shard a
// state (per host, the count of lines and the last seq), one event per
// line, held after a cut until its release, discarded on Drop. It records
// what it got and what it released, and any breach of the contract.
type engine struct {
	name  string
	order *atomic.Int64 // release order, shared by the engines of a test

	mu        sync.Mutex
	shards    map[int32]*shardState
	got       []event // every line written, in order
	released  []event
	cuts      int
	releases  int
	calls     int // sink calls of any kind
	restores  []restoreRec
	spans     []span // ownership of shards, from Restore to Drop
	problems  []string
	onRelease chan struct{} // gets a value at each release, if anyone listens
}

// hostState is the state of one host, as a task's group would keep it.
type hostState struct {
	Count int    `json:"count"`
	Last  string `json:"last"`
}

type shardState struct {
	hosts   map[string]hostState
	offsets map[int32]int64
	pending []event     // events since the last cut
	held    []heldBatch // events of cuts not yet released
	since   time.Time   // restored at
	first   time.Time   // first write after the restore
}

type heldBatch struct {
	cut    int
	events []event
}

// event is one line of one message.
type event struct {
	shard, part int32
	off         int64
	idx         int // the line's index in the message
	line        string
	order       int64 // release order; 0 until released
}

type restoreRec struct {
	shard int32
	cp    *cluster.Checkpoint
	at    time.Time
}

type span struct {
	shard      int32
	start, end time.Time // end zero while owned
}

func newEngine(name string, order *atomic.Int64) *engine {
	return &engine{name: name, order: order, shards: make(map[int32]*shardState), onRelease: make(chan struct{}, 1)}
}

var _ cluster.Sink = (*engine)(nil)

func (e *engine) problem(format string, args ...any) {
	e.problems = append(e.problems, e.name+": "+fmt.Sprintf(format, args...))
}

func (e *engine) Restore(shard int32, cp *cluster.Checkpoint) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	if _, ok := e.shards[shard]; ok {
		e.problem("restore of shard %d, owned already", shard)
	}
	st := &shardState{hosts: map[string]hostState{}, offsets: map[int32]int64{}, since: time.Now()}
	if cp != nil {
		if len(cp.State) > 0 {
			if err := json.Unmarshal(cp.State, &st.hosts); err != nil {
				e.problem("restore of shard %d: %v", shard, err)
			}
		}
		maps.Copy(st.offsets, cp.Offsets)
	}
	e.shards[shard] = st
	e.restores = append(e.restores, restoreRec{shard, cp, st.since})
	e.spans = append(e.spans, span{shard: shard, start: st.since})
	return nil
}

func (e *engine) Write(shard, part int32, off int64, body []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	st := e.shards[shard]
	if st == nil {
		e.problem("write of shard %d (partition %d offset %d), not restored", shard, part, off)
		return
	}
	if shard != cluster.Global && part != shard {
		e.problem("write of partition %d for shard %d", part, shard)
	}
	if last, ok := st.offsets[part]; ok && off <= last {
		e.problem("shard %d partition %d: offset %d after %d", shard, part, off, last)
	}
	st.offsets[part] = off
	if st.first.IsZero() {
		st.first = time.Now()
	}
	for i, line := range bytes.Split(body, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		host, seq := parseLine(string(line))
		h := st.hosts[host]
		h.Count++
		h.Last = seq
		st.hosts[host] = h
		ev := event{shard: shard, part: part, off: off, idx: i, line: string(line)}
		st.pending = append(st.pending, ev)
		e.got = append(e.got, ev)
	}
}

func (e *engine) Cut(shards []int32) (map[int32]*cluster.Checkpoint, func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	e.cuts++
	cut := e.cuts
	cps := make(map[int32]*cluster.Checkpoint, len(shards))
	for _, s := range shards {
		st := e.shards[s]
		if st == nil {
			e.problem("cut of shard %d, not owned", s)
			continue
		}
		state, _ := json.Marshal(st.hosts)
		cps[s] = &cluster.Checkpoint{Offsets: maps.Clone(st.offsets), State: state, Instance: e.name}
		st.held = append(st.held, heldBatch{cut, st.pending})
		st.pending = nil
	}
	return cps, func() { e.release(shards, cut) }
}

// release delivers the events of the cuts up to cut of shards.
func (e *engine) release(shards []int32, cut int) {
	e.mu.Lock()
	e.calls++
	e.releases++
	for _, s := range shards {
		st := e.shards[s]
		if st == nil {
			e.problem("release of shard %d, dropped", s)
			continue
		}
		var keep []heldBatch
		for _, h := range st.held {
			if h.cut > cut {
				keep = append(keep, h)
				continue
			}
			for _, ev := range h.events {
				ev.order = e.order.Add(1)
				e.released = append(e.released, ev)
			}
		}
		st.held = keep
	}
	e.mu.Unlock()
	select {
	case e.onRelease <- struct{}{}:
	default:
	}
}

func (e *engine) Drop(shards []int32) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	now := time.Now()
	for _, s := range shards {
		if _, ok := e.shards[s]; !ok {
			e.problem("drop of shard %d, not owned", s)
		}
		delete(e.shards, s)
		for i := range e.spans {
			if e.spans[i].shard == s && e.spans[i].end.IsZero() {
				e.spans[i].end = now
			}
		}
	}
}

// endSpans closes the spans still open (a killed engine's) at t.
func (e *engine) endSpans(t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range e.spans {
		if e.spans[i].end.IsZero() {
			e.spans[i].end = t
		}
	}
}

// offset returns the last offset of part written to shard; ok is false if
// the shard is not owned or the partition was not read.
func (e *engine) offset(shard, part int32) (int64, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.shards[shard]
	if st == nil {
		return 0, false
	}
	off, ok := st.offsets[part]
	return off, ok
}

// flowing returns when shard was restored and first written after it.
func (e *engine) flowing(shard int32) (since, first time.Time, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.shards[shard]
	if st == nil || st.first.IsZero() {
		return time.Time{}, time.Time{}, false
	}
	return st.since, st.first, true
}

func (e *engine) snapshot() (got, released []event, problems []string, calls int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]event(nil), e.got...), append([]event(nil), e.released...), append([]string(nil), e.problems...), e.calls
}

// parseLine returns the host tag and the seq field of a test line,
// "cpu,host=h07 seq=123i".
func parseLine(line string) (host, seq string) {
	if _, rest, ok := strings.Cut(line, "host="); ok {
		host, _, _ = strings.Cut(rest, " ")
	}
	if _, rest, ok := strings.Cut(line, "seq="); ok {
		seq = rest
	}
	return host, seq
}

// fold is the state one engine reaches from lines.
func fold(lines []event) map[string]hostState {
	s := map[string]hostState{}
	for _, ev := range lines {
		host, seq := parseLine(ev.line)
		h := s[host]
		h.Count++
		h.Last = seq
		s[host] = h
	}
	return s
}

// countingSink is a no-op sink that counts writes, for the benchmark.
type countingSink struct {
	writes atomic.Int64
	first  atomic.Int64 // unix nanoseconds of the first write
	last   atomic.Int64
}

func (s *countingSink) Restore(int32, *cluster.Checkpoint) error { return nil }

func (s *countingSink) Write(_, _ int32, _ int64, _ []byte) {
	now := time.Now().UnixNano()
	s.first.CompareAndSwap(0, now)
	s.last.Store(now)
	s.writes.Add(1)
}

func (s *countingSink) Cut(shards []int32) (map[int32]*cluster.Checkpoint, func()) {
	cps := make(map[int32]*cluster.Checkpoint, len(shards))
	for _, sh := range shards {
		cps[sh] = &cluster.Checkpoint{Offsets: map[int32]int64{}}
	}
	return cps, func() {}
}

func (s *countingSink) Drop([]int32) {}
