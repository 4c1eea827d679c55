package models

import (
	"hash/maphash"
	"sort"
	"strings"
	"time"

	"github.com/tickrun/tickrun/eval"
)

// Tag is one tag of a point.
type Tag struct {
	Key, Value string
}

// Field is one field of a point. Its value is an eval.Value, a small tagged
// union (float, int, string or bool), so points never box numbers.
type Field struct {
	Key   string
	Value eval.Value
}

// Dimensions are what a point is grouped by: tag names (sorted) and whether
// the measurement name is part of the group (nodes.md §0.2).
type Dimensions struct {
	ByName   bool     // groupByMeasurement
	TagNames []string // sorted tag names
}

// Point is one data point flowing through a task.
//
// Points are borrowed: a node may read a point only during the call that
// hands it over. Whatever a node keeps (window buffers, alert state) it
// copies with Clone or CopyFrom; whatever it changes it copies first. The
// decoder reuses one Point for every line.
type Point struct {
	Name      string     // measurement
	Database  string     // database the point was written to
	RP        string     // retention policy the point was written to
	Timestamp int64      // nanoseconds since the Unix epoch, UTC
	Tags      []Tag      // sorted by key, unique keys
	Fields    []Field    // sorted by key, unique keys
	Dims      Dimensions // group-by dimensions
	Group     string     // group id derived from Dims (nodes.md §0.2); "" is the nil group

	// Buffers owned by this Point, reused by CopyFrom. The exported slices
	// may instead alias another point's (a shallow copy is read-only).
	ownTags   []Tag
	ownFields []Field
	ownDims   []string
}

var _ eval.Scope = (*Point)(nil)

// Tag returns the value of the tag called key.
func (p *Point) Tag(key string) (string, bool) {
	for i := range p.Tags {
		if p.Tags[i].Key == key {
			return p.Tags[i].Value, true
		}
	}
	return "", false
}

// Field returns the value of the field called key.
func (p *Point) Field(key string) (eval.Value, bool) {
	for i := range p.Fields {
		if p.Fields[i].Key == key {
			return p.Fields[i].Value, true
		}
	}
	return eval.Value{}, false
}

// Lookup implements eval.Scope: the field called name, else the tag, else
// Missing; a name that is both is an error, as in Kapacitor.
func (p *Point) Lookup(name string) (eval.Value, error) {
	var hint int
	return p.LookupHint(name, &hint)
}

// LookupHint implements eval.Scope: Lookup, trying the field at *hint
// first (points of a series keep their fields in the same order).
func (p *Point) LookupHint(name string, hint *int) (eval.Value, error) {
	i := *hint
	if i >= len(p.Fields) || p.Fields[i].Key != name {
		i = -1
		for j := range p.Fields {
			if p.Fields[j].Key == name {
				i = j
				*hint = j
				break
			}
		}
	}
	t, isTag := p.Tag(name)
	switch {
	case i >= 0 && isTag:
		return eval.Value{}, &sameNameError{name}
	case i >= 0:
		return p.Fields[i].Value, nil
	case isTag:
		return eval.StringValue(t), nil
	}
	return eval.Value{}, nil
}

// LookupField implements eval.Scope: the field at *hint, if it is called
// name and no tag is.
func (p *Point) LookupField(name string, hint *int) *eval.Value {
	i := *hint
	if uint(i) >= uint(len(p.Fields)) || p.Fields[i].Key != name {
		return nil
	}
	if _, isTag := p.Tag(name); isTag {
		return nil
	}
	return &p.Fields[i].Value
}

// sameNameError is Kapacitor's error for a name that is both a field and a
// tag (lambda.md §2).
type sameNameError struct{ name string }

func (e *sameNameError) Error() string {
	return "cannot have field and tags with same name \"" + e.name + "\""
}

// Time implements eval.Scope: the point's time in nanoseconds since the epoch.
func (p *Point) Time() int64 { return p.Timestamp }

