package pipeline

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/models"
)

// Handing groups over between instances. A scaled-out server (issue 15)
// runs a sharded task on several instances, each owning the partitions
// the broker gives it; when a partition moves, the state of its groups
// moves with it: the old owner exports it into a checkpoint, the new one
// imports it before it processes the partition. Nodes that keep state per
// group implement handoverNode; the state of the others starts fresh on
// the new owner, and Task.HandoverGaps names them so that check and serve
// can say so.

// handoverNode is implemented by nodes whose per-group state can be
// exported and imported.
type handoverNode interface {
	// exportGroups returns the state of the groups keep selects, by
	// group id.
	exportGroups(keep func(group string) bool) map[string]json.RawMessage
	// importGroups sets the state of the groups given, replacing any the
	// node holds.
	importGroups(groups map[string]json.RawMessage) error
	// dropGroups forgets the groups drop selects.
	dropGroups(drop func(group string) bool)
}

// ExportGroups returns the state of the groups keep selects (by group id,
// as Event.Group shows it with "" for the nil group), as JSON keyed by
// node name: what ImportGroups of the same script on another instance
// takes.
func (t *Task) ExportGroups(keep func(group string) bool) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]map[string]json.RawMessage{}
	for _, n := range t.nodes {
		if h, ok := n.(handoverNode); ok {
			if g := h.exportGroups(keep); len(g) > 0 {
				out[n.base().name] = g
			}
		}
	}
	return json.Marshal(out)
}

