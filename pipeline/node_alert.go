package pipeline

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/handler"
	"github.com/tickrun/tickrun/pipeline/models"
)

// alertNode evaluates level lambdas per point and sends events
// (alert.md). Its level lambdas are single expression instances shared by
// all groups, as in Kapacitor.
type alertNode struct {
	nodeBase
	cfg                                              alert.Config
	levels                                           [4]*eval.Expr // by level; [OK] unused
	resets                                           [4]*eval.Expr
	tmplPos                                          [3]ast.Pos // of .id, .message, .details arguments
	refs                                             []string   // names the level and reset lambdas read
	explainErrs                                      []string   // lambda errors of the current point, for Explain
	idT                                              string
	msgT                                             string
	detT                                             string
	tmpl                                             *alert.Templates
	topic                                            string
	handlers                                         []*handler.Spec           // .tcp(), .log(), .slack(), ..., in script order
	handlerPos                                       map[*handler.Spec]ast.Pos // where the script adds each handler
	noRecoveries                                     bool
	all                                              bool
	levelTag, idTag                                  string
	levelField, idField, messageField, durationField string
	states                                           groupTable[*alert.State]
	own                                              *alert.Topic // anonymous topic, if the node has handlers
	named                                            *alert.Topic
	triggered                                        [4]int64   // events sent, by level
	inh                                              inhibition // .category(), .inhibit(): node_alert_inhibit.go
}

func init() {
	levelProp := func(name string, l alert.Level, reset bool) *Prop {
		return propLambda(name, "condition for level "+l.String(), eval.Bool, func(n *alertNode, c *compiled) error {
			if reset {
				n.resets[l] = c.lambda.New()
			} else {
				n.levels[l] = c.lambda.New()
			}
			for _, r := range c.lambda.References() {
				if !slices.Contains(n.refs, r) {
					n.refs = append(n.refs, r)
				}
			}
			slices.Sort(n.refs)
			return nil
		})
	}
	str := func(name, doc string, set func(n *alertNode, s string)) *Prop {
		return propString(name, doc, func(n *alertNode, s string) error { set(n, s); return nil })
	}
	register(&Spec{
		Method: "alert", Kind: "alert", Doc: "sends events when lambdas match",
		Wants: anyEdge, Provides: anyEdge,
		New: func(*binder, *ast.Chain, []value) (node, error) {
			return &alertNode{
				cfg: alert.Config{History: 21},
				idT: alert.DefaultIDTemplate, msgT: alert.DefaultMessageTemplate, detT: alert.DefaultDetailsTemplate,
				states: newGroupTable[*alert.State](),
			}, nil
		},
		Props: handlerProps(append([]*Prop{
			levelProp("info", alert.Info, false), levelProp("warn", alert.Warning, false), levelProp("crit", alert.Critical, false),
			levelProp("infoReset", alert.Info, true), levelProp("warnReset", alert.Warning, true), levelProp("critReset", alert.Critical, true),
			tmplProp("id", "event id template", func(n *alertNode) (*string, *ast.Pos) { return &n.idT, &n.tmplPos[0] }),
			tmplProp("message", "event message template", func(n *alertNode) (*string, *ast.Pos) { return &n.msgT, &n.tmplPos[1] }),
			tmplProp("details", "event details template (HTML)", func(n *alertNode) (*string, *ast.Pos) { return &n.detT, &n.tmplPos[2] }),
			str("topic", "also publish events to this topic", func(n *alertNode, s string) { n.topic = s }),
			{Name: "stateChangesOnly", Doc: "send only level changes (and, with a duration, repeat an unchanged level after it)",
				Args: []argKind{argDuration}, MinArgs: -1,
				set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
					n := x.(*alertNode)
					n.cfg.StateChangesOnly = true
					if len(a) == 1 {
						n.cfg.StateChangesOnlyDuration = a[0].scalar.Duration()
					}
					return nil
				}},
			propNone("noRecoveries", "do not send OK events", func(n *alertNode) { n.noRecoveries = true }),
			{Name: "flapping", Doc: "suppress events while the level flaps", Args: []argKind{argFloat, argFloat},
				set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
					n := x.(*alertNode)
					n.cfg.Flapping = true
					n.cfg.FlapLow, n.cfg.FlapHigh = a[0].scalar.Float(), a[1].scalar.Float()
					return nil
				}},
			propInt("history", "number of levels kept for flapping detection", func(n *alertNode, i int64) error {
				if i < 2 {
					i = 2
				}
				n.cfg.History = int(i)
				return nil
			}),
			propNone("all", "batches: the level is the lowest level of the batch's points", func(n *alertNode) { n.all = true }),
			str("levelTag", "add the level as this tag to forwarded points", func(n *alertNode, s string) { n.levelTag = s }),
			str("idTag", "add the id as this tag to forwarded points", func(n *alertNode, s string) { n.idTag = s }),
			str("levelField", "add the level as this field", func(n *alertNode, s string) { n.levelField = s }),
			str("idField", "add the id as this field", func(n *alertNode, s string) { n.idField = s }),
			str("messageField", "add the message as this field", func(n *alertNode, s string) { n.messageField = s }),
			str("durationField", "add the duration (ns) as this field", func(n *alertNode, s string) { n.durationField = s }),
		}, inhibitProps()...)),
	})
}

