package pipeline

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/models"
)

// joinNode pairs points of its parents that share a group and a (rounded)
// time (nodes.md §20), as Kapacitor's join.go does: per group it keeps
// join sets by time and, on each point, emits the sets of the oldest time
// that are complete, or all of them once every parent's latest time has
// passed it (filled or dropped per .fill). With .on(tags...) points with
// more dimensions are matched to points grouped by the on tags only. The
// remaining sets are drained at the end of the input. Only points are
// joined; batch parents are rejected.
type joinNode struct {
	nodeBase
	extra      []node
	names      []string // .as: one prefix per parent
	delim      string
	tolerance  time.Duration
	fill       string     // "none", "null" or "number"
	fillValue  eval.Value // with fill "number"
	on         []string   // sorted join dimensions
	streamName string

	groups map[string]*joinGroup
	order  []*joinGroup // groups in order of creation, for draining

	// .on matching (Kapacitor matchPoints)
	reported    []bool
	allReported bool
	lowMarks    map[joinSrcGroup]int64
	matchBuf    map[string][]joinSrcPoint
	specificBuf map[string][]joinSrcPoint
}

// joinSrcGroup keys the low-water mark of one parent in one on-group.
type joinSrcGroup struct {
	src   int
	group string
}

// joinSrcPoint is an owned point and the parent it came from.
type joinSrcPoint struct {
	src int
	p   *Point
}

// joinGroup holds the pending join sets of one group.
type joinGroup struct {
	sets      map[int64][]*joinSet
	head      []int64 // per parent: rounded time of its latest point (0: none)
	oldest    int64   // oldest time with pending sets (0: none)
	hasOldest bool
}

// joinSet is the points of one time, at most one per parent.
type joinSet struct {
	time   int64
	values []*Point
	size   int
}

func init() {
	register(&Spec{
		Method: "join", Kind: "join", Doc: "joins points of several parents by group and time",
		MinArgs: 1, Variadic: argAny, Wants: streamEdge, Provides: streamEdge,
		New: func(b *binder, c *ast.Chain, args []value) (node, error) {
			extra, err := nodeArgs("join", args)
			if err != nil {
				return nil, err
			}
			n := &joinNode{extra: extra, delim: ".", fill: "none", groups: map[string]*joinGroup{},
				reported: make([]bool, len(extra)+1), lowMarks: map[joinSrcGroup]int64{},
				matchBuf: map[string][]joinSrcPoint{}, specificBuf: map[string][]joinSrcPoint{}}
			connect(n, extra)
			return n, nil
		},
		Props: []*Prop{
			propStrings("as", "one field prefix per parent, the chained-on parent first", func(n *joinNode, s []string) error { n.names = s; return nil }),
			propString("delimiter", "between prefix and field name (default '.')", func(n *joinNode, s string) error { n.delim = s; return nil }),
			propDuration("tolerance", "round times to multiples of this before matching", func(n *joinNode, d time.Duration) error {
				if d < 0 {
					return errors.New("tolerance must be positive")
				}
				n.tolerance = d
				return nil
			}),
			{Name: "fill", Doc: "'none' (inner join), 'null' or a number (outer join)", Args: []argKind{argScalar},
				set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
					n, v := x.(*joinNode), a[0].scalar
					switch v.Kind {
					case eval.String:
						if s := v.Str(); s != "none" && s != "null" {
							return ast.Errorf(a[0].pos, "unexpected fill option %s", s)
						}
						n.fill = v.Str()
					case eval.Int, eval.Float:
						n.fill, n.fillValue = "number", v
					default:
						return ast.Errorf(a[0].pos, "unexpected fill type %s", v.Kind)
					}
					return nil
				}},
			propStrings("on", "join on these dimensions only", func(n *joinNode, s []string) error { n.on = models.SortedDims(s); return nil }),
			propString("streamName", "measurement of the joined points (default: the first present point's)", func(n *joinNode, s string) error { n.streamName = s; return nil }),
		},
	})
}

