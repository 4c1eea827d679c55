package alert

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

// ParseLevel returns the level named s ("OK", "INFO", "WARNING",
// "CRITICAL").
func ParseLevel(s string) (Level, bool) {
	for l := OK; l <= Critical; l++ {
		if l.String() == s {
			return l, true
		}
	}
	return OK, false
}

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

// Config is what the per-group state needs of its alert node.
type Config struct {
	History           int     // levels kept for flapping detection (.history(), default 21)
	Flapping          bool    // .flapping() was given
	FlapLow, FlapHigh float64 // its thresholds, between 0 and 1
	StateChangesOnly  bool    // .stateChangesOnly()
	// StateChangesOnlyDuration re-sends an unchanged level once this long
	// has passed since the last event (.stateChangesOnly(d)).
	StateChangesOnlyDuration time.Duration
}

// State is the state of one group of an alert node (alert.md §3–§6):
// a ring of recent levels, flapping, and trigger times.
type State struct {
	cfg     *Config
	history []uint8 // ring buffer of levels, initially all OK
	idx     int     // index of the newest entry
	// Changed: the newest level differs from the one before.
	Changed bool
	// Expired: with stateChangesOnly(d), an unchanged level may be re-sent.
	Expired bool
	// Flapping: the levels change too often (.flapping()).
	Flapping       bool
	firstTriggered int64 // start of the current non-OK episode
	lastTriggered  int64
	// LastID and LastLevel are the id and level of the group's last
	// event, which the alert node sets: a scaled-out server hands them
	// over with the state, so the new owner's topics know the previous
	// level of the id.
	LastID    string
	LastLevel Level
}

// Snapshot is the content of a State, as a scaled-out server hands a
// group over to another instance (JSON).
type Snapshot struct {
	History   []uint8 `json:"history"`
	Idx       int     `json:"idx"`
	Changed   bool    `json:"changed,omitempty"`
	Expired   bool    `json:"expired,omitempty"`
	Flapping  bool    `json:"flapping,omitempty"`
	First     int64   `json:"first,omitempty"`
	Last      int64   `json:"last,omitempty"`
	LastID    string  `json:"lastID,omitempty"`
	LastLevel Level   `json:"lastLevel,omitempty"`
}

// Snapshot returns the state's content.
func (s *State) Snapshot() Snapshot {
	return Snapshot{History: append([]uint8(nil), s.history...), Idx: s.idx, Changed: s.Changed, Expired: s.Expired,
		Flapping: s.Flapping, First: s.firstTriggered, Last: s.lastTriggered, LastID: s.LastID, LastLevel: s.LastLevel}
}

// Load sets the state's content from a snapshot of a state of the same
// configuration. A history of another length (the script changed its
// .history()) keeps the snapshot's newest level only.
func (s *State) Load(sn Snapshot) {
	if len(sn.History) == len(s.history) && sn.Idx >= 0 && sn.Idx < len(s.history) {
		copy(s.history, sn.History)
		s.idx = sn.Idx
	} else if sn.Idx >= 0 && sn.Idx < len(sn.History) {
		s.history[s.idx] = sn.History[sn.Idx]
	}
	for i, l := range s.history {
		if Level(l) > Critical {
			s.history[i] = uint8(OK)
		}
	}
	s.Changed, s.Expired, s.Flapping = sn.Changed, sn.Expired, sn.Flapping
	s.firstTriggered, s.lastTriggered = sn.First, sn.Last
	s.LastID, s.LastLevel = sn.LastID, sn.LastLevel
}

// NewState returns the state of a new group: every level of its history OK.
func NewState(cfg *Config) *State {
	return &State{cfg: cfg, history: make([]uint8, cfg.History)}
}

// Restore sets the state a previous run left: the group's level, the
// start of its episode and the time of its last event (a server restores
// them after a restart, so that a recovery reports the episode's whole
// duration and the level before the restart).
func (s *State) Restore(l Level, episodeStart, last int64) {
	s.history[s.idx] = uint8(l)
	s.firstTriggered, s.lastTriggered = episodeStart, last
}

// Current returns the newest level.
func (s *State) Current() Level { return Level(s.history[s.idx]) }

// Fresh reports whether the state is that of a new group: every level of
// its history OK and not flapping. Such a group can be released and made
// again without any difference.
func (s *State) Fresh() bool {
	if s.Flapping {
		return false
	}
	for _, l := range s.history {
		if l != 0 {
			return false
		}
	}
	return true
}

// Add records the level of a point at time t.
func (s *State) Add(t int64, l Level) {
	prev := s.Current()
	s.Changed = prev != l
	s.idx = (s.idx + 1) % len(s.history)
	s.history[s.idx] = uint8(l)
	if s.cfg.Flapping {
		s.updateFlapping()
	}
	s.Expired = !s.Changed && s.cfg.StateChangesOnlyDuration != 0 && time.Duration(t-s.lastTriggered) >= s.cfg.StateChangesOnlyDuration
}

// percentChange is Kapacitor's weighted share of level changes in the
// history, reproduced literally (alert.md §6): the pairs compared are
// (newest, 2nd newest), (oldest, newest), then consecutive pairs from the
// oldest forward, with weights rising from 0.8 to 1.2.
func (s *State) percentChange() float64 {
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

func (s *State) updateFlapping() {
	pc := s.percentChange()
	if s.Flapping && pc < s.cfg.FlapLow {
		s.Flapping = false
	} else if !s.Flapping && pc > s.cfg.FlapHigh {
		s.Flapping = true
	}
}

// Triggered marks an event at time t; a non-OK level right after OK opens a
// new episode.
func (s *State) Triggered(t int64) {
	s.lastTriggered = t
	l := len(s.history)
	if l > 1 {
		cur := s.history[s.idx]
		prev := s.history[(s.idx-1+l)%l]
		if cur != 0 && prev == 0 {
			s.firstTriggered = t
		}
	}
}

// Duration is the length of the current episode.
func (s *State) Duration() time.Duration {
	return time.Duration(s.lastTriggered - s.firstTriggered)
}
