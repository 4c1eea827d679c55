package natsin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tickrun/tickrun/server/cluster"
)

// rec is one line of line protocol as a sink got it.
type rec struct {
	part int32
	off  int64
	line string
}

// fakeState is what the fake engine keeps per shard: per host, the number
// of points and the last value; and which cut of which sink it is.
type fakeState struct {
	Count map[string]int   `json:"count"`
	Last  map[string]int64 `json:"last"`
	Sink  string           `json:"sink"`
	Cut   int              `json:"cut"`
}

type fakeShard struct {
	offsets map[int32]int64
	state   fakeState
	pending []rec     // since the last cut
	first   time.Time // first write since Restore
}

type heldBatch struct {
	cut   int
	shard int32
	recs  []rec
}

type restoreEvent struct {
	shard    int32
	from     string // sink that cut the checkpoint, "" for none
	cut      int
	at       time.Time
	hadState bool
}

// fakeSink behaves like the engine: it keeps a state per shard, holds the
// lines (the events) produced after a cut until its release, discards
// the held ones of a shard dropped, and records every breach of the
// cluster.Sink contract.
type fakeSink struct {
	name     string
	mu       sync.Mutex
	shards   map[int32]*fakeShard
	cuts     int
	held     []heldBatch
	released map[int32][]rec
	restores []restoreEvent
	errs     []string
	dead     bool // set after Kill returned: no call may come
}

var _ cluster.Sink = (*fakeSink)(nil)

func newFakeSink(name string) *fakeSink {
	return &fakeSink{name: name, shards: map[int32]*fakeShard{}, released: map[int32][]rec{}}
}

func (s *fakeSink) fail(format string, args ...any) {
	s.errs = append(s.errs, fmt.Sprintf(format, args...))
}

func (s *fakeSink) checkAlive(call string) {
	if s.dead {
		s.fail("%s after Kill", call)
	}
}

func (s *fakeSink) Restore(shard int32, cp *cluster.Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkAlive("Restore")
	if s.shards[shard] != nil {
		s.fail("Restore of shard %d already owned", shard)
	}
	fs := &fakeShard{offsets: map[int32]int64{}, state: fakeState{Count: map[string]int{}, Last: map[string]int64{}}}
	ev := restoreEvent{shard: shard, at: time.Now()}
	if cp != nil {
		for p, o := range cp.Offsets {
			fs.offsets[p] = o
		}
		if len(cp.State) > 0 {
			if err := json.Unmarshal(cp.State, &fs.state); err != nil {
				return fmt.Errorf("fake sink: state of shard %d: %w", shard, err)
			}
			ev.from, ev.cut, ev.hadState = fs.state.Sink, fs.state.Cut, true
		}
	}
	s.restores = append(s.restores, ev)
	s.shards[shard] = fs
	return nil
}

// parseLine reads "cpu,host=H value=Vi T".
func parseLine(line string) (host string, v int64, ok bool) {
	i := strings.Index(line, "host=")
	j := strings.Index(line, " value=")
	if i < 0 || j < i {
		return "", 0, false
	}
	host = line[i+5 : j]
	rest := line[j+7:]
	k := strings.IndexByte(rest, 'i')
	if k < 0 {
		return "", 0, false
	}
	v, err := strconv.ParseInt(rest[:k], 10, 64)
	return host, v, err == nil
}

func (s *fakeSink) Write(shard, part int32, off int64, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkAlive("Write")
	fs := s.shards[shard]
	if fs == nil {
		s.fail("Write to shard %d not restored (or dropped)", shard)
		return
	}
	if shard != cluster.Global && part != shard {
		s.fail("Write of partition %d to shard %d", part, shard)
	}
	if off <= fs.offsets[part] {
		s.fail("shard %d: offset %d of partition %d after %d", shard, off, part, fs.offsets[part])
	}
	fs.offsets[part] = off
	if fs.first.IsZero() {
		fs.first = time.Now()
	}
	for _, line := range bytes.Split(body, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		host, v, ok := parseLine(string(line))
		if !ok {
			s.fail("bad line %q", line)
			continue
		}
		fs.state.Count[host]++
		fs.state.Last[host] = v
		fs.pending = append(fs.pending, rec{part, off, string(line)})
	}
}

func (s *fakeSink) Cut(shards []int32) (map[int32]*cluster.Checkpoint, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkAlive("Cut")
	s.cuts++
	id := s.cuts
	cps := map[int32]*cluster.Checkpoint{}
	for _, sh := range shards {
		fs := s.shards[sh]
		if fs == nil {
			s.fail("Cut of shard %d not owned", sh)
			continue
		}
		fs.state.Sink, fs.state.Cut = s.name, id
		b, _ := json.Marshal(fs.state)
		offs := map[int32]int64{}
		for p, o := range fs.offsets {
			offs[p] = o
		}
		cps[sh] = &cluster.Checkpoint{Offsets: offs, State: b, Instance: s.name, Time: time.Now()}
		s.held = append(s.held, heldBatch{cut: id, shard: sh, recs: fs.pending})
		fs.pending = nil
	}
	return cps, func() { s.release(id) }
}

func (s *fakeSink) release(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkAlive("release")
	keep := s.held[:0]
	for _, b := range s.held {
		if b.cut <= id {
			s.released[b.shard] = append(s.released[b.shard], b.recs...)
		} else {
			keep = append(keep, b)
		}
	}
	s.held = keep
}

func (s *fakeSink) Drop(shards []int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkAlive("Drop")
	for _, sh := range shards {
		if s.shards[sh] == nil {
			s.fail("Drop of shard %d not owned", sh)
		}
		delete(s.shards, sh)
		keep := s.held[:0]
		for _, b := range s.held {
			if b.shard != sh {
				keep = append(keep, b)
			}
		}
		s.held = keep
	}
}

func (s *fakeSink) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dead = true
}

// offset returns how far shard has got in partition part (0 if not owned).
func (s *fakeSink) offset(shard, part int32) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fs := s.shards[shard]; fs != nil {
		return fs.offsets[part]
	}
	return 0
}

// firstWrite returns when shard got its first message since restored.
func (s *fakeSink) firstWrite(shard int32) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fs := s.shards[shard]; fs != nil {
		return fs.first
	}
	return time.Time{}
}