func (n *joinNode) validate() error {
	if err := checkParentEdges("join", n.parent, n.extra, streamEdge); err != nil {
		return err
	}
	if len(n.names) == 0 {
		return errors.New("must provide a prefix name for the join node, see .as() property method")
	}
	if len(n.names) != len(n.extra)+1 {
		return fmt.Errorf("number of prefixes specified by 'as' must match number of joined streams: %d != %d", len(n.names), len(n.extra)+1)
	}
	seen := map[string]bool{}
	for _, name := range n.names {
		if name == "" {
			return errors.New("must provide a prefix name for the join node, see .as() property method")
		}
		if n.delim != "" && strings.Contains(name, n.delim) {
			return fmt.Errorf("cannot use name %s as field prefix, it contains the delimiter %q", name, n.delim)
		}
		if seen[name] {
			return errors.New("cannot use the same prefix name see .as() property method")
		}
		seen[name] = true
	}
	return nil
}

func (n *joinNode) point(p *Point)        { n.pointFrom(0, p) }
func (n *joinNode) batchFrom(int, *Batch) {} // rejected by validate
func (n *joinNode) round(t int64) int64   { return roundTime(t, n.tolerance) }

// roundTime rounds t (ns since the epoch) to a multiple of d as Go's
// time.Round does (halfway away from zero); d <= 0 leaves it unchanged.
func roundTime(t int64, d time.Duration) int64 {
	if d <= 0 {
		return t
	}
	return time.Unix(0, t).Round(d).UnixNano()
}

func (n *joinNode) pointFrom(src int, p *Point) {
	c := p.Clone()
	if len(n.on) > 0 {
		n.matchPoints(joinSrcPoint{src, c})
		return
	}
	n.collect(n.getGroup(c.Group), src, c)
}

func (n *joinNode) getGroup(id string) *joinGroup {
	g := n.groups[id]
	if g == nil {
		g = &joinGroup{sets: map[int64][]*joinSet{}, head: make([]int64, len(n.extra)+1)}
		n.groups[id] = g
		n.order = append(n.order, g)
	}
	return g
}

// onGroup is the group id of p over the join dimensions only.
func (n *joinNode) onGroup(p *Point) string {
	var b strings.Builder
	if p.Dims.ByName {
		b.WriteString(p.Name)
		b.WriteByte('\n')
	}
	for i, k := range n.on {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		for _, d := range p.Dims.TagNames {
			if d == k {
				v, _ := p.Tag(k)
				b.WriteString(v)
			}
		}
	}
	return b.String()
}

// matchPoints pairs points having more dimensions than .on ("specific")
// with points grouped by the on dimensions only, keeping either kind until
// its match arrives or the parents' low-water marks pass it (Kapacitor
// join.go matchPoints).
func (n *joinNode) matchPoints(sp joinSrcPoint) {
	if !n.allReported {
		n.reported[sp.src] = true
		n.allReported = true
		for _, r := range n.reported {
			n.allReported = n.allReported && r
		}
	}
	t := n.round(sp.p.Timestamp)
	gid := n.onGroup(sp.p)
	n.lowMarks[joinSrcGroup{sp.src, gid}] = t

	var lowMark int64
	if n.allReported {
		for s := range n.reported {
			if lm := n.lowMarks[joinSrcGroup{s, gid}]; lowMark == 0 || lm < lowMark {
				lowMark = lm
			}
		}
		buf := n.specificBuf[gid]
		i := 0
		for ; i < len(buf) && n.round(buf[i].p.Timestamp) < lowMark; i++ {
			n.sendSpecific(buf[i])
		}
		n.specificBuf[gid] = buf[i:]
	}

	if len(sp.p.Dims.TagNames) > len(n.on) {
		matches := n.matchBuf[gid]
		matched := false
		i := 0
		for ; i < len(matches); i++ {
			pt := n.round(matches[i].p.Timestamp)
			if pt == t {
				n.sendMatch(sp, matches[i])
				matched = true
			}
			if pt >= lowMark {
				break
			}
		}
		if n.allReported {
			n.matchBuf[gid] = matches[i:]
		}
		if !matched {
			if n.allReported && t < lowMark {
				n.sendSpecific(sp)
			} else {
				n.specificBuf[gid] = append(n.specificBuf[gid], sp)
			}
		}
		return
	}
	n.matchBuf[gid] = append(n.matchBuf[gid], sp)
	buf := n.specificBuf[gid]
	i := 0
	for ; i < len(buf) && n.round(buf[i].p.Timestamp) == t; i++ {
		n.sendMatch(buf[i], sp)
	}
	n.specificBuf[gid] = buf[i:]
}

