package pipeline

import (
	"errors"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/pipeline/models"
)

// windowNode turns a stream into batches per group (nodes.md §8), by time
// (period/every) or by count (periodCount/everyCount).
type windowNode struct {
	nodeBase
	period, every           time.Duration
	align, fillPeriod       bool
	periodCount, everyCount int64
	groups                  groupTable[*windowGroup]
	order                   []*windowGroup // groups in order of their first point
	out                     Batch
}

// windowGroup is the buffer of one group.
type windowGroup struct {
	group    string // group id
	name     string // measurement of the group's first point
	tags     []Tag
	dims     Dimensions
	buf      []*Point // in arrival order; owned copies
	free     models.PointPool
	nextEmit int64
	count    int64 // points seen (count windows)
}

func init() {
	register(&Spec{
		Method: "window", Kind: "window", Doc: "collects points into batches by time or count",
		Wants: streamEdge, Provides: batchEdge,
		New: func(*binder, *ast.Chain, []value) (node, error) {
			return &windowNode{groups: newGroupTable[*windowGroup]()}, nil
		},
		Props: []*Prop{
			propDuration("period", "length of each window", func(n *windowNode, d time.Duration) error { n.period = d; return nil }),
			propDuration("every", "how often a window is emitted (0: on every point)", func(n *windowNode, d time.Duration) error { n.every = d; return nil }),
			propNone("align", "align emission times to multiples of every", func(n *windowNode) { n.align = true }),
			propNone("fillPeriod", "emit the first window only after a full period", func(n *windowNode) { n.fillPeriod = true }),
			propInt("periodCount", "length of each window in points", func(n *windowNode, i int64) error { n.periodCount = i; return nil }),
			propInt("everyCount", "emit every this many points", func(n *windowNode, i int64) error { n.everyCount = i; return nil }),
		},
	})
}

func (n *windowNode) validate() error {
	switch {
	case n.period != 0 && n.periodCount != 0:
		return errors.New("window node cannot have both period and periodCount")
	case n.period == 0 && n.periodCount == 0:
		return errors.New("window node must have either a non zero period or non zero period count")
	case n.periodCount != 0 && n.align:
		return errors.New("window node cannot align a count based window")
	case n.periodCount != 0 && n.everyCount <= 0:
		return errors.New("everyCount must be greater than zero")
	case n.period < 0 || n.every < 0 || n.periodCount < 0:
		return errors.New("window period and every must not be negative")
	}
	return nil
}

func (n *windowNode) group(p *Point) *windowGroup {
	g, ok := n.groups.lookup(p.Group, p.Timestamp)
	if ok {
		return g
	}
	g = &windowGroup{group: p.Group, name: p.Name, tags: p.GroupTags(), dims: Dimensions{ByName: p.Dims.ByName, TagNames: append([]string(nil), p.Dims.TagNames...)}}
	if !n.groups.add(&n.nodeBase, p.Group, p.Timestamp, g) {
		return nil
	}
	n.order = append(n.order, g)
	if n.periodCount == 0 {
		t0 := p.TimeUTC()
		if n.fillPeriod {
			first := t0.Add(n.period)
			g.nextEmit = first.UnixNano()
			if n.align {
				next := first.Truncate(n.every)
				if !next.After(first) {
					next = next.Add(n.every)
				}
				g.nextEmit = next.UnixNano()
			}
		} else {
			next := t0.Add(n.every)
			if n.align {
				next = next.Truncate(n.every)
			}
			g.nextEmit = next.UnixNano()
		}
	}
	return g
}

// keep appends an owned copy of p to the group's buffer.
func (g *windowGroup) keep(p *Point) {
	g.buf = append(g.buf, g.free.CopyOf(p))
}

// purge drops leading points that are not included: time before oldest
// (inclusive: points at oldest stay) or not after it. Like Kapacitor it
// stops at the first included point, so late points further on stay.
func (g *windowGroup) purge(oldest int64, inclusive bool) {
	i := 0
	for ; i < len(g.buf); i++ {
		t := g.buf[i].Timestamp
		if inclusive && t >= oldest || !inclusive && t > oldest {
			break
		}
	}
	g.free.Put(g.buf[:i]...)
	g.buf = append(g.buf[:0], g.buf[i:]...)
}