func (n *alertNode) validate() error {
	if n.cfg.Flapping && (n.cfg.FlapLow < 0 || n.cfg.FlapLow > 1 || n.cfg.FlapHigh < 0 || n.cfg.FlapHigh > 1) {
		return errors.New("alert flap thresholds are percentages and should be between 0 and 1")
	}
	t, err := alert.ParseTemplates(n.idT, n.msgT, n.detT)
	if err == nil {
		t.SetLimits(n.task.opts.TemplateLimits)
		err = t.Check()
	}
	if te, ok := err.(*alert.TemplateError); ok {
		pos := n.tmplPos[te.Which]
		if !pos.IsValid() {
			pos = n.pos
		}
		return &ast.Error{Pos: pos, Msg: te.Error()}
	}
	if err != nil {
		return err
	}
	n.tmpl = t
	return nil
}

// tmplProp is the .id(), .message() or .details() property: it records the
// template and where it was written, for errors found when it is parsed.
func tmplProp(name, doc string, field func(*alertNode) (*string, *ast.Pos)) *Prop {
	return &Prop{Name: name, Doc: doc, Args: []argKind{argString},
		set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
			s, pos := field(x.(*alertNode))
			*s, *pos = a[0].scalar.Str(), a[0].pos
			return nil
		}}
}

func (n *alertNode) start(t *Task) error {
	for _, g := range handler.Globals(t.opts.Config) {
		if n.lastHandler(g.Kind) == nil {
			n.handlers = append(n.handlers, &handler.Spec{ID: n.name + " " + g.Kind + " (global)", Kind: g.Kind, Options: g.Options})
		}
		n.cfg.StateChangesOnly = n.cfg.StateChangesOnly || g.StateChangesOnly
	}
	if len(n.handlers) > 0 {
		name := t.opts.KapacitorID + ":" + t.name + ":" + n.name
		n.own = t.alerts.Topic(name)
		for _, spec := range n.handlers {
			spec.Topic = name
			if err := t.subscribe(spec); err != nil {
				if pos, ok := n.handlerPos[spec]; ok {
					k, _ := handler.Lookup(spec.Kind)
					return &ast.Error{Pos: pos, Msg: "." + k.Property.Name + "(): " + err.Error()}
				}
				return err
			}
		}
	}
	if n.topic != "" {
		n.named = t.alerts.Topic(n.topic)
	}
	return nil
}

// handlersOf returns the node's handlers of a kind written so far.
func (n *alertNode) handlersOf(kind string) []*handler.Spec {
	var out []*handler.Spec
	for _, h := range n.handlers {
		if h.Kind == kind {
			out = append(out, h)
		}
	}
	return out
}

// expire releases the groups idle since cutoff: all of them when the
// user set an expiry (their levels are forgotten), otherwise those whose
// state equals a fresh one.
func (n *alertNode) expire(cutoff int64, explicit bool) int {
	return n.states.expire(cutoff, func(_ string, s *alert.State) bool { return explicit || s.Fresh() })
}

var _ expirer = (*alertNode)(nil)

// lastHandler returns the node's last handler of a kind written so far.
func (n *alertNode) lastHandler(kind string) *handler.Spec {
	for i := len(n.handlers) - 1; i >= 0; i-- {
		if n.handlers[i].Kind == kind {
			return n.handlers[i]
		}
	}
	return nil
}

