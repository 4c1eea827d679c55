package udf

import (
	"errors"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// Points are nearly all the traffic, and protobuf's generic code encodes and
// decodes their six maps by reflection, at some twenty allocations a point
// each way. So points have a hand-written path, by the protocol's field
// table (udf.proto, message Point), checked against the official types:
// the tests encode with it and decode with proto.Unmarshal, and FuzzDecode
// compares the fast decoder with the official one on every input. The
// decoder takes the fast path only for what it fully understands and leaves
// anything else (unknown wire types, repeated messages, bad UTF-8) to the
// official code, so the two cannot disagree on what a message means.

// The field numbers of udf.proto used here.
const (
	respPoint protowire.Number = 17 // Request.point and Response.point

	ptTime       protowire.Number = 1
	ptName       protowire.Number = 2
	ptDatabase   protowire.Number = 3
	ptRP         protowire.Number = 4
	ptGroup      protowire.Number = 5
	ptDimensions protowire.Number = 6
	ptTags       protowire.Number = 7
	ptDoubles    protowire.Number = 8
	ptInts       protowire.Number = 9
	ptStrings    protowire.Number = 10
	ptByName     protowire.Number = 11
	ptBools      protowire.Number = 12

	entryKey   protowire.Number = 1 // of a map entry
	entryValue protowire.Number = 2
)

var errUTF8 = errors.New("string field contains invalid UTF-8")

// appendPointFrame appends a framed Request{point} with p's time, tags and
// fields, and, for a stream point (full), its name, database, retention
// policy, dimensions and by-name flag; group is the point's group id.
// scratch is reused for the body; the grown scratch is returned.
func appendPointFrame(buf, scratch []byte, p *Point, group string, full bool) (out, body []byte, err error) {
	b := scratch[:0]
	if p.Timestamp != 0 {
		b = protowire.AppendTag(b, ptTime, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(p.Timestamp))
	}
	str := func(num protowire.Number, s string) {
		if s != "" {
			b = protowire.AppendTag(b, num, protowire.BytesType)
			b = protowire.AppendString(b, s)
		}
	}
	if full {
		str(ptName, p.Name)
		str(ptDatabase, p.Database)
		str(ptRP, p.RP)
	}
	str(ptGroup, group)
	if full {
		for _, d := range p.Dims.TagNames {
			b = protowire.AppendTag(b, ptDimensions, protowire.BytesType)
			b = protowire.AppendString(b, d)
		}
	}
	for _, t := range p.Tags {
		b = appendStringEntry(b, ptTags, t.Key, t.Value)
	}
	for _, f := range p.Fields {
		v := f.Value
		switch v.Type {
		case Double:
			b = protowire.AppendTag(b, ptDoubles, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(entrySize(f.Key)+1+8))
			b = appendKey(b, f.Key)
			b = protowire.AppendTag(b, entryValue, protowire.Fixed64Type)
			b = protowire.AppendFixed64(b, math.Float64bits(v.Double))
		case Int, Bool:
			num, x := ptInts, uint64(v.Int)
			if v.Type == Bool {
				num, x = ptBools, protowire.EncodeBool(v.Bool)
			}
			b = protowire.AppendTag(b, num, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(entrySize(f.Key)+1+protowire.SizeVarint(x)))
			b = appendKey(b, f.Key)
			b = protowire.AppendTag(b, entryValue, protowire.VarintType)
			b = protowire.AppendVarint(b, x)
		case String:
			b = appendStringEntry(b, ptStrings, f.Key, v.Str)
		default:
			return buf, b, errors.New("field " + f.Key + " has type " + v.Type.String() + ", which a point cannot carry")
		}
	}
	if full && p.Dims.ByName {
		b = protowire.AppendTag(b, ptByName, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	}
	if !validStrings(p, group, full) {
		return buf, b, errUTF8
	}
	size := protowire.SizeTag(respPoint) + protowire.SizeBytes(len(b))
	buf = protowire.AppendVarint(buf, uint64(size))
	buf = protowire.AppendTag(buf, respPoint, protowire.BytesType)
	buf = protowire.AppendBytes(buf, b)
	return buf, b, nil
}

// validStrings tells whether every string that goes on the wire is UTF-8,
// as proto3 requires of string fields.
func validStrings(p *Point, group string, full bool) bool {
	if !utf8.ValidString(group) {
		return false
	}
	if full {
		if !utf8.ValidString(p.Name) || !utf8.ValidString(p.Database) || !utf8.ValidString(p.RP) {
			return false
		}
		for _, d := range p.Dims.TagNames {
			if !utf8.ValidString(d) {
				return false
			}
		}
	}
	for _, t := range p.Tags {
		if !utf8.ValidString(t.Key) || !utf8.ValidString(t.Value) {
			return false
		}
	}
	for _, f := range p.Fields {
		if !utf8.ValidString(f.Key) || f.Value.Type == String && !utf8.ValidString(f.Value.Str) {
			return false
		}
	}
	return true
}

// entrySize is the size of a map entry's key field.
func entrySize(key string) int { return 1 + protowire.SizeBytes(len(key)) }

func appendKey(b []byte, key string) []byte {
	b = protowire.AppendTag(b, entryKey, protowire.BytesType)
	return protowire.AppendString(b, key)
}

// appendStringEntry appends one entry of a map<string,string>.
func appendStringEntry(b []byte, num protowire.Number, k, v string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(entrySize(k)+1+protowire.SizeBytes(len(v))))
	b = appendKey(b, k)
	b = protowire.AppendTag(b, entryValue, protowire.BytesType)
	return protowire.AppendString(b, v)
}

// interner shares the strings that repeat from point to point (names, keys,
// tag values), up to a bound, so decoding does not allocate them each time.
type interner struct {
	m map[string]string
}

const internMax = 4096

func (in *interner) str(b []byte) string {
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if in.m == nil {
		in.m = make(map[string]string)
	}
	if len(in.m) < internMax {
		in.m[s] = s
	}
	return s
}

// rankedField is a field with the rank of the map it came in, for
// Kapacitor's merge order: string 0, int 1, double 2, bool 3.
type rankedField struct {
	Field
	rank int
}

// fastDecoder decodes Response{point} frames without reflection.
type fastDecoder struct {
	in     interner
	tags   []Tag // scratch, copied out to an exact size
	dims   []string
	fields []rankedField
}

// decodePoint decodes a frame that holds exactly one Response.point. It
// returns false for anything else, or anything it does not fully
// understand, and the caller uses the official decoder.
func (d *fastDecoder) decodePoint(frame []byte) (Point, bool) {
	num, typ, n := protowire.ConsumeTag(frame)
	if n < 0 || num != respPoint || typ != protowire.BytesType {
		return Point{}, false
	}
	body, m := protowire.ConsumeBytes(frame[n:])
	if m < 0 || n+m != len(frame) {
		return Point{}, false
	}
	var p Point
	d.tags, d.dims, d.fields = d.tags[:0], d.dims[:0], d.fields[:0]
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return Point{}, false
		}
		body = body[n:]
		switch {
		case (num == ptTime || num == ptByName) && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(body)
			if n < 0 {
				return Point{}, false
			}
			body = body[n:]
			if num == ptTime {
				p.Timestamp = int64(v)
			} else {
				p.Dims.ByName = protowire.DecodeBool(v)
			}
		case typ == protowire.BytesType && (num >= ptName && num <= ptStrings || num == ptBools):
			v, n := protowire.ConsumeBytes(body)
			if n < 0 {
				return Point{}, false
			}
			body = body[n:]
			if !d.bytesField(&p, num, v) {
				return Point{}, false
			}
		default:
			// Another wire type for a known field, or an unknown field:
			// the official decoder knows what protobuf makes of it.
			return Point{}, false
		}
	}
	if len(d.tags) > 0 {
		p.Tags = slices.Clone(sortTags(d.tags))
	}
	if len(d.dims) > 0 {
		p.Dims.TagNames = slices.Clone(d.dims)
	}
	p.Fields = d.mergeFields()
	return p, true
}

