package pipeline

// batchNode is implemented by nodes that accept batches.
type batchNode interface {
	node
	batch(b *Batch)
}

// emitBatch hands b to every child.
func (b *nodeBase) emitBatch(x *Batch) {
	for i, c := range b.children {
		b.sent[i]++
		c.(batchNode).batch(x)
	}
}

// emitEach emits the batch of f's results for the points of x, in order,
// leaving out nil results; the batch keeps x's name, group, dimensions,
// tags and end time. It is the batch side of nodes that handle each point
// on its own.
func (b *nodeBase) emitEach(x *Batch, f func(i int, p *Point) *Point) {
	out := &Batch{Name: x.Name, Group: x.Group, Dims: x.Dims, Tags: x.Tags, TMax: x.TMax}
	for i, p := range x.Points {
		if q := f(i, p); q != nil {
			out.Points = append(out.Points, q)
		}
	}
	b.emitBatch(out)
}

// sameTime turns a stream into batches for aggregates and selectors on
// stream input: per group, consecutive points with the same time form a
// batch, handed over when a point with another time arrives; the last time
// of a group is never handed over (nodes.md §9).
type sameTime map[string]*Batch

// add keeps a copy of p, first handing the group's batch to flush if p
// starts a new time.
func (st sameTime) add(p *Point, flush func(*Batch)) {
	b := st[p.Group]
	if b == nil {
		b = &Batch{Group: p.Group}
		st[p.Group] = b
	}
	if len(b.Points) > 0 && b.TMax != p.Timestamp {
		flush(b)
		b.Points = b.Points[:0]
	}
	if len(b.Points) == 0 {
		b.Name, b.TMax, b.Tags = p.Name, p.Timestamp, p.GroupTags()
		b.Dims = Dimensions{ByName: p.Dims.ByName, TagNames: append([]string(nil), p.Dims.TagNames...)}
	}
	b.Points = append(b.Points, p.Clone())
}