// determineLevel finds the level of p given the group's current level
// (alert.md §3).
func (n *alertNode) determineLevel(p eval.Scope, cur alert.Level) alert.Level {
	if l, ok := n.firstMatch(alert.Critical, cur-1, p); ok {
		return l
	}
	if r := n.resets[cur]; r != nil {
		pass, err := r.EvalBool(p)
		if err != nil {
			n.fail("error evaluating reset expression for current level", err, "level", cur)
		} else if !pass {
			return cur
		}
	}
	if l, ok := n.firstMatch(cur, alert.OK, p); ok {
		return l
	}
	return alert.OK
}

// firstMatch evaluates the level lambdas from start down to (not
// including) stop and returns the first that is true.
func (n *alertNode) firstMatch(start, stop alert.Level, p eval.Scope) (alert.Level, bool) {
	if stop < alert.OK {
		stop = alert.OK
	}
	for l := start; l > stop; l-- {
		e := n.levels[l]
		if e == nil {
			continue
		}
		pass, err := e.EvalBool(p)
		if err != nil {
			n.fail("error evaluating expression for level", err, "level", l)
			if n.task.opts.Explain != nil {
				// Kapacitor evaluates (and logs) a failing lambda of the
				// current level twice; the story of the point tells it once.
				if msg := l.String() + ": " + err.Error(); !slices.Contains(n.explainErrs, msg) {
					n.explainErrs = append(n.explainErrs, msg)
				}
			}
			continue
		}
		if pass {
			return l, true
		}
	}
	return alert.OK, false
}

// state returns the state of a group seen at time t, creating it on the
// group's first point or batch (src): restored from Options.AlertState
// when a previous run left one for the group's event id, in the node's
// named topic or else its own. It returns nil when the node may not hold
// another group (Options.MaxGroups).
func (n *alertNode) state(group string, t int64, src *eventSource) *alert.State {
	s, ok := n.states.lookup(group, t)
	if !ok {
		s = alert.NewState(&n.cfg)
		if !n.states.add(&n.nodeBase, group, t, s) {
			return nil
		}
		if restore := n.task.opts.AlertState; restore != nil {
			info := alert.IDInfo{Name: src.name, TaskName: n.task.name, Group: models.GroupName(group), ServerInfo: n.task.opts.Server}
			if !n.tmpl.Simple() {
				info.Tags = make(map[string]string, len(src.tags))
				for _, t := range src.tags {
					info.Tags[t.Key] = t.Value
				}
			}
			if id, err := n.tmpl.RenderID(&info); err == nil {
				for _, tp := range []*alert.Topic{n.named, n.own} {
					if tp == nil {
						continue
					}
					if saved, ok := restore(tp.Name(), id); ok {
						s.Restore(saved.Level, saved.EpisodeStart, saved.Time)
						break
					}
				}
			}
		}
	}
	return s
}

func (n *alertNode) point(p *Point) {
	s, ok := n.states.lookup(p.Group, p.Timestamp)
	if !ok {
		if s = n.state(p.Group, p.Timestamp, &eventSource{name: p.Name, tags: p.Tags}); s == nil {
			return
		}
	}
	prev := s.Current()
	n.explainErrs = n.explainErrs[:0]
	l := n.determineLevel(p, prev)
	s.Add(p.Timestamp, l)
	explain := func(outcome string) {
		if n.task.opts.Explain != nil {
			n.explain(p, prev, l, outcome)
		}
	}
	if n.cfg.Flapping && s.Flapping {
		explain("suppressed: flapping")
		return
	}
	if n.cfg.StateChangesOnly && !s.Changed && !s.Expired {
		if l == alert.OK {
			explain("")
		} else {
			explain("suppressed: stateChangesOnly, level unchanged")
		}
		return
	}
	if l == alert.OK && !s.Changed {
		explain("")
		return
	}
	s.Triggered(p.Timestamp)
	if l == alert.OK && n.noRecoveries {
		explain("suppressed: noRecoveries")
		return
	}
	explain("sent")
	if ev := n.raise(s, eventSource{name: p.Name, group: p.Group, tags: p.Tags, fields: p.Fields, time: p.Timestamp, data: models.PointSeries(p)}, l, s.Duration()); ev != nil {
		n.forward(p, ev)
	}
}