// ImportGroups sets the state of the groups an ExportGroups of the same
// script returned. The state of a node the script no longer has is an
// error naming it; the other nodes are imported all the same.
func (t *Task) ImportGroups(data []byte) error {
	var in map[string]map[string]json.RawMessage
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("task %s: groups: %w", t.name, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	byName := map[string]handoverNode{}
	for _, n := range t.nodes {
		if h, ok := n.(handoverNode); ok {
			byName[n.base().name] = h
		}
	}
	names := make([]string, 0, len(in))
	for name := range in {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []string
	for _, name := range names {
		h := byName[name]
		if h == nil {
			errs = append(errs, fmt.Sprintf("node %s: not in the script (it changed?)", name))
			continue
		}
		if err := h.importGroups(in[name]); err != nil {
			errs = append(errs, fmt.Sprintf("node %s: %v", name, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("task %s: groups: %s", t.name, strings.Join(errs, "; "))
	}
	return nil
}

// DropGroups forgets the groups drop selects, in every node that hands
// groups over.
func (t *Task) DropGroups(drop func(group string) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, n := range t.nodes {
		if h, ok := n.(handoverNode); ok {
			h.dropGroups(drop)
		}
	}
}

// HandoverGaps names the nodes that keep per-group state that is not
// handed over between instances ("derivative3"): on a new owner their
// groups start fresh.
func (t *Task) HandoverGaps() []string {
	var out []string
	for _, n := range t.nodes {
		if _, ok := n.(handoverNode); ok {
			continue
		}
		if keepsGroups(n) {
			out = append(out, n.base().name)
		}
	}
	return out
}

// GroupTag returns the value of tag key in group id ("cpu=cpu0,host=a"
// or "name\nhost=a"), and whether the group is keyed by it.
func GroupTag(group, key string) (string, bool) {
	if i := strings.IndexByte(group, '\n'); i >= 0 {
		group = group[i+1:]
	}
	for group != "" {
		part := group
		if i := strings.IndexByte(group, ','); i >= 0 {
			part, group = group[:i], group[i+1:]
		} else {
			group = ""
		}
		if k, v, ok := strings.Cut(part, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// alert nodes hand over each group's levels and last event.

type alertGroupJSON struct {
	Seen  int64          `json:"seen"`
	State alert.Snapshot `json:"state"`
}

func (n *alertNode) exportGroups(keep func(string) bool) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for id, e := range n.states.m {
		if !keep(id) {
			continue
		}
		b, err := json.Marshal(alertGroupJSON{Seen: e.last, State: e.v.Snapshot()})
		if err == nil {
			out[id] = b
		}
	}
	return out
}

func (n *alertNode) importGroups(groups map[string]json.RawMessage) error {
	for id, raw := range groups {
		var g alertGroupJSON
		if err := json.Unmarshal(raw, &g); err != nil {
			return fmt.Errorf("group %q: %w", id, err)
		}
		s := alert.NewState(&n.cfg)
		s.Load(g.State)
		n.states.delete(id)
		if !n.states.add(&n.nodeBase, id, g.Seen, s) {
			return fmt.Errorf("group %q: over the node's group limit", id)
		}
		if s.LastID != "" {
			for _, tp := range []*alert.Topic{n.own, n.named, n.task.all} {
				if tp != nil {
					tp.SeedLevel(s.LastID, s.LastLevel)
				}
			}
		}
	}
	return nil
}

func (n *alertNode) dropGroups(drop func(string) bool) {
	for id := range n.states.m {
		if drop(id) {
			n.states.delete(id)
		}
	}
}

// windows hand over the points they hold and their schedule.

type windowGroupJSON struct {
	Seen     int64       `json:"seen"`
	Name     string      `json:"name"`
	Tags     []Tag       `json:"tags,omitempty"`
	ByName   bool        `json:"byName,omitempty"`
	TagNames []string    `json:"tagNames,omitempty"`
	NextEmit int64       `json:"nextEmit"`
	Count    int64       `json:"count,omitempty"`
	Points   []pointJSON `json:"points,omitempty"`
}

// pointJSON is a held point. Field values are [kind, value] pairs, so
// that an int stays an int.
type pointJSON struct {
	Name   string      `json:"name"`
	DB     string      `json:"db,omitempty"`
	RP     string      `json:"rp,omitempty"`
	Time   int64       `json:"time"`
	Tags   []Tag       `json:"tags,omitempty"`
	Fields []fieldJSON `json:"fields"`
}

type fieldJSON struct {
	Key  string    `json:"k"`
	Kind eval.Kind `json:"t"`
	F    float64   `json:"f,omitempty"`
	I    int64     `json:"i,omitempty"`
	S    string    `json:"s,omitempty"`
	B    bool      `json:"b,omitempty"`
}

func toPointJSON(p *Point) pointJSON {
	q := pointJSON{Name: p.Name, DB: p.Database, RP: p.RP, Time: p.Timestamp, Tags: p.Tags, Fields: make([]fieldJSON, len(p.Fields))}
	for i, f := range p.Fields {
		fj := fieldJSON{Key: f.Key, Kind: f.Value.Kind}
		switch f.Value.Kind {
		case eval.Float:
			fj.F = f.Value.Float()
		case eval.Int:
			fj.I = f.Value.Int()
		case eval.String:
			fj.S = f.Value.Str()
		case eval.Bool:
			fj.B = f.Value.Bool()
		}
		q.Fields[i] = fj
	}
	return q
}

func (q *pointJSON) point(group string, dims Dimensions) (*Point, error) {
	p := &Point{Name: q.Name, Database: q.DB, RP: q.RP, Timestamp: q.Time, Tags: q.Tags, Group: group, Dims: dims}
	p.Fields = make([]Field, len(q.Fields))
	for i, f := range q.Fields {
		var v eval.Value
		switch f.Kind {
		case eval.Float:
			v = eval.FloatValue(f.F)
		case eval.Int:
			v = eval.IntValue(f.I)
		case eval.String:
			v = eval.StringValue(f.S)
		case eval.Bool:
			v = eval.BoolValue(f.B)
		default:
			return nil, fmt.Errorf("field %q: kind %d", f.Key, f.Kind)
		}
		p.Fields[i] = Field{Key: f.Key, Value: v}
	}
	models.SortTags(p.Tags)
	return p, nil
}

func (n *windowNode) exportGroups(keep func(string) bool) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for id, e := range n.groups.m {
		if !keep(id) {
			continue
		}
		g := e.v
		j := windowGroupJSON{Seen: e.last, Name: g.name, Tags: g.tags, ByName: g.dims.ByName, TagNames: g.dims.TagNames,
			NextEmit: g.nextEmit, Count: g.count, Points: make([]pointJSON, len(g.buf))}
		for i, p := range g.buf {
			j.Points[i] = toPointJSON(p)
		}
		if b, err := json.Marshal(j); err == nil {
			out[id] = b
		}
	}
	return out
}

func (n *windowNode) importGroups(groups map[string]json.RawMessage) error {
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	n.dropGroups(func(id string) bool { _, ok := groups[id]; return ok })
	for _, id := range ids {
		var j windowGroupJSON
		if err := json.Unmarshal(groups[id], &j); err != nil {
			return fmt.Errorf("group %q: %w", id, err)
		}
		g := &windowGroup{group: id, name: j.Name, tags: j.Tags, dims: Dimensions{ByName: j.ByName, TagNames: j.TagNames},
			nextEmit: j.NextEmit, count: j.Count}
		for i := range j.Points {
			p, err := j.Points[i].point(id, g.dims)
			if err != nil {
				return fmt.Errorf("group %q: %w", id, err)
			}
			g.buf = append(g.buf, p)
		}
		if !n.groups.add(&n.nodeBase, id, j.Seen, g) {
			return fmt.Errorf("group %q: over the node's group limit", id)
		}
		n.order = append(n.order, g)
	}
	return nil
}

func (n *windowNode) dropGroups(drop func(string) bool) {
	kept := n.order[:0]
	for _, g := range n.order {
		if drop(g.group) {
			n.groups.delete(g.group)
			continue
		}
		kept = append(kept, g)
	}
	clear(n.order[len(kept):])
	n.order = kept
}

var (
	_ handoverNode = (*alertNode)(nil)
	_ handoverNode = (*windowNode)(nil)
)
