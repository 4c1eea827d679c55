package pipeline

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/pipeline/models"
)

// flattenNode merges, per group, the points that share a (rounded) time
// into one point whose fields are named after the points' .on tag values
// (nodes.md §18): with .on('cpu'), cpu=cpu0 usage=1 and cpu=cpu1 usage=2
// become cpu0.usage=1,cpu1.usage=2. A time's point is emitted when a point
// with another time arrives; as in Kapacitor the last time of each group is
// never emitted. Only points are flattened.
type flattenNode struct {
	nodeBase
	on        []string
	delim     string
	tolerance time.Duration
	dropName  bool
	groups    map[string]*flattenGroup
	key       strings.Builder // reused field name buffer
}

// flattenGroup is the points of one group's current time.
type flattenGroup struct {
	time    int64
	hasTime bool
	name    string
	dims    Dimensions
	tags    []Tag
	points  []*Point // owned
	free    models.PointPool
}

func init() {
	register(&Spec{
		Method: "flatten", Kind: "flatten", Doc: "merges the points of one time into one point, naming fields by tag values",
		Wants: streamEdge, Provides: streamEdge,
		New: func(*binder, *ast.Chain, []value) (node, error) {
			return &flattenNode{delim: ".", groups: map[string]*flattenGroup{}}, nil
		},
		Props: []*Prop{
			propStrings("on", "tags whose values prefix the field names", func(n *flattenNode, s []string) error { n.on = s; return nil }),
			propString("delimiter", "between the parts of a field name (default '.')", func(n *flattenNode, s string) error { n.delim = s; return nil }),
			propDuration("tolerance", "round times to multiples of this before grouping", func(n *flattenNode, d time.Duration) error {
				if d < 0 {
					return errors.New("tolerance must be positive")
				}
				n.tolerance = d
				return nil
			}),
			{Name: "dropOriginalFieldName", Doc: "name fields by the tag values only (TRUE when given no argument)", Args: []argKind{argBool}, MinArgs: -1,
				set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
					x.(*flattenNode).dropName = len(a) == 0 || a[0].scalar.Bool()
					return nil
				}},
		},
	})
}

func (n *flattenNode) point(p *Point) {
	g := n.groups[p.Group]
	if g == nil {
		g = &flattenGroup{}
		n.groups[p.Group] = g
	}
	t := roundTime(p.Timestamp, n.tolerance)
	if !g.hasTime || t != g.time {
		if len(g.points) > 0 {
			n.flatten(g)
			g.free.Put(g.points...)
			g.points = g.points[:0]
		}
		g.time, g.hasTime, g.name = t, true, p.Name
		g.dims = Dimensions{ByName: p.Dims.ByName, TagNames: append(g.dims.TagNames[:0], p.Dims.TagNames...)}
		g.tags = append(g.tags[:0], p.GroupTags()...)
	}
	g.points = append(g.points, g.free.CopyOf(p))
}

// flatten emits the group's collected points as one point.
func (n *flattenNode) flatten(g *flattenGroup) {
	out := &n.scratch
	*out = Point{Name: g.name, Timestamp: g.time, Tags: g.tags, Dims: g.dims, Fields: out.Fields[:0]}
points:
	for _, p := range g.points {
		n.key.Reset()
		for i, tag := range n.on {
			v, ok := p.Tag(tag)
			if !ok {
				n.fail("point missing tag for flatten operation", fmt.Errorf("tag %s is missing from point", tag))
				continue points
			}
			if i > 0 {
				n.key.WriteString(n.delim)
			}
			n.key.WriteString(v)
		}
		prefix := n.key.String()
		for _, f := range p.Fields {
			name := prefix
			if !n.dropName {
				if prefix != "" {
					name += n.delim
				}
				name += f.Key
			}
			out.Fields = append(out.Fields, Field{Key: name, Value: f.Value})
		}
	}
	out.Fields = models.SortFields(out.Fields)
	n.regroup(out)
	n.emit(out)
}
