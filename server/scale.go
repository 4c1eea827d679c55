package server

// The engine's side of the broker inputs (server/cluster, issue 15). An
// instance owns shards: partitions of the stream, for the tasks that run
// sharded (every group key contains the partition key), and Global, for
// the tasks that run on one instance only. scaleOut routes each message of
// a shard to the tasks of its mode, holds the events they raise until the
// cut that covers them is stored in the broker, and moves the state of a
// shard's groups out (Cut) and in (Restore).

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/pipeline/lineproto"
	"github.com/tickrun/tickrun/server/cluster"
	"github.com/tickrun/tickrun/server/store"
)

// Task modes of a scaled-out server.
const (
	modeSharded = "sharded"
	modeGlobal  = "global"
)

// scaleOut implements cluster.Sink for an engine.
type scaleOut struct {
	e        *engine
	key      string // the partition key: a tag
	db, rp   string // where the input's points are written
	instance string

	cut sync.RWMutex // Write holds it shared, Cut, Restore and Drop alone

	mu      sync.Mutex
	offsets map[int32]map[int32]int64 // shard → broker partition → last offset
	owner   map[string]int32          // partition key value → shard, of the owned shards
	owned   map[int32]bool
	held    map[int32][]func() // by shard: publications waiting for a stored cut
	modes   map[string]string  // task id → mode
	// pending is the state checkpoints held for tasks not running here
	// yet, by task id and shard: imported when the task starts.
	pending map[string]map[int32]json.RawMessage

	releaseMu sync.Mutex // releases run one at a time, in order
	decoders  sync.Pool  // *lineproto.Decoder, reset per message

	points, bad, misrouted, discarded atomic.Int64
}

func newScaleOut(e *engine, key, db, rp, instance string) *scaleOut {
	return &scaleOut{e: e, key: key, db: db, rp: rp, instance: instance,
		offsets: map[int32]map[int32]int64{}, owner: map[string]int32{}, owned: map[int32]bool{},
		held: map[int32][]func(){}, modes: map[string]string{}, pending: map[string]map[int32]json.RawMessage{}}
}

var _ cluster.Sink = (*scaleOut)(nil)

// classify decides and records the mode of a task.
func (s *scaleOut) classify(id string, t *pipeline.Task) (mode, why string) {
	sharded, reason := t.Sharding(s.key)
	mode, why = modeGlobal, "on one instance (the owner of partition 0): "+reason
	if sharded {
		mode, why = modeSharded, "on every instance over the partitions it owns: "+reason
	}
	if gaps := t.HandoverGaps(); sharded && len(gaps) > 0 {
		why += fmt.Sprintf("; the state of %v is not handed over (it starts fresh on a new owner)", gaps)
	}
	s.mu.Lock()
	s.modes[id] = mode
	pending := s.pending[id]
	delete(s.pending, id)
	s.mu.Unlock()
	// The state a checkpoint held for the task before it started here.
	for shard, groups := range pending {
		if err := t.ImportGroups(groups); err != nil {
			s.e.logf("shard %d: %v", shard, err)
		}
	}
	return mode, why
}

// deferEvents is the tasks' Options.DeferEvents: an event of an owned
// shard waits for the shard's next stored cut; an event of a global task
// on an instance that does not own Global is one another instance sends,
// and is discarded; any other (a point written over HTTP) goes at once.
func (s *scaleOut) deferEvents(taskID string) func(*pipeline.Event, func()) {
	return func(ev *pipeline.Event, publish func()) {
		s.mu.Lock()
		mode := s.modes[taskID]
		shard, known := cluster.Global, true
		if mode == modeSharded {
			v, _ := pipeline.GroupTag(ev.Group, s.key)
			shard, known = s.owner[v]
		}
		switch {
		case known && s.owned[shard]:
			s.held[shard] = append(s.held[shard], publish)
			s.mu.Unlock()
		case mode == modeGlobal:
			s.mu.Unlock()
			s.discarded.Add(1)
		default:
			s.mu.Unlock()
			publish()
		}
	}
}

