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

// joinNode pairs points, or batches, of its parents that share a group
// and a (rounded) time (nodes.md §20), as Kapacitor's join.go does: per
// group it keeps join sets by time and, on each message, emits the sets
// of the oldest time that are complete, or all of them once every
// parent's latest time has passed it (filled or dropped per .fill). With
// .on(tags...) messages with more dimensions are matched to messages
// grouped by the on tags only. The remaining sets are drained at the end
// of the input. A batch's time is its batch time; batches of one set are
// joined point by point (joinBatches).
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

// joinSrcPoint is an owned message and the parent it came from.
type joinSrcPoint struct {
	src int
	joinMsg
}

// joinMsg is an owned point or batch.
type joinMsg struct {
	p *Point
	b *Batch
}

func (m joinMsg) time() int64 {
	if m.b != nil {
		return m.b.TMax
	}
	return m.p.Timestamp
}

func (m joinMsg) name() string {
	if m.b != nil {
		return m.b.Name
	}
	return m.p.Name
}

func (m joinMsg) group() string {
	if m.b != nil {
		return m.b.Group
	}
	return m.p.Group
}

func (m joinMsg) dims() Dimensions {
	if m.b != nil {
		return m.b.Dims
	}
	return m.p.Dims
}

func (m joinMsg) groupTags() []Tag {
	if m.b != nil {
		return m.b.Tags
	}
	return m.p.GroupTags()
}

func (m joinMsg) tag(k string) (string, bool) {
	if m.b != nil {
		for _, t := range m.b.Tags {
			if t.Key == k {
				return t.Value, true
			}
		}
		return "", false
	}
	return m.p.Tag(k)
}

// joinGroup holds the pending join sets of one group.
type joinGroup struct {
	sets      map[int64][]*joinSet
	head      []int64 // per parent: rounded time of its latest point (0: none)
	oldest    int64   // oldest time with pending sets (0: none)
	hasOldest bool
}

// joinSet is the messages of one time, at most one per parent.
type joinSet struct {
	time   int64
	values []joinMsg
	size   int
}