// bytesField decodes one length-delimited field of a point.
func (d *fastDecoder) bytesField(p *Point, num protowire.Number, v []byte) bool {
	if num <= ptDimensions {
		if !utf8.Valid(v) {
			return false
		}
		s := d.in.str(v)
		switch num {
		case ptName:
			p.Name = s
		case ptDatabase:
			p.Database = s
		case ptRP:
			p.RP = s
		case ptGroup:
			p.Group = s
		case ptDimensions:
			d.dims = append(d.dims, s)
		}
		return true
	}
	key, val, valType, ok := consumeEntry(v)
	if !ok || !utf8.Valid(key) {
		return false
	}
	k := d.in.str(key)
	switch num {
	case ptTags, ptStrings:
		if valType != protowire.BytesType && valType != noValue || !utf8.Valid(val.b) {
			return false
		}
		if num == ptTags {
			d.tags = append(d.tags, Tag{Key: k, Value: d.in.str(val.b)})
		} else {
			d.fields = append(d.fields, rankedField{Field{k, StringValue(string(val.b))}, 0})
		}
	case ptInts, ptBools:
		if valType != protowire.VarintType && valType != noValue {
			return false
		}
		if num == ptInts {
			d.fields = append(d.fields, rankedField{Field{k, IntValue(int64(val.u))}, 1})
		} else {
			d.fields = append(d.fields, rankedField{Field{k, BoolValue(protowire.DecodeBool(val.u))}, 3})
		}
	case ptDoubles:
		if valType != protowire.Fixed64Type && valType != noValue {
			return false
		}
		d.fields = append(d.fields, rankedField{Field{k, DoubleValue(math.Float64frombits(val.u))}, 2})
	}
	return true
}

