package pipeline

import (
	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/pipeline/alert"
)

// inhibition is an alert node's part in inhibition (alert.md §11):
// .category(name) puts its events in a category, .inhibit(category,
// tags...) makes the node, per group, hold back the events of that
// category with the group's values of the tags while the group is not OK.
// Inhibitors live in the task's alert registry, so they reach across the
// tasks of a server, as in Kapacitor.
type inhibition struct {
	category string
	rules    []inhibitRule
	groups   map[string][]*alert.Inhibitor // per group, one per rule
}

// inhibitRule is one .inhibit(category, tags...).
type inhibitRule struct {
	category string
	tags     []string
}

func inhibitProps() []*Prop {
	return []*Prop{
		propString("category", "the category of the node's events, which .inhibit() of another node may hold back", func(n *alertNode, s string) error {
			n.inh.category = s
			return nil
		}),
		{Name: "inhibit", Doc: "while a group is not OK, hold back events of this category that have the group's values of these tags",
			Args: []argKind{argString}, Variadic: argString, MinArgs: 1,
			set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
				n := x.(*alertNode)
				r := inhibitRule{category: a[0].scalar.Str()}
				for _, v := range a[1:] {
					r.tags = append(r.tags, v.scalar.Str())
				}
				n.inh.rules = append(n.inh.rules, r)
				return nil
			}},
	}
}

// inhibitFor updates the group's inhibitors for an event of level l:
// active unless l is OK. Their tag values are the event's.
func (n *alertNode) inhibitFor(src eventSource, l alert.Level) {
	if len(n.inh.rules) == 0 {
		return
	}
	list, ok := n.inh.groups[src.group]
	if !ok {
		for _, r := range n.inh.rules {
			tags := make([]Tag, 0, len(r.tags))
			for _, k := range r.tags {
				v := ""
				for _, t := range src.tags {
					if t.Key == k {
						v = t.Value
					}
				}
				tags = append(tags, Tag{Key: k, Value: v})
			}
			list = append(list, n.task.alerts.AddInhibitor(r.category, tags))
		}
		if n.inh.groups == nil {
			n.inh.groups = map[string][]*alert.Inhibitor{}
		}
		n.inh.groups[src.group] = list
	}
	for _, i := range list {
		i.Set(l != alert.OK)
	}
}

// inhibited reports whether the node's event is held back by an active
// inhibitor of its category.
func (n *alertNode) inhibited(src eventSource) bool {
	return n.inh.category != "" && n.task.alerts.Inhibited(n.inh.category, src.tags)
}

// finish removes the node's inhibitors from the registry: a stopped task
// inhibits nothing.
func (n *alertNode) finish() {
	for _, list := range n.inh.groups {
		for _, i := range list {
			n.task.alerts.RemoveInhibitor(i)
		}
	}
	n.inh.groups = nil
}

var _ finisher = (*alertNode)(nil)
