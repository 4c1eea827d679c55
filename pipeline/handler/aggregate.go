package handler

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/tickrun/tickrun/pipeline/alert"
)

// The aggregate kind collects the events of its topic over an interval of
// wall-clock time and publishes one event per interval into another
// topic, as Kapacitor's aggregate handler does: its id is the id option,
// its message the message template over .Count and .Interval, its details
// the messages of the events collected (one a line), its level, time and
// duration the greatest of theirs, and its data the series of all of
// them. An interval without events publishes nothing. What is collected
// when the handler closes is published then. Handler files only.
func init() {
	register(&Kind{
		Name: "aggregate", Doc: "publishes one event per interval that sums up a topic's events to another topic",
		Options: []Option{
			{Name: "id", Type: String, Doc: "the id of the aggregated events"},
			{Name: "topic", Type: String, Doc: "the topic the aggregated events are published to"},
			{Name: "interval", Type: Duration, Doc: "how long events are collected (wall clock)"},
			{Name: "message", Type: String, Doc: "template of the aggregated event's message (.Count, .Interval)", Default: aggregateMessage},
		},
		check: func(o opts) error {
			if _, ok := o["interval"]; !ok {
				return errorf("interval", "missing")
			}
			t, err := o.string("topic", true)
			if err != nil {
				return err
			}
			if !handlerTopicChars.MatchString(t) {
				return errorf("topic", "invalid topic %q: letters, digits, '-', ':', '.' and '_' only", t)
			}
			_, err = aggregateTemplate(o)
			return err
		},
		open: func(o opts, env *Env) (*endpoint, error) {
			if env.Alerts == nil {
				return nil, errNoRegistry("aggregate")
			}
			tmpl, _ := aggregateTemplate(o)
			interval, _ := o.duration("interval", 0)
			id, _ := o.string("id", false)
			topic, _ := o.string("topic", true)
			a := &aggregator{id: id, interval: interval, tmpl: tmpl, log: env.log,
				publish: func(ev *alert.Event) { env.Alerts.Publish(ev, env.Alerts.Topic(topic)) },
				stop:    make(chan struct{}), stopped: make(chan struct{})}
			go a.run()
			return &endpoint{target: "to topic " + topic + " every " + interval.String(), event: a.add, finish: a.finish}, nil
		},
	})
}

// aggregateMessage is Kapacitor's default message of aggregated events.
const aggregateMessage = "Received {{ .Count }} events in the last {{.Interval}}."

// aggregateData is what the message template sees.
type aggregateData struct {
	Count    int
	Interval time.Duration
}

func aggregateTemplate(o opts) (*optTemplate, error) {
	msg := o.or("message", aggregateMessage)
	return parseOptTemplate("message", msg, aggregateData{})
}

// aggregator collects events and publishes their sum at every tick.
type aggregator struct {
	id       string
	interval time.Duration
	tmpl     *optTemplate
	log      func(format string, args ...any)
	publish  func(ev *alert.Event)

	mu      sync.Mutex
	events  []*alert.Event
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

// add collects an event (in the queue's goroutine).
func (a *aggregator) add(ev *alert.Event) error {
	a.mu.Lock()
	a.events = append(a.events, ev)
	a.mu.Unlock()
	return nil
}

func (a *aggregator) run() {
	defer close(a.stopped)
	t := time.NewTicker(a.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			a.flush()
		case <-a.stop:
			return
		}
	}
}

// finish stops the ticker and publishes what is collected.
func (a *aggregator) finish(context.Context) {
	a.once.Do(func() {
		close(a.stop)
		<-a.stopped
		a.flush()
	})
}

// flush publishes the events collected as one, if there are any.
func (a *aggregator) flush() {
	a.mu.Lock()
	events := a.events
	a.events = nil
	a.mu.Unlock()
	if len(events) == 0 {
		return
	}
	msg, err := a.tmpl.render(aggregateData{Count: len(events), Interval: a.interval})
	if err != nil {
		a.log("aggregate handler: %d events not aggregated: %v", len(events), err)
		return
	}
	agg := &alert.Event{ID: a.id, Message: msg}
	details := make([]string, len(events))
	for i, e := range events {
		agg.Level = max(agg.Level, e.Level)
		agg.Time = max(agg.Time, e.Time)
		agg.Duration = max(agg.Duration, e.Duration)
		details[i] = e.Message
		if i == 0 {
			agg.Data = e.Data
		} else {
			agg.Extra = append(agg.Extra, e.Data)
		}
		agg.Extra = append(agg.Extra, e.Extra...)
	}
	agg.Details = strings.Join(details, "\n")
	a.publish(agg)
}
