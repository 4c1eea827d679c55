package pipeline

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/models"
)

// combineNode combines the points of one group that share a (rounded)
// time with each other (Kapacitor combine.go): for k lambdas, every
// k-point combination of the time's points in which the first lambda
// matches one point, the second another, and so on, becomes one point
// whose fields and non-dimension tags are prefixed by the .as() names
// ("total.usage_idle"). A stream's points of one time are combined when a
// point of another time arrives; the last time of a group never is, as in
// Kapacitor. Batches are combined by point time when a batch of another
// end time arrives.
type combineNode struct {
	nodeBase
	lambdas   []*eval.Lambda
	names     []string
	delim     string
	tolerance time.Duration
	max       int64
	exprs     map[string][]*eval.Expr // per group: one instance per lambda
	groups    map[string]*combineBuf  // stream: the pending time of each group
	batches   map[string]*combineBatches
	set       []*Point // the current combination, one point per lambda
	idx       []int
	matches   [][]bool
}

// combineBuf is the points of one group at one time.
type combineBuf struct {
	time   int64
	name   string
	group  string
	dims   Dimensions
	points []*Point // owned copies
	free   models.PointPool
}

// combineBatches holds a batch group's buffers by point time.
type combineBatches struct {
	time int64 // rounded end time of the batches being collected
	bufs map[int64]*combineBuf
}

// defaultMaxCombinations is Kapacitor's default .max().
const defaultMaxCombinations = 1e6

func init() {
	register(&Spec{
		Method: "combine", Kind: "combine", Doc: "combines points of the same time with each other, one per lambda",
		MinArgs: 1, Variadic: argLambda, Wants: anyEdge, Provides: streamEdge,
		New: func(b *binder, _ *ast.Chain, args []value) (node, error) {
			n := &combineNode{delim: ".", max: defaultMaxCombinations, exprs: map[string][]*eval.Expr{},
				groups: map[string]*combineBuf{}, batches: map[string]*combineBatches{}}
			for _, a := range args {
				l, err := b.compileLambda(a, eval.Bool)
				if err != nil {
					return nil, err
				}
				n.lambdas = append(n.lambdas, l.lambda)
			}
			return n, nil
		},
		Props: []*Prop{
			propStrings("as", "one prefix per lambda", func(n *combineNode, s []string) error { n.names = s; return nil }),
			propString("delimiter", "between prefix and field or tag name (default '.')", func(n *combineNode, s string) error { n.delim = s; return nil }),
			propDuration("tolerance", "points this close in time count as the same time (times are rounded to it)", func(n *combineNode, d time.Duration) error { n.tolerance = d; return nil }),
			propInt("max", "most combinations of one time (default 1,000,000)", func(n *combineNode, i int64) error { n.max = i; return nil }),
		},
	})
}

// validate checks .as() as Kapacitor's pipeline/combine.go does.
func (n *combineNode) validate() error {
	if len(n.names) == 0 {
		return errors.New("a call to combine.as() is required to specify the output stream prefixes.") //lint:ignore ST1005 Kapacitor's message
	}
	if len(n.names) != len(n.lambdas) {
		return errors.New("number of prefixes specified by combine.as() must match the number of combine expressions")
	}
	seen := map[string]bool{}
	for _, name := range n.names {
		if name == "" {
			return errors.New("must provide a prefix name for the combine node, see .as() property method")
		}
		if strings.Contains(name, n.delim) {
			return fmt.Errorf("cannot use name %s as field prefix, it contains the delimiter character %s", name, n.delim)
		}
		if seen[name] {
			return errors.New("cannot use the same prefix name see .as() property method")
		}
		seen[name] = true
	}
	return nil
}

func (n *combineNode) point(p *Point) {
	t := roundTime(p.Timestamp, n.tolerance)
	buf := n.groups[p.Group]
	if buf == nil {
		buf = &combineBuf{time: t}
		n.groups[p.Group] = buf
	}
	if t != buf.time && len(buf.points) > 0 {
		n.combine(buf)
		buf.free.Put(buf.points...)
		buf.points = buf.points[:0]
	}
	if len(buf.points) == 0 {
		buf.time, buf.name, buf.group = t, p.Name, p.Group
		buf.dims = Dimensions{ByName: p.Dims.ByName, TagNames: append([]string(nil), p.Dims.TagNames...)}
	}
	buf.points = append(buf.points, buf.free.CopyOf(p))
}

