package pipeline

import (
	"errors"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

// alertNode evaluates level lambdas per point and sends events
// (alert.md). Its level lambdas are single expression instances shared by
// all groups, as in Kapacitor.
type alertNode struct {
	nodeBase
	cfg                                              alertConfig
	levels                                           [4]*eval.Expr // by level; [OK] unused
	resets                                           [4]*eval.Expr
	idT                                              string
	msgT                                             string
	detT                                             string
	tmpl                                             *alertTemplates
	topic                                            string
	tcp                                              []string
	noRecoveries                                     bool
	all                                              bool
	levelTag, idTag                                  string
	levelField, idField, messageField, durationField string
	states                                           map[string]*alertState
	own                                              *topic // anonymous topic, if the node has handlers
	named                                            *topic
}

func init() {
	levelProp := func(name string, l Level, reset bool) *Prop {
		return propLambda(name, "condition for level "+l.String(), eval.Bool, func(n *alertNode, c *compiled) error {
			if reset {
				n.resets[l] = c.lambda.New()
			} else {
				n.levels[l] = c.lambda.New()
			}
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
				cfg: alertConfig{history: 21},
				idT: defaultIDTemplate, msgT: defaultMessageTemplate, detT: defaultDetailsTemplate,
				states: map[string]*alertState{},
			}, nil
		},
		Props: []*Prop{
			levelProp("info", Info, false), levelProp("warn", Warning, false), levelProp("crit", Critical, false),
			levelProp("infoReset", Info, true), levelProp("warnReset", Warning, true), levelProp("critReset", Critical, true),
			str("id", "event id template", func(n *alertNode, s string) { n.idT = s }),
			str("message", "event message template", func(n *alertNode, s string) { n.msgT = s }),
			str("details", "event details template (HTML)", func(n *alertNode, s string) { n.detT = s }),
			str("topic", "also publish events to this topic", func(n *alertNode, s string) { n.topic = s }),
			str("tcp", "send events to this TCP address", func(n *alertNode, s string) { n.tcp = append(n.tcp, s) }),
			{Name: "stateChangesOnly", Doc: "send only level changes (and, with a duration, repeat an unchanged level after it)",
				Args: []argKind{argDuration}, MinArgs: -1,
				set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
					n := x.(*alertNode)
					n.cfg.stateChangesOnly = true
					if len(a) == 1 {
						n.cfg.scoDuration = a[0].scalar.Duration()
					}
					return nil
				}},
			propNone("noRecoveries", "do not send OK events", func(n *alertNode) { n.noRecoveries = true }),
			{Name: "flapping", Doc: "suppress events while the level flaps", Args: []argKind{argFloat, argFloat},
				set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
					n := x.(*alertNode)
					n.cfg.flapping = true
					n.cfg.flapLow, n.cfg.flapHigh = a[0].scalar.Float(), a[1].scalar.Float()
					return nil
				}},
			propInt("history", "number of levels kept for flapping detection", func(n *alertNode, i int64) error {
				if i < 2 {
					i = 2
				}
				n.cfg.history = int(i)
				return nil
			}),
			propNone("all", "batches: the level is the lowest level of the batch's points", func(n *alertNode) { n.all = true }),
			str("levelTag", "add the level as this tag to forwarded points", func(n *alertNode, s string) { n.levelTag = s }),
			str("idTag", "add the id as this tag to forwarded points", func(n *alertNode, s string) { n.idTag = s }),
			str("levelField", "add the level as this field", func(n *alertNode, s string) { n.levelField = s }),
			str("idField", "add the id as this field", func(n *alertNode, s string) { n.idField = s }),
			str("messageField", "add the message as this field", func(n *alertNode, s string) { n.messageField = s }),
			str("durationField", "add the duration (ns) as this field", func(n *alertNode, s string) { n.durationField = s }),
		},
	})
}

func (n *alertNode) validate() error {
	if n.cfg.flapping && (n.cfg.flapLow < 0 || n.cfg.flapLow > 1 || n.cfg.flapHigh < 0 || n.cfg.flapHigh > 1) {
		return errors.New("alert flap thresholds are percentages and should be between 0 and 1")
	}
	t, err := parseAlertTemplates(n.idT, n.msgT, n.detT)
	if err != nil {
		return err
	}
	if err := t.check(); err != nil {
		return err
	}
	n.tmpl = t
	return nil
}

