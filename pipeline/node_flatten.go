package pipeline

import (
	"errors"
	"fmt"
	"slices"
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
// never emitted. Batches are flattened per group across batches of the
// same (rounded) batch time: when a batch of another time arrives, the
// points kept are emitted as one batch of one point per time (Kapacitor's
// flatten.go), so the last batch time of a group is never emitted either.
type flattenNode struct {
	nodeBase
	on        []string
	delim     string
	tolerance time.Duration
	dropName  bool
	groups    map[string]*flattenGroup
	batches   map[string]*flattenBatches
	key       strings.Builder // reused field name buffer
}

// flattenBatches is what a group's batches of the current batch time
// hold, by rounded point time.
type flattenBatches struct {
	time   int64
	name   string
	dims   Dimensions
	tags   []Tag
	points map[int64][]*Point // owned
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
		Wants: anyEdge, Provides: anyEdge,
		New: func(*binder, *ast.Chain, []value) (node, error) {
			return &flattenNode{delim: ".", groups: map[string]*flattenGroup{}, batches: map[string]*flattenBatches{}}, nil
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
			propNone("dropOriginalFieldName", "name fields by the tag values only", func(n *flattenNode) { n.dropName = true }),
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

// batch keeps the batch's points by rounded time; a batch of another
// batch time first emits what the group kept.
func (n *flattenNode) batch(b *Batch) {
	t := roundTime(b.TMax, n.tolerance)
	g := n.batches[b.Group]
	if g == nil {
		g = &flattenBatches{time: t, name: b.Name, dims: b.Dims, tags: b.Tags, points: map[int64][]*Point{}}
		n.batches[b.Group] = g
	}
	if t != g.time {
		times := make([]int64, 0, len(g.points))
		for pt := range g.points {
			times = append(times, pt)
		}
		slices.Sort(times)
		out := &Batch{Name: g.name, Group: b.Group, Dims: g.dims, Tags: g.tags, TMax: g.time}
		for _, pt := range times {
			p := &Point{Name: g.name, Timestamp: pt, Tags: g.tags, Dims: g.dims, Group: b.Group}
			n.flattenInto(p, g.points[pt])
			out.Points = append(out.Points, p)
			delete(g.points, pt)
		}
		n.emitBatch(out)
		g.time = t
	}
	for _, p := range b.Points {
		pt := roundTime(p.Timestamp, n.tolerance)
		g.points[pt] = append(g.points[pt], p.Clone())
	}
}

// flatten emits the group's collected points as one point.
func (n *flattenNode) flatten(g *flattenGroup) {
	out := &n.scratch
	*out = Point{Name: g.name, Timestamp: g.time, Tags: g.tags, Dims: g.dims, Fields: out.Fields[:0]}
	n.flattenInto(out, g.points)
	n.regroup(out)
	n.emit(out)
}

// flattenInto sets out's fields from points: each field named after the
// point's .on tag values (a point missing one is logged and skipped).
func (n *flattenNode) flattenInto(out *Point, points []*Point) {
points:
	for _, p := range points {
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
}

var _ batchNode = (*flattenNode)(nil)