func (n *combineNode) batch(b *Batch) {
	t := roundTime(b.TMax, n.tolerance)
	g := n.batches[b.Group]
	if g == nil {
		g = &combineBatches{time: t, bufs: map[int64]*combineBuf{}}
		n.batches[b.Group] = g
	}
	if t != g.time {
		g.time = t
		times := make([]int64, 0, len(g.bufs))
		for bt := range g.bufs {
			times = append(times, bt)
		}
		slices.Sort(times)
		for _, bt := range times {
			n.combine(g.bufs[bt])
			delete(g.bufs, bt)
		}
	}
	for _, p := range b.Points {
		pt := roundTime(p.Timestamp, n.tolerance)
		buf := g.bufs[pt]
		if buf == nil {
			buf = &combineBuf{time: pt, name: b.Name, group: b.Group,
				dims: Dimensions{ByName: b.Dims.ByName, TagNames: append([]string(nil), b.Dims.TagNames...)}}
			g.bufs[pt] = buf
		}
		buf.points = append(buf.points, p.Clone())
	}
}

// combine emits every valid combination of the buffer's points.
func (n *combineNode) combine(buf *combineBuf) {
	k, np := len(n.lambdas), len(buf.points)
	if np == 0 {
		return
	}
	exprs := n.exprs[buf.group]
	if exprs == nil {
		for _, l := range n.lambdas {
			exprs = append(exprs, l.New())
		}
		n.exprs[buf.group] = exprs
	}
	n.matches = n.matches[:0]
	for s := range exprs {
		m := make([]bool, np)
		for i, p := range buf.points {
			ok, err := exprs[s].EvalBool(p)
			if err != nil {
				n.fail("evaluating lambda expression", err)
			}
			m[i] = ok
		}
		n.matches = append(n.matches, m)
	}
	count := combinations(int64(np), int64(k))
	if count == -1 {
		return
	}
	if count > n.max {
		n.fail("cannot combine", fmt.Errorf("refusing to perform combination as total combinations %d exceeds max combinations %d", count, n.max))
		return
	}
	// Every k-subset of the points, in lexicographic order of indices.
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	for {
		n.try(buf, idx)
		i := k - 1
		for ; i >= 0 && idx[i] == i+np-k; i-- {
		}
		if i < 0 {
			return
		}
		idx[i]++
		for j := i + 1; j < k; j++ {
			idx[j] = idx[j-1] + 1
		}
	}
}

// try assigns the points of one combination to the lambdas, each lambda in
// turn taking the first remaining point it matches, and emits the merged
// point if every lambda found one.
func (n *combineNode) try(buf *combineBuf, combo []int) {
	rest := append(n.idx[:0], combo...)
	n.set = n.set[:0]
	for s := range n.lambdas {
		found := false
		for i, pi := range rest {
			if n.matches[s][pi] {
				n.set = append(n.set, buf.points[pi])
				rest = append(rest[:i], rest[i+1:]...)
				found = true
				break
			}
		}
		if !found {
			n.idx = rest
			return
		}
	}
	n.idx = rest
	n.emit(n.merge(buf))
}

// merge builds the combined point of n.set.
func (n *combineNode) merge(buf *combineBuf) *Point {
	q := &n.scratch
	q.SetFields()
	q.SetTags()
	for i, p := range n.set {
		prefix := n.names[i] + n.delim
		for _, f := range p.Fields {
			q.SetField(prefix+f.Key, f.Value)
		}
		for _, t := range p.Tags {
			if slices.Contains(buf.dims.TagNames, t.Key) {
				q.SetTag(t.Key, t.Value)
			} else {
				q.SetTag(prefix+t.Key, t.Value)
			}
		}
	}
	q.Name, q.Database, q.RP = buf.name, "", ""
	q.Timestamp = roundTime(n.set[0].Timestamp, n.tolerance)
	q.SetDims(buf.dims)
	q.Group = buf.group
	return q
}

// combinations is n choose k, -1 when n < k (Kapacitor combination.Count).
func combinations(n, k int64) int64 {
	if n < k {
		return -1
	}
	c := int64(1)
	for i := int64(0); i < k; i++ {
		c = c * (n - i) / (i + 1)
	}
	return c
}

var (
	_ batchNode = (*combineNode)(nil)
	_ validator = (*combineNode)(nil)
)