// batch handles a window's batch (alert.md §7): every point's level is
// computed from the level before the batch; the batch takes the highest
// (or with .all() the lowest) of them.
func (n *alertNode) batch(b *Batch) {
	if len(b.Points) == 0 {
		return
	}
	s := n.state(b.Group, b.TMax, &eventSource{name: b.Name, tags: b.Tags})
	if s == nil {
		return
	}
	cur := s.Current()
	lowest, highest := alert.Critical, alert.OK
	var lowP, highP *Point
	for _, p := range b.Points {
		l := n.determineLevel(p, cur)
		if l < lowest || lowP == nil && l == lowest {
			lowest, lowP = l, p
		}
		if l > highest || highP == nil {
			highest, highP = l, p
		}
	}
	l, trig := highest, highP
	if n.all {
		l, trig = lowest, lowP
	}
	t := trig.Timestamp
	if n.all || l == alert.OK {
		t = b.TMax
	}
	s.Add(t, l)
	send := s.Changed && l == alert.OK ||
		l != alert.OK && !(n.cfg.Flapping && s.Flapping || n.cfg.StateChangesOnly && !s.Changed && !s.Expired)
	if !send {
		return
	}
	s.Triggered(t)
	if l == alert.OK && n.noRecoveries {
		return
	}
	if ev := n.raise(s, eventSource{name: b.Name, group: b.Group, tags: b.Tags, fields: trig.Fields, time: t, data: models.BatchSeries(b), batch: true}, l, s.Duration()); ev != nil {
		n.forwardBatch(b, ev)
	}
}

// raise builds the event and publishes it to the node's topics. An event
// whose templates fail (a NaN in the default details, a template over its
// limits) costs that event only: it is logged with the node's errors,
// counted, and nil is returned; the task goes on. (Kapacitor stops the
// task.)
func (n *alertNode) raise(s *alert.State, src eventSource, l alert.Level, d time.Duration) *Event {
	n.inhibitFor(src, l)
	ev, err := n.event(src, l, d)
	if err != nil {
		n.fail("event not sent", err, "time", time.Unix(0, src.time).UTC().Format(time.RFC3339Nano))
		return nil
	}
	if n.inhibited(src) {
		return ev // dropped: no handler, no topic; the point still goes on
	}
	n.task.stats.Events++
	n.triggered[l]++
	s.LastID, s.LastLevel = ev.ID, ev.Level
	n.task.publish(ev, n.own, n.named)
	return ev
}

// eventSource is what an event is made of: a point, or a batch with its
// triggering point's fields.
type eventSource struct {
	name, group string
	tags        []Tag
	fields      []Field
	time        int64
	data        Series
	batch       bool // a batch's event: data has a row per point
}

// batchFields returns a copy of a batch event's triggering fields (never
// nil), or nil for a stream event, whose data's row holds them
// (alert.Event.TriggerFields).
func (s *eventSource) batchFields() []Field {
	if !s.batch {
		return nil
	}
	return append([]Field{}, s.fields...)
}

// event renders the templates and builds the event.
func (n *alertNode) event(src eventSource, l alert.Level, d time.Duration) (*Event, error) {
	info := alert.DetailsInfo{MessageInfo: alert.MessageInfo{IDInfo: alert.IDInfo{
		Name: src.name, TaskName: n.task.name, Group: models.GroupName(src.group),
		ServerInfo: n.task.opts.Server,
	}}}
	if !n.tmpl.Simple() { // a template reads .Tags or .Fields
		alert.FillInfoMaps(&info, src.tags, src.fields)
	}
	id, err := n.tmpl.RenderID(&info.IDInfo)
	if err != nil {
		return nil, fmt.Errorf("id template: %w", err)
	}
	info.ID, info.Level, info.Time, info.Duration = id, l.String(), time.Unix(0, src.time).UTC(), d
	msg, err := n.tmpl.RenderMessage(&info.MessageInfo)
	if err != nil {
		return nil, fmt.Errorf("alert %q: message template: %w", id, err)
	}
	info.Message = msg
	details, err := n.tmpl.RenderDetails(&info, src.tags, src.fields)
	if err != nil {
		return nil, fmt.Errorf("alert %q: details template: %w", id, err)
	}
	return &Event{
		ID: id, Message: msg, Details: details, Time: src.time, Duration: d, Level: l,
		Recoverable: !n.noRecoveries, Data: src.data, TaskName: n.task.name, Node: n.name,
		Group: info.Group, Fields: src.batchFields(),
	}, nil
}