func (n *windowNode) point(p *Point) {
	g := n.group(p)
	if g == nil {
		return // over Options.MaxGroups
	}
	if n.periodCount != 0 {
		n.countPoint(g, p)
		return
	}
	if n.every == 0 {
		g.keep(p)
		if p.Timestamp >= g.nextEmit {
			g.purge(p.Timestamp-int64(n.period), false)
			n.emitGroup(g, p.Timestamp)
			g.nextEmit = p.Timestamp
		}
		return
	}
	if p.Timestamp >= g.nextEmit {
		g.purge(g.nextEmit-int64(n.period), true)
		n.emitGroup(g, g.nextEmit)
		next := p.TimeUTC().Add(n.every)
		if n.align {
			next = next.Truncate(n.every)
		}
		g.nextEmit = next.UnixNano()
	}
	g.keep(p)
}

// countPoint handles count windows: the last periodCount points, emitted
// every everyCount points (the first after periodCount with fillPeriod).
func (n *windowNode) countPoint(g *windowGroup, p *Point) {
	g.keep(p)
	if int64(len(g.buf)) > n.periodCount {
		g.free.Put(g.buf[0])
		g.buf = append(g.buf[:0], g.buf[1:]...)
	}
	g.count++
	first := n.everyCount
	if n.fillPeriod {
		first = n.periodCount
	}
	if g.count == first || g.count > first && (g.count-first)%n.everyCount == 0 {
		n.emitGroup(g, p.Timestamp)
	}
}

func (n *windowNode) emitGroup(g *windowGroup, tmax int64) {
	b := &n.out
	*b = Batch{Name: g.name, Group: g.group, Dims: g.dims, Tags: g.tags, TMax: tmax, Points: g.buf}
	n.emitBatch(b)
}

// finish emits what every group holds when Options.FlushWindows asks for
// it; by default, as in Kapacitor, the last window is never emitted
// (nodes.md §0.3).
func (n *windowNode) finish() {
	if !n.task.opts.FlushWindows {
		return
	}
	for _, g := range n.order {
		n.flush(g)
	}
}

// flush emits the last, incomplete window of g, if it holds points.
func (n *windowNode) flush(g *windowGroup) {
	if len(g.buf) == 0 {
		return
	}
	tmax := g.nextEmit
	if n.every == 0 || n.periodCount != 0 {
		tmax = g.buf[len(g.buf)-1].Timestamp
	}
	if n.periodCount == 0 {
		g.purge(tmax-int64(n.period), true)
	}
	n.emitGroup(g, tmax)
}

// expire releases, when the user set an expiry, the groups idle since
// cutoff, each emitting what it still holds first: a group that never
// gets another point would otherwise hold its last window for ever
// (Kapacitor does). Without an expiry windows keep every group: a group's
// schedule is part of its output.
func (n *windowNode) expire(cutoff int64, explicit bool) int {
	if !explicit {
		return 0
	}
	released := n.groups.expire(cutoff, func(_ string, g *windowGroup) bool {
		n.flush(g)
		g.buf, g.free = nil, nil
		return true
	})
	if released > 0 {
		kept := n.order[:0]
		for _, g := range n.order {
			if _, ok := n.groups.m[g.group]; ok {
				kept = append(kept, g)
			}
		}
		clear(n.order[len(kept):])
		n.order = kept
	}
	return released
}

var _ expirer = (*windowNode)(nil)

var _ finisher = (*windowNode)(nil)

// held counts the points the window's groups still hold, unemitted, and
// the groups holding them (at the end of an input: what --flush-windows
// would emit).
func (n *windowNode) held() (points, groups int) {
	for _, g := range n.order {
		k := len(g.buf)
		if k > 0 && n.periodCount == 0 {
			// As finish would: the points of the window ending at the next
			// emission; older ones were emitted already.
			tmax := g.nextEmit
			if n.every == 0 {
				tmax = g.buf[k-1].Timestamp
			}
			k = 0
			for _, p := range g.buf {
				if p.Timestamp >= tmax-int64(n.period) {
					k++
				}
			}
		}
		if k > 0 {
			points += k
			groups++
		}
	}
	return points, groups
}

func (n *windowNode) cardinality() int { return n.groups.len() }