// SetTag sets or replaces a tag, keeping the tags sorted. Like every
// setter it may only be called on a point whose slices it owns (one filled
// by CopyFrom or built by the caller).
func (p *Point) SetTag(key, value string) {
	i := sort.Search(len(p.Tags), func(i int) bool { return p.Tags[i].Key >= key })
	if i < len(p.Tags) && p.Tags[i].Key == key {
		p.Tags[i].Value = value
		return
	}
	p.Tags = append(p.Tags, Tag{})
	copy(p.Tags[i+1:], p.Tags[i:])
	p.Tags[i] = Tag{key, value}
	p.ownTags = p.Tags
}

// DeleteTag removes a tag if present.
func (p *Point) DeleteTag(key string) bool {
	for i := range p.Tags {
		if p.Tags[i].Key == key {
			p.Tags = append(p.Tags[:i], p.Tags[i+1:]...)
			return true
		}
	}
	return false
}

// SetField sets or replaces a field, keeping the fields sorted.
func (p *Point) SetField(key string, v eval.Value) {
	i := sort.Search(len(p.Fields), func(i int) bool { return p.Fields[i].Key >= key })
	if i < len(p.Fields) && p.Fields[i].Key == key {
		p.Fields[i].Value = v
		return
	}
	p.Fields = append(p.Fields, Field{})
	copy(p.Fields[i+1:], p.Fields[i:])
	p.Fields[i] = Field{key, v}
	p.ownFields = p.Fields
}

// DeleteField removes a field if present.
func (p *Point) DeleteField(key string) bool {
	for i := range p.Fields {
		if p.Fields[i].Key == key {
			p.Fields = append(p.Fields[:i], p.Fields[i+1:]...)
			return true
		}
	}
	return false
}

// CopyFrom makes p a deep copy of q, reusing p's slices.
// The copy's slices are its own, so it may then be changed freely.
func (p *Point) CopyFrom(q *Point) {
	tags := append(p.ownTags[:0], q.Tags...)
	fields := append(p.ownFields[:0], q.Fields...)
	dims := append(p.ownDims[:0], q.Dims.TagNames...)
	*p = *q
	p.Tags, p.Fields, p.Dims.TagNames = tags, fields, dims
	p.ownTags, p.ownFields, p.ownDims = tags, fields, dims
}

// Clone returns a deep copy of p.
func (p *Point) Clone() *Point {
	c := &Point{}
	c.CopyFrom(p)
	return c
}

// TimeUTC returns the point's time as a UTC time.Time.
func (p *Point) TimeUTC() time.Time { return time.Unix(0, p.Timestamp).UTC() }

// GroupTags returns the tags that are dimensions of the point, with the
// point's values ("" for a dimension the point lacks).
func (p *Point) GroupTags() []Tag {
	out := make([]Tag, 0, len(p.Dims.TagNames))
	for _, k := range p.Dims.TagNames {
		v, _ := p.Tag(k)
		out = append(out, Tag{k, v})
	}
	return out
}

// GroupIDs computes group ids into a reused buffer and interns them, so
// that points of a known group cost no allocation. Ids of the commonest
// grouping, by one tag, are also kept in a small cache indexed by a hash of
// the tag's value, which spares building the id and a map lookup.
type GroupIDs struct {
	buf    []byte
	intern map[string]string
	seed   maphash.Seed
	one    *[oneTagSlots]oneTagID
}

// maxGroupIDs bounds the table of interned group ids.
const maxGroupIDs = 1 << 16

// oneTagSlots is the size of the one-tag cache (a power of two), in sets
// of two.
const oneTagSlots = 512

type oneTagID struct{ key, value, id string }

// ID returns the group id of p's dimensions (nodes.md §0.2): "" for no
// dimensions, otherwise "name\n" when grouped by measurement followed by
// "k1=v1,k2=v2" over the sorted dimension names.
func (g *GroupIDs) ID(p *Point) string {
	if p.Dims.ByName || len(p.Dims.TagNames) != 1 {
		return g.build(p)
	}
	if g.one == nil {
		g.one, g.seed = new([oneTagSlots]oneTagID), maphash.MakeSeed()
	}
	k := p.Dims.TagNames[0]
	v, _ := p.Tag(k)
	// Two ways per set: the newest entry first.
	i := maphash.String(g.seed, v) & (oneTagSlots - 2)
	set := g.one[i : i+2 : i+2]
	for j := range set {
		if e := &set[j]; e.value == v && e.key == k && e.id != "" {
			return e.id
		}
	}
	id := g.build(p)
	set[1], set[0] = set[0], oneTagID{k, v, id}
	return id
}