// noValue marks a map entry without a value field: the value is the zero.
const noValue protowire.Type = -1

// entryValueOf is a decoded map entry value.
type entryValueOf struct {
	u uint64
	b []byte
}

// consumeEntry decodes a map entry: its key, its value and the value's wire
// type (noValue when absent). A repeated key or value keeps the last, as
// protobuf does; anything else (an unknown field, another wire type) returns
// false.
func consumeEntry(b []byte) (key []byte, val entryValueOf, typ protowire.Type, ok bool) {
	typ = noValue
	for len(b) > 0 {
		num, t, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, val, 0, false
		}
		b = b[n:]
		switch {
		case num == entryKey && t == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, val, 0, false
			}
			key, b = v, b[n:]
		case num == entryKey:
			return nil, val, 0, false
		case num == entryValue && t == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, val, 0, false
			}
			val, typ, b = entryValueOf{b: v}, t, b[n:]
		case num == entryValue && t == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, val, 0, false
			}
			val, typ, b = entryValueOf{u: v}, t, b[n:]
		case num == entryValue && t == protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return nil, val, 0, false
			}
			val, typ, b = entryValueOf{u: v}, t, b[n:]
		default:
			return nil, val, 0, false
		}
	}
	return key, val, typ, true
}

// sortTags sorts tags by key; of a repeated key the last stays, as in a
// protobuf map.
func sortTags(tags []Tag) []Tag {
	if len(tags) < 2 {
		return tags
	}
	slices.SortStableFunc(tags, func(a, b Tag) int { return strings.Compare(a.Key, b.Key) })
	out := tags[:0]
	for i, t := range tags {
		if i+1 < len(tags) && tags[i+1].Key == t.Key {
			continue
		}
		out = append(out, t)
	}
	return out
}

// mergeFields returns the decoded fields sorted by key, one per key: the
// last of the highest-ranked map, as fieldsFromWire merges the official
// maps.
func (d *fastDecoder) mergeFields() []Field {
	fs := d.fields
	if len(fs) == 0 {
		return nil
	}
	slices.SortStableFunc(fs, func(a, b rankedField) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return a.rank - b.rank
	})
	out := make([]Field, 0, len(fs))
	for i, f := range fs {
		if i+1 < len(fs) && fs[i+1].Key == f.Key {
			continue
		}
		out = append(out, f.Field)
	}
	return out
}