// Restore implements cluster.Sink.
func (s *scaleOut) Restore(shard int32, cp *cluster.Checkpoint) error {
	s.cut.Lock()
	defer s.cut.Unlock()
	s.mu.Lock()
	s.owned[shard] = true
	offs := map[int32]int64{}
	if cp != nil {
		for p, o := range cp.Offsets {
			offs[p] = o
		}
	}
	s.offsets[shard] = offs
	s.mu.Unlock()
	if cp == nil || len(cp.State) == 0 {
		return nil
	}
	var state map[string]json.RawMessage // task id → its groups
	if err := json.Unmarshal(cp.State, &state); err != nil {
		return fmt.Errorf("shard %d: checkpoint state: %w", shard, err)
	}
	var errs []error
	for id, groups := range state {
		if rt := s.task(id); rt != nil {
			if err := rt.task.ImportGroups(groups); err != nil {
				errs = append(errs, err)
			}
		} else {
			// Kept for when the task starts; the points read before then
			// do not reach it (every instance should run the same tasks,
			// from the same [load] directory).
			s.e.logf("shard %d: the checkpoint holds the state of task %s, which does not run here: kept until it starts", shard, id)
			s.mu.Lock()
			if s.pending[id] == nil {
				s.pending[id] = map[int32]json.RawMessage{}
			}
			s.pending[id][shard] = groups
			s.mu.Unlock()
		}
		if shard == cluster.Global {
			continue
		}
		var nodes map[string]map[string]json.RawMessage
		if json.Unmarshal(groups, &nodes) == nil {
			s.mu.Lock()
			for _, gs := range nodes {
				for g := range gs {
					if v, ok := pipeline.GroupTag(g, s.key); ok {
						s.owner[v] = shard
					}
				}
			}
			s.mu.Unlock()
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("shard %d: %v", shard, errs)
	}
	return nil
}

// task returns the running task id, or nil.
func (s *scaleOut) task(id string) *runningTask {
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	return s.e.tasks[id]
}

// tasksOf returns the running tasks of a mode.
func (s *scaleOut) tasksOf(mode string) []*runningTask {
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	var out []*runningTask
	for _, rt := range s.e.sortedTasks() {
		if rt.mode == mode {
			out = append(out, rt)
		}
	}
	return out
}

// Write implements cluster.Sink: the points go to the stream tasks of the
// shard's mode that read the input's (db, rp) and the point's measurement.
func (s *scaleOut) Write(shard, part int32, off int64, body []byte) {
	s.cut.RLock()
	defer s.cut.RUnlock()
	s.mu.Lock()
	owned := s.owned[shard]
	if owned {
		if last, ok := s.offsets[shard][part]; ok && off <= last {
			owned = false // processed before the cut restored
		}
	}
	s.mu.Unlock()
	if !owned {
		return
	}
	want := modeSharded
	if shard == cluster.Global {
		want = modeGlobal
	}
	routes := s.e.routes.Load().byDBRP[store.DBRP{DB: s.db, RP: s.rp}]
	d, _ := s.decoders.Get().(*lineproto.Decoder)
	if d == nil {
		d = lineproto.NewDecoder(nil)
		d.Database, d.RP = s.db, s.rp
	}
	defer s.decoders.Put(d)
	d.OnError = func(le *lineproto.LineError) {
		if s.bad.Add(1) <= 20 {
			s.e.logf("shard %d: partition %d offset %d: line %d: %v", shard, part, off, le.Line, le.Err)
		}
	}
	d.ResetBytes(body)
	var lastKey string
	for routes != nil {
		p, err := d.Next()
		if err != nil || p == nil {
			break
		}
		s.points.Add(1)
		if shard != cluster.Global {
			if v, _ := p.Tag(s.key); v != lastKey || lastKey == "" {
				lastKey = v
				s.learn(v, shard)
			}
		}
		targets := routes.all
		if ro := routes.byMeasurement[p.Name]; ro != nil {
			targets = ro.targets
		}
		for _, t := range targets {
			if t.mode == want {
				t.task.WritePoint(p)
			}
		}
	}
	s.mu.Lock()
	s.offsets[shard][part] = off
	s.mu.Unlock()
}

// learn records that the points of partition key value v are in shard.
func (s *scaleOut) learn(v string, shard int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if was, ok := s.owner[v]; ok && was != shard {
		if s.misrouted.Add(1) == 1 {
			s.e.logf("%s=%q came in partition %d after partition %d: the producer must key messages by %s (Telegraf's routing_tag, or the subject), or groups split", s.key, v, shard, was, s.key)
		}
	}
	s.owner[v] = shard
}

// Cut implements cluster.Sink.
func (s *scaleOut) Cut(shards []int32) (map[int32]*cluster.Checkpoint, func()) {
	s.cut.Lock()
	cps := map[int32]*cluster.Checkpoint{}
	counts := map[int32]int{}
	now := time.Now().UTC()
	for _, shard := range shards {
		s.mu.Lock()
		if !s.owned[shard] {
			s.mu.Unlock()
			continue
		}
		cp := &cluster.Checkpoint{Offsets: map[int32]int64{}, Instance: s.instance, Time: now}
		for p, o := range s.offsets[shard] {
			cp.Offsets[p] = o
		}
		counts[shard] = len(s.held[shard])
		owner := s.owner
		s.mu.Unlock()
		mode, keep := modeGlobal, func(string) bool { return true }
		if shard != cluster.Global {
			mode = modeSharded
			keep = func(g string) bool {
				v, ok := pipeline.GroupTag(g, s.key)
				o, known := owner[v]
				return ok && known && o == shard
			}
		}
		state := map[string]json.RawMessage{}
		for _, rt := range s.tasksOf(mode) {
			b, err := rt.task.ExportGroups(keep)
			if err != nil {
				s.e.logf("shard %d: task %s: %v", shard, rt.spec.ID, err)
				continue
			}
			if string(b) != "{}" {
				state[rt.spec.ID] = b
			}
		}
		cp.State, _ = json.Marshal(state)
		cps[shard] = cp
	}
	s.cut.Unlock()
	release := func() {
		s.releaseMu.Lock()
		defer s.releaseMu.Unlock()
		keys := make([]int32, 0, len(counts))
		for k := range counts {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		for _, shard := range keys {
			s.mu.Lock()
			n := min(counts[shard], len(s.held[shard]))
			out := s.held[shard][:n:n]
			s.held[shard] = append([]func(){}, s.held[shard][n:]...)
			s.mu.Unlock()
			for _, publish := range out {
				publish()
			}
		}
	}
	return cps, release
}

// Drop implements cluster.Sink.
func (s *scaleOut) Drop(shards []int32) {
	s.cut.Lock()
	defer s.cut.Unlock()
	for _, shard := range shards {
		s.mu.Lock()
		if !s.owned[shard] {
			s.mu.Unlock()
			continue
		}
		delete(s.owned, shard)
		delete(s.offsets, shard)
		for _, p := range s.pending {
			delete(p, shard)
		}
		s.discarded.Add(int64(len(s.held[shard])))
		delete(s.held, shard)
		mine := map[string]bool{}
		for v, o := range s.owner {
			if o == shard {
				mine[v] = true
				delete(s.owner, v)
			}
		}
		s.mu.Unlock()
		if shard == cluster.Global {
			for _, rt := range s.tasksOf(modeGlobal) {
				rt.task.DropGroups(func(string) bool { return true })
			}
			continue
		}
		for _, rt := range s.tasksOf(modeSharded) {
			rt.task.DropGroups(func(g string) bool {
				v, ok := pipeline.GroupTag(g, s.key)
				return ok && mine[v]
			})
		}
	}
}

// crash forgets every held event, as a killed process would.
func (s *scaleOut) crash() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for shard, h := range s.held {
		s.discarded.Add(int64(len(h)))
		delete(s.held, shard)
	}
	s.owned = map[int32]bool{}
}

// scaleStats is what /metrics shows of the broker input.
type scaleStats struct {
	owned                                   []int32
	points, bad, held, discarded, misrouted int64
}

func (s *scaleOut) stats() scaleStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := scaleStats{points: s.points.Load(), bad: s.bad.Load(), discarded: s.discarded.Load(), misrouted: s.misrouted.Load()}
	for shard := range s.owned {
		st.owned = append(st.owned, shard)
	}
	sort.Slice(st.owned, func(i, j int) bool { return st.owned[i] < st.owned[j] })
	for _, h := range s.held {
		st.held += int64(len(h))
	}
	return st
}