func (n *alertNode) start(t *Task) error {
	if len(n.tcp) > 0 {
		n.own = t.topics.anonymous(&n.nodeBase)
		for _, addr := range n.tcp {
			t.topics.add(n.own, &HandlerSpec{ID: n.name + " tcp", Kind: "tcp"}, nil, newTCPHandler(addr, t))
		}
	}
	if n.topic != "" {
		n.named = t.topics.get(n.topic)
	}
	return nil
}

// determineLevel finds the level of p given the group's current level
// (alert.md §3).
func (n *alertNode) determineLevel(p eval.Scope, cur Level) Level {
	if l, ok := n.firstMatch(Critical, cur-1, p); ok {
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
	if l, ok := n.firstMatch(cur, OK, p); ok {
		return l
	}
	return OK
}

// firstMatch evaluates the level lambdas from start down to (not
// including) stop and returns the first that is true.
func (n *alertNode) firstMatch(start, stop Level, p eval.Scope) (Level, bool) {
	if stop < OK {
		stop = OK
	}
	for l := start; l > stop; l-- {
		e := n.levels[l]
		if e == nil {
			continue
		}
		pass, err := e.EvalBool(p)
		if err != nil {
			n.fail("error evaluating expression for level", err, "level", l)
			continue
		}
		if pass {
			return l, true
		}
	}
	return OK, false
}

func (n *alertNode) state(group string) *alertState {
	s := n.states[group]
	if s == nil {
		s = newAlertState(&n.cfg)
		n.states[group] = s
	}
	return s
}

func (n *alertNode) point(p *Point) {
	s := n.state(p.Group)
	l := n.determineLevel(p, s.current())
	s.add(p.Timestamp, l)
	if (n.cfg.flapping && s.flapping) || (n.cfg.stateChangesOnly && !s.changed && !s.expired) {
		return
	}
	if l == OK && !s.changed {
		return
	}
	s.triggered(p.Timestamp)
	if l == OK && n.noRecoveries {
		return
	}
	ev, err := n.event(p, l, s.duration())
	if err != nil {
		n.task.stop(&n.nodeBase, err)
		return
	}
	n.task.stats.Events++
	n.task.topics.publish(ev, n.own, n.named)
	n.forward(p, ev)
}

// event renders the templates and builds the event for p.
func (n *alertNode) event(p *Point, l Level, d time.Duration) (*Event, error) {
	tags := make(map[string]string, len(p.Tags))
	for _, t := range p.Tags {
		tags[t.Key] = t.Value
	}
	srv := n.task.opts.Server
	info := detailsInfo{messageInfo: messageInfo{idInfo: idInfo{
		Name: p.Name, TaskName: n.task.name, Group: groupName(p.Group), Tags: tags,
		ServerInfo: serverInfo(srv),
	}}}
	id, err := n.tmpl.renderID(&info.idInfo)
	if err != nil {
		return nil, err
	}
	fields := make(map[string]interface{}, len(p.Fields))
	for _, f := range p.Fields {
		fields[f.Key] = f.Value.Interface()
	}
	info.ID, info.Fields, info.Level, info.Time, info.Duration = id, fields, l.String(), p.TimeUTC(), d
	msg, err := n.tmpl.renderMessage(&info.messageInfo)
	if err != nil {
		return nil, err
	}
	info.Message = msg
	details, err := n.tmpl.renderDetails(&info)
	if err != nil {
		return nil, err
	}
	return &Event{
		ID: id, Message: msg, Details: details, Time: p.Timestamp, Duration: d, Level: l,
		Recoverable: !n.noRecoveries, Data: pointSeries(p), TaskName: n.task.name, Node: n.name,
	}, nil
}

// forward hands the point to the children, augmented with the event's
// level, id, message and duration where asked (alert.md §9).
func (n *alertNode) forward(p *Point, ev *Event) {
	if len(n.children) == 0 {
		return
	}
	q := p
	if n.levelTag != "" || n.idTag != "" || n.levelField != "" || n.idField != "" || n.messageField != "" || n.durationField != "" {
		q = &n.scratch
		q.CopyFrom(p)
		if n.levelTag != "" {
			q.SetTag(n.levelTag, ev.Level.String())
		}
		if n.idTag != "" {
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
	n.emit(q)
}