// build makes the id of p's dimensions, interned.
func (g *GroupIDs) build(p *Point) string {
	if !p.Dims.ByName && len(p.Dims.TagNames) == 0 {
		return ""
	}
	b := g.buf[:0]
	if p.Dims.ByName {
		b = append(b, p.Name...)
		b = append(b, '\n')
	}
	for i, k := range p.Dims.TagNames {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k...)
		b = append(b, '=')
		v, _ := p.Tag(k)
		b = append(b, v...)
	}
	g.buf = b
	if s, ok := g.intern[string(b)]; ok {
		return s
	}
	if g.intern == nil || len(g.intern) >= maxGroupIDs {
		// Bounded: past maxGroupIDs the table starts again, so ids of
		// series that are gone do not stay for ever (the nodes' states
		// keep the strings they use).
		g.intern = make(map[string]string)
	}
	s := string(b)
	g.intern[s] = s
	return s
}

// GroupName renders a group id as templates show it: "nil" for the nil group.
func GroupName(id string) string {
	if id == "" {
		return "nil"
	}
	return id
}

// SortedDims returns names sorted and deduplicated.
func SortedDims(names []string) []string {
	out := append([]string(nil), names...)
	sort.Strings(out)
	j := 0
	for i, n := range out {
		if i > 0 && n == out[j-1] {
			continue
		}
		out[j] = n
		j++
	}
	return out[:j]
}

// fieldsString is for debugging.
func (p *Point) String() string {
	var b strings.Builder
	b.WriteString(p.Name)
	for _, t := range p.Tags {
		b.WriteString("," + t.Key + "=" + t.Value)
	}
	b.WriteByte(' ')
	for i, f := range p.Fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f.Key + "=" + FormatValue(f.Value))
	}
	b.WriteString(" " + p.TimeUTC().Format(time.RFC3339Nano))
	return b.String()
}

// String returns "key=value" with the value printed as templates print it.
func (f Field) String() string { return f.Key + "=" + FormatValue(f.Value) }

// PointPool recycles the points a node keeps (window buffers, union and
// flatten queues), so steady state allocates nothing.
type PointPool []*Point

// CopyOf returns an owned copy of p, reusing a recycled point if any.
func (pp *PointPool) CopyOf(p *Point) *Point {
	var c *Point
	if k := len(*pp); k > 0 {
		c, *pp = (*pp)[k-1], (*pp)[:k-1]
	} else {
		c = &Point{}
	}
	c.CopyFrom(p)
	return c
}

// Put recycles points no longer referenced.
func (pp *PointPool) Put(ps ...*Point) { *pp = append(*pp, ps...) }

// SetTags replaces the point's tags with a copy of tags (sorted, unique
// keys), kept in a buffer the point owns and reuses.
func (p *Point) SetTags(tags ...Tag) {
	p.Tags = append(p.ownTags[:0], tags...)
	p.ownTags = p.Tags
}

// AppendTag appends a tag whose key sorts after every tag the point has;
// call it on a point whose tags it owns (after SetTags).
func (p *Point) AppendTag(t Tag) {
	p.Tags = append(p.Tags, t)
	p.ownTags = p.Tags
}

// SetFields replaces the point's fields with a copy of fields (sorted,
// unique keys), kept in a buffer the point owns and reuses.
func (p *Point) SetFields(fields ...Field) {
	p.Fields = append(p.ownFields[:0], fields...)
	p.ownFields = p.Fields
}

// SetDims replaces the point's dimensions with a copy of d.
func (p *Point) SetDims(d Dimensions) {
	p.Dims.ByName = d.ByName
	p.Dims.TagNames = append(p.ownDims[:0], d.TagNames...)
	p.ownDims = p.Dims.TagNames
}