// augments reports whether events add tags or fields to forwarded data.
func (n *alertNode) augments() bool {
	return n.levelTag != "" || n.idTag != "" || n.levelField != "" || n.idField != "" || n.messageField != "" || n.durationField != ""
}

// augment adds the event's level, id, message and duration to q, which
// the node owns (alert.md §9).
func (n *alertNode) augment(q *Point, ev *Event, tags bool) {
	if tags && n.levelTag != "" {
		q.SetTag(n.levelTag, ev.Level.String())
	}
	if tags && n.idTag != "" {
		q.SetTag(n.idTag, ev.ID)
	}
	if n.levelField != "" {
		q.SetField(n.levelField, eval.StringValue(ev.Level.String()))
	}
	if n.idField != "" {
		q.SetField(n.idField, eval.StringValue(ev.ID))
	}
	if n.messageField != "" {
		q.SetField(n.messageField, eval.StringValue(ev.Message))
	}
	if n.durationField != "" {
		q.SetField(n.durationField, eval.IntValue(int64(ev.Duration)))
	}
}

// forwardBatch hands the batch to the children, augmented where asked.
func (n *alertNode) forwardBatch(b *Batch, ev *Event) {
	if len(n.children) == 0 {
		return
	}
	if !n.augments() {
		n.emitBatch(b)
		return
	}
	out := &Batch{Name: b.Name, Group: b.Group, Dims: b.Dims, TMax: b.TMax, Tags: append([]Tag(nil), b.Tags...)}
	tb := &Point{Tags: out.Tags}
	if n.levelTag != "" {
		tb.SetTag(n.levelTag, ev.Level.String())
	}
	if n.idTag != "" {
		tb.SetTag(n.idTag, ev.ID)
	}
	out.Tags = tb.Tags
	for _, p := range b.Points {
		q := p.Clone()
		n.augment(q, ev, true)
		out.Points = append(out.Points, q)
	}
	n.emitBatch(out)
}

// forward hands the point to the children, augmented with the event's
// level, id, message and duration where asked (alert.md §9).
func (n *alertNode) forward(p *Point, ev *Event) {
	if len(n.children) == 0 {
		return
	}
	q := p
	if n.augments() {
		q = &n.scratch
		q.CopyFrom(p)
		n.augment(q, ev, true)
	}
	n.emit(q)
}

var _ batchNode = (*alertNode)(nil)

// Explanation tells what an alert node did with one point: the level it
// found, why an event was or was not sent, and the values its lambdas
// read. tickrun explain prints them.
type Explanation struct {
	Node    string      // alert node name, e.g. "alert2"
	ID      string      // event id the point would have
	Time    int64       // point time, ns since the epoch
	Prev    alert.Level // the group's level before the point
	Level   alert.Level // the level of the point
	Outcome string      // "sent", "suppressed: <why>", or "" (OK and unchanged: nothing to send)
	Values  []Field     // the fields and tags the level lambdas read
	Errors  []string
}

func (n *alertNode) explain(p *Point, prev, l alert.Level, outcome string) {
	tags := make(map[string]string, len(p.Tags))
	for _, t := range p.Tags {
		tags[t.Key] = t.Value
	}
	id, _ := n.tmpl.RenderID(&alert.IDInfo{Name: p.Name, TaskName: n.task.name, Group: models.GroupName(p.Group), Tags: tags, ServerInfo: n.task.opts.Server})
	x := &Explanation{Node: n.name, ID: id, Time: p.Timestamp, Prev: prev, Level: l, Outcome: outcome, Errors: append([]string(nil), n.explainErrs...)}
	for _, r := range n.refs {
		if v, err := p.Lookup(r); err == nil && v.Kind != eval.Missing {
			x.Values = append(x.Values, Field{Key: r, Value: v})
		} else if r == "time" {
			x.Values = append(x.Values, Field{Key: r, Value: eval.TimeValue(p.Timestamp)})
		}
	}
	n.task.opts.Explain(x)
}
