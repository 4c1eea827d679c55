package influx

import (
	"errors"
	"iter"
	"sync"
	"time"

	"github.com/gorhill/cronexpr"
)

// ScheduleOptions are the query node's properties that say when it queries
// and which time range.
type ScheduleOptions struct {
	Every  time.Duration // every(d): one query every d; exclusive with Cron
	Align  bool          // align(): ticks on multiples of Every
	Cron   string        // cron('...'): 5 to 7 fields (seconds and year optional)
	Period time.Duration // period(d): the window length
	Offset time.Duration // offset(d): the window ends d before the tick
	// Location is the time zone cron expressions are read in; nil means
	// time.Local, as kapacitord evaluates them in its local time.
	Location *time.Location
}

// Window is one query of the schedule: at Tick, the query covers
// [Start, Stop) with Stop = Tick - offset and Start = Stop - period. All
// three are in UTC.
type Window struct {
	Tick, Start, Stop time.Time
}

// Schedule turns a query node's every/align/cron/period/offset into query
// windows. It is safe for concurrent use.
type Schedule struct {
	opts ScheduleOptions
	cron *cronexpr.Expression
	loc  *time.Location
}

// NewSchedule checks the options as Kapacitor does when it creates the
// query node (exactly one of every and cron, every not negative, a cron
// expression that parses) and returns the schedule.
func NewSchedule(o ScheduleOptions) (*Schedule, error) {
	s := &Schedule{opts: o, loc: o.Location}
	if s.loc == nil {
		s.loc = time.Local
	}
	switch {
	case o.Every != 0 && o.Cron != "":
		return nil, errors.New(msgEveryAndCron)
	case o.Every > 0:
	case o.Cron != "":
		expr, err := cronexpr.Parse(o.Cron)
		if err != nil {
			return nil, err
		}
		s.cron = expr
	case o.Every < 0:
		return nil, errors.New(msgEveryNegative)
	default:
		return nil, errors.New(msgNoSchedule)
	}
	return s, nil
}

// Next returns the tick after t: t + every, rounded to a multiple of every
// with align() (so 22:00:30 + 5m gives 22:05, 22:03 + 5m gives 22:10), or
// cron's next time after t. It is zero when a cron expression has no
// later time.
func (s *Schedule) Next(t time.Time) time.Time {
	if s.cron != nil {
		return s.cron.Next(t.In(s.loc))
	}
	next := t.Add(s.opts.Every)
	if s.opts.Align {
		next = next.Round(s.opts.Every)
	}
	return next
}

// Window returns the query window of a tick.
func (s *Schedule) Window(tick time.Time) Window {
	stop := tick.Add(-s.opts.Offset)
	return Window{Tick: tick.UTC(), Start: stop.Add(-s.opts.Period).UTC(), Stop: stop.UTC()}
}

// All yields the windows Kapacitor queries when it replays [start, stop]
// (replay-live, record batch; tickrun's backtest): from t = start, t =
// Next(t) while t <= stop (stop is inclusive), each tick's window. When
// now is not zero, it also ends at the first window that stops after now,
// and a zero stop means now, as in Kapacitor.
func (s *Schedule) All(start, stop, now time.Time) iter.Seq[Window] {
	return func(yield func(Window) bool) {
		if stop.IsZero() {
			stop = now
		}
		t := start.In(s.loc)
		for {
			t = s.Next(t)
			if t.IsZero() || t.After(stop) {
				return
			}
			w := s.Window(t)
			if !now.IsZero() && w.Stop.After(now) {
				return
			}
			if !yield(w) {
				return
			}
		}
	}
}

// Windows returns All as a slice.
func (s *Schedule) Windows(start, stop, now time.Time) []Window {
	var out []Window
	for w := range s.All(start, stop, now) {
		out = append(out, w)
	}
	return out
}

// Ticker delivers a running task's ticks on the wall clock, as kapacitord
// schedules a batch query: every(d) ticks every d from the ticker's start
// (the first tick one d after it) with the wall time of each tick; with
// align() it waits for the next multiple of d and then ticks on multiples
// of d; a cron expression ticks at its times. The query window of a tick
// is Schedule.Window(tick).
type Ticker struct {
	// C delivers the ticks. A tick is not dropped while the receiver is
	// busy, but ticks of a time.Ticker that come while one is pending are
	// (every without align), as in Kapacitor.
	C <-chan time.Time

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// NewTicker starts a wall-clock ticker for the schedule. Stop it when done.
func (s *Schedule) NewTicker() *Ticker {
	c := make(chan time.Time)
	t := &Ticker{C: c, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		switch {
		case s.cron != nil:
			s.tickCron(t, c)
		case s.opts.Align:
			s.tickAligned(t, c)
		default:
			s.tickEvery(t, c)
		}
	}()
	return t
}

// Stop stops the ticker and waits for its goroutine; no tick is sent after
// it returns. C is not closed.
func (t *Ticker) Stop() {
	t.stopOnce.Do(func() { close(t.stop) })
	<-t.done
}

// send delivers tick unless the ticker stops first.
func (t *Ticker) send(c chan<- time.Time, tick time.Time) bool {
	select {
	case c <- tick:
		return true
	case <-t.stop:
		return false
	}
}

// sleep waits d unless the ticker stops first.
func (t *Ticker) sleep(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-t.stop:
		return false
	}
}

func (s *Schedule) tickEvery(t *Ticker, c chan<- time.Time) {
	tk := time.NewTicker(s.opts.Every)
	defer tk.Stop()
	for {
		select {
		case now := <-tk.C:
			if !t.send(c, now) {
				return
			}
		case <-t.stop:
			return
		}
	}
}

func (s *Schedule) tickAligned(t *Ticker, c chan<- time.Time) {
	every := s.opts.Every
	now := time.Now()
	next := now.Truncate(every).Add(every)
	if !t.sleep(next.Sub(now)) || !t.send(c, next) {
		return
	}
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case now := <-tk.C:
			if !t.send(c, now.Round(every)) {
				return
			}
		case <-t.stop:
			return
		}
	}
}

func (s *Schedule) tickCron(t *Ticker, c chan<- time.Time) {
	for {
		now := time.Now().In(s.loc)
		next := s.cron.Next(now)
		if next.IsZero() {
			<-t.stop
			return
		}
		if !t.sleep(next.Sub(now)) || !t.send(c, next) {
			return
		}
	}
}