func (n *joinNode) sendSpecific(sp joinSrcPoint) {
	n.collect(n.getGroup(sp.p.Group), sp.src, sp.p)
}

// sendMatch collects a specific point and a copy of its match that takes
// the specific point's group tags and dimensions.
func (n *joinNode) sendMatch(specific, matched joinSrcPoint) {
	m := matched.p.Clone()
	m.Tags = specific.p.GroupTags()
	m.Dims.TagNames = append([]string(nil), specific.p.Dims.TagNames...)
	m.Dims.ByName = specific.p.Dims.ByName
	n.regroup(m)
	g := n.getGroup(specific.p.Group)
	n.collect(g, specific.src, specific.p)
	n.collect(g, matched.src, m)
}

// collect adds an owned point to its group's join set and emits what is
// ready (Kapacitor joinGroup.Collect).
func (n *joinNode) collect(g *joinGroup, src int, p *Point) {
	t := n.round(p.Timestamp)
	if !g.hasOldest || t < g.oldest {
		g.oldest, g.hasOldest = t, true
	}
	sets := g.sets[t]
	var set *joinSet
	for _, s := range sets {
		if s.values[src] == nil {
			set = s
			break
		}
	}
	if set == nil {
		set = &joinSet{time: t, values: make([]*Point, len(n.extra)+1)}
		g.sets[t] = append(sets, set)
	}
	if set.values[src] == nil {
		set.size++
	}
	set.values[src] = p
	g.head[src] = t

	onlyReady := false
	for _, h := range g.head {
		if h <= g.oldest {
			onlyReady = true
			break
		}
	}
	n.emitOldest(g, onlyReady)
}

// emitOldest emits the sets of the group's oldest time: the complete ones
// up to the first incomplete one, or all of them.
func (n *joinNode) emitOldest(g *joinGroup, onlyReady bool) {
	sets := g.sets[g.oldest]
	i := 0
	for ; i < len(sets); i++ {
		if onlyReady && sets[i].size != len(sets[i].values) {
			break
		}
		n.emitSet(sets[i])
	}
	if i == len(sets) {
		delete(g.sets, g.oldest)
	} else {
		g.sets[g.oldest] = sets[i:]
	}
	g.hasOldest = false
	for t := range g.sets {
		if !g.hasOldest || t < g.oldest {
			g.oldest, g.hasOldest = t, true
		}
	}
}

// emitSet joins a set into one point: fields prefixed per parent, the
// missing parents filled from the first present point's field names or the
// set dropped (fill 'none').
func (n *joinNode) emitSet(s *joinSet) {
	var first *Point
	for _, p := range s.values {
		if p != nil {
			first = p
			break
		}
	}
	out := &n.scratch
	*out = Point{Name: first.Name, Timestamp: s.time, Tags: first.GroupTags(),
		Dims: Dimensions{ByName: first.Dims.ByName, TagNames: first.Dims.TagNames}, Fields: out.Fields[:0]}
	if n.streamName != "" {
		out.Name = n.streamName
	}
	for i, p := range s.values {
		if p == nil {
			var v eval.Value // null
			switch n.fill {
			case "null":
			case "number":
				v = n.fillValue
			default:
				return
			}
			for _, f := range first.Fields {
				out.Fields = append(out.Fields, Field{Key: n.names[i] + n.delim + f.Key, Value: v})
			}
			continue
		}
		for _, f := range p.Fields {
			out.Fields = append(out.Fields, Field{Key: n.names[i] + n.delim + f.Key, Value: f.Value})
		}
	}
	out.Fields = models.SortFields(out.Fields)
	n.regroup(out)
	n.emit(out)
}

// finish emits every pending set, oldest first per group (Kapacitor
// drains joins when the task stops; nodes.md §0.3).
func (n *joinNode) finish() {
	for _, g := range n.order {
		for len(g.sets) > 0 {
			n.emitOldest(g, false)
		}
	}
}

var (
	_ multiParent = (*joinNode)(nil)
	_ finisher    = (*joinNode)(nil)
)