func init() {
	register(&Spec{
		Method: "join", Kind: "join", Doc: "joins points of several parents by group and time",
		MinArgs: 1, Variadic: argAny, Wants: anyEdge, Provides: anyEdge,
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
	if err := checkParentEdges("join", n.parent, n.extra, anyEdge); err != nil {
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

func (n *joinNode) point(p *Point)      { n.pointFrom(0, p) }
func (n *joinNode) batch(b *Batch)      { n.batchFrom(0, b) }
func (n *joinNode) round(t int64) int64 { return roundTime(t, n.tolerance) }

// roundTime rounds t (ns since the epoch) to a multiple of d as Go's
// time.Round does (halfway away from zero); d <= 0 leaves it unchanged.
func roundTime(t int64, d time.Duration) int64 {
	if d <= 0 {
		return t
	}
	return time.Unix(0, t).Round(d).UnixNano()
}

func (n *joinNode) pointFrom(src int, p *Point) { n.message(src, joinMsg{p: p.Clone()}) }

func (n *joinNode) batchFrom(src int, b *Batch) { n.message(src, joinMsg{b: cloneBatch(b)}) }

func (n *joinNode) message(src int, m joinMsg) {
	if len(n.on) > 0 {
		n.matchPoints(joinSrcPoint{src, m})
		return
	}
	n.collect(n.getGroup(m.group()), src, m)
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

// onGroup is the group id of m over the join dimensions only.
func (n *joinNode) onGroup(m joinMsg) string {
	var b strings.Builder
	dims := m.dims()
	if dims.ByName {
		b.WriteString(m.name())
		b.WriteByte('\n')
	}
	for i, k := range n.on {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		for _, d := range dims.TagNames {
			if d == k {
				v, _ := m.tag(k)
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
	t := n.round(sp.time())
	gid := n.onGroup(sp.joinMsg)
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
		for ; i < len(buf) && n.round(buf[i].time()) < lowMark; i++ {
			n.sendSpecific(buf[i])
		}
		n.specificBuf[gid] = buf[i:]
	}

	if len(sp.dims().TagNames) > len(n.on) {
		matches := n.matchBuf[gid]
		matched := false
		i := 0
		for ; i < len(matches); i++ {
			pt := n.round(matches[i].time())
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
	for ; i < len(buf) && n.round(buf[i].time()) == t; i++ {
		n.sendMatch(buf[i], sp)
	}
	n.specificBuf[gid] = buf[i:]
}

func (n *joinNode) sendSpecific(sp joinSrcPoint) {
	n.collect(n.getGroup(sp.group()), sp.src, sp.joinMsg)
}

// sendMatch collects a specific message and a copy of its match that
// takes the specific one's group tags (and, for a point, dimensions).
func (n *joinNode) sendMatch(specific, matched joinSrcPoint) {
	var m joinMsg
	if matched.b != nil {
		c := *matched.b
		c.Tags = specific.groupTags()
		m.b = &c
	} else {
		p := matched.p.Clone()
		p.Tags = specific.p.GroupTags()
		p.Dims.TagNames = append([]string(nil), specific.p.Dims.TagNames...)
		p.Dims.ByName = specific.p.Dims.ByName
		n.regroup(p)
		m.p = p
	}
	g := n.getGroup(specific.group())
	n.collect(g, specific.src, specific.joinMsg)
	n.collect(g, matched.src, m)
}

// collect adds an owned message to its group's join set and emits what
// is ready (Kapacitor joinGroup.Collect).
func (n *joinNode) collect(g *joinGroup, src int, p joinMsg) {
	t := n.round(p.time())
	if !g.hasOldest || t < g.oldest {
		g.oldest, g.hasOldest = t, true
	}
	sets := g.sets[t]
	var set *joinSet
	for _, s := range sets {
		if s.values[src].absent() {
			set = s
			break
		}
	}
	if set == nil {
		set = &joinSet{time: t, values: make([]joinMsg, len(n.extra)+1)}
		g.sets[t] = append(sets, set)
	}
	if set.values[src].absent() {
		set.size++
	}
	set.values[src] = p
	g.head[src] = t

	n.emitOldest(g, n.onlyReady(g))
}

// onlyReady reports whether some parent's head has not passed the
// group's oldest time, so that only complete sets may go.
func (n *joinNode) onlyReady(g *joinGroup) bool {
	for _, h := range g.head {
		if h <= g.oldest {
			return true
		}
	}
	return false
}

// emitOldest emits the sets of the group's oldest time: the complete ones
// up to the first incomplete one, or all of them; after emitting all of
// them it goes on with the next time while every parent's head has
// passed it (a parent that missed a stretch of data), as Kapacitor's
// joinGroup.emit does.
func (n *joinNode) emitOldest(g *joinGroup, onlyReady bool) {
	if len(g.sets) == 0 {
		return
	}
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
	if !onlyReady {
		n.emitOldest(g, n.onlyReady(g))
	}
}

// absent reports an empty slot of a join set.
func (m joinMsg) absent() bool { return m.p == nil && m.b == nil }

// emitSet joins a set into one point: fields prefixed per parent, the
// missing parents filled from the first present point's field names or the
// set dropped (fill 'none'). A set of batches is joined into one batch.
func (n *joinNode) emitSet(s *joinSet) {
	if n.out == batchEdge {
		n.emitBatchSet(s)
		return
	}
	var first *Point
	for _, m := range s.values {
		if m.p != nil {
			first = m.p
			break
		}
	}
	out := &n.scratch
	*out = Point{Name: first.Name, Timestamp: s.time, Tags: first.GroupTags(),
		Dims: Dimensions{ByName: first.Dims.ByName, TagNames: first.Dims.TagNames}, Fields: out.Fields[:0]}
	if n.streamName != "" {
		out.Name = n.streamName
	}
	for i, m := range s.values {
		p := m.p
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

// emitBatchSet joins a set of batches into one batch, as Kapacitor's
// joinset.JoinIntoBatch does: it walks the batches' points in step, each
// round taking from every parent the next point at the round's (rounded)
// time, the earliest among them; a round missing a parent is filled per
// .fill (field names from the first point of the first round) or dropped.
// The batch has the first present batch's name (or .streamName), group
// tags and dimensions and the set's time; its points carry the group tags
// and only the prefixed fields.
func (n *joinNode) emitBatchSet(s *joinSet) {
	var first *Batch
	for _, m := range s.values {
		if m.b != nil {
			first = m.b
			break
		}
	}
	out := &Batch{Name: first.Name, Group: first.Group, Tags: first.Tags, Dims: first.Dims, TMax: s.time}
	if n.streamName != "" {
		out.Name = n.streamName
	}
	k := len(s.values)
	idx := make([]int, k)
	done := make([]bool, k)
	ndone := 0
	var names []string // field names of the first point taken
	set := make([]*Point, k)
rounds:
	for ndone < k {
		clear(set)
		var at int64
		count := 0
		for i, m := range s.values {
			if done[i] {
				continue
			}
			if m.b == nil || idx[i] == len(m.b.Points) {
				done[i] = true
				ndone++
				continue
			}
			bp := m.b.Points[idx[i]]
			t := n.round(bp.Timestamp)
			switch {
			case count == 0 || t < at:
				// An earlier time: put back what this round took.
				for j := range set {
					if set[j] != nil {
						idx[j]--
						set[j] = nil
					}
				}
				at, count = t, 1
				set[i] = bp
				idx[i]++
				if names == nil {
					for _, f := range bp.Fields {
						names = append(names, f.Key)
					}
				}
			case t == at:
				set[i] = bp
				idx[i]++
				count++
			}
		}
		if count == 0 {
			continue
		}
		p := &Point{Name: out.Name, Timestamp: at, Tags: out.Tags, Dims: out.Dims, Group: out.Group}
		for i, bp := range set {
			if bp == nil {
				var v eval.Value // null
				switch n.fill {
				case "null":
				case "number":
					v = n.fillValue
				default:
					continue rounds // inner join: no point for this round
				}
				for _, name := range names {
					p.Fields = append(p.Fields, Field{Key: n.names[i] + n.delim + name, Value: v})
				}
				continue
			}
			for _, f := range bp.Fields {
				p.Fields = append(p.Fields, Field{Key: n.names[i] + n.delim + f.Key, Value: f.Value})
			}
		}
		p.Fields = models.SortFields(p.Fields)
		out.Points = append(out.Points, p)
	}
	n.emitBatch(out)
}

var (
	_ batchNode   = (*joinNode)(nil)
	_ multiParent = (*joinNode)(nil)
	_ finisher    = (*joinNode)(nil)
)
