package pipeline

import (
	"fmt"
	"time"
)

// Level is an alert level (alert.md §2).
type Level int

// The alert levels, in order.
const (
	OK Level = iota
	Info
	Warning
	Critical
)

// String returns the level's name as templates and JSON show it.
func (l Level) String() string {
	switch l {
	case OK:
		return "OK"
	case Info:
		return "INFO"
	case Warning:
		return "WARNING"
	case Critical:
		return "CRITICAL"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// alertConfig is what the per-group state needs of its node.
type alertConfig struct {
	history           int
	flapping          bool
	flapLow, flapHigh float64
	stateChangesOnly  bool
	scoDuration       time.Duration
}

// alertState is the state of one group of an alert node (alert.md §3–§6):
// a ring of recent levels, flapping, and trigger times.
type alertState struct {
	cfg            *alertConfig
	history        []Level // ring buffer, initially all OK
	idx            int     // index of the newest entry
	changed        bool    // the newest level differs from the one before
	expired        bool    // stateChangesOnly(d): an unchanged level may be re-sent
	flapping       bool
	firstTriggered int64 // start of the current non-OK episode
	lastTriggered  int64
}

func newAlertState(cfg *alertConfig) *alertState {
	return &alertState{cfg: cfg, history: make([]Level, cfg.history)}
}

// current returns the newest level.
func (s *alertState) current() Level { return s.history[s.idx] }

// add records the level of a point at time t.
func (s *alertState) add(t int64, l Level) {
	prev := s.current()
	s.changed = prev != l
	s.idx = (s.idx + 1) % len(s.history)
	s.history[s.idx] = l
	if s.cfg.flapping {
		s.updateFlapping()
	}
	s.expired = !s.changed && s.cfg.scoDuration != 0 && time.Duration(t-s.lastTriggered) >= s.cfg.scoDuration
}

// percentChange is Kapacitor's weighted share of level changes in the
// history, reproduced literally (alert.md §6): the pairs compared are
// (newest, 2nd newest), (oldest, newest), then consecutive pairs from the
// oldest forward, with weights rising from 0.8 to 1.2.
func (s *alertState) percentChange() float64 {
	l := len(s.history)
	changes := 0.0
	weight := 1.2 / 1.5
	step := (1.2 - weight) / float64(l-1)
	for i := 0; i < l-1; i++ {
		c := (s.idx + i) % l
		p := (c - 1 + l) % l
		if s.history[c] != s.history[p] {
			changes += weight
		}
		weight += step
	}
	return changes / float64(l-1)
}

func (s *alertState) updateFlapping() {
	pc := s.percentChange()
	if s.flapping && pc < s.cfg.flapLow {
		s.flapping = false
	} else if !s.flapping && pc > s.cfg.flapHigh {
		s.flapping = true
	}
}

// triggered marks an event at time t; a non-OK level right after OK opens a
// new episode.
func (s *alertState) triggered(t int64) {
	s.lastTriggered = t
	l := len(s.history)
	if l > 1 {
		cur := s.history[s.idx]
		prev := s.history[(s.idx-1+l)%l]
		if cur != OK && prev == OK {
			s.firstTriggered = t
		}
	}
}

// duration is the length of the current episode.
func (s *alertState) duration() time.Duration {
	return time.Duration(s.lastTriggered - s.firstTriggered)
}
