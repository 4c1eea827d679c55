package udf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/influxdata/kapacitor/udf/agent"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// frames encodes responses with the protocol's framing.
func frames(tb testing.TB, msgs ...*agent.Response) []byte {
	tb.Helper()
	var buf []byte
	for _, m := range msgs {
		var err error
		buf, err = appendFrame(buf, m)
		require.NoError(tb, err)
	}
	return buf
}

// The framing is the Go agent's: a frame written by agent.WriteMessage
// reads here, and a frame written here reads with agent.ReadMessage.
func TestFramingMatchesAgent(t *testing.T) {
	req := &agent.Request{Message: &agent.Request_Point{Point: &agent.Point{
		Time: -5, Name: "cpu", Tags: map[string]string{"host": "a"}, FieldsDouble: map[string]float64{"v": 1.5},
	}}}
	ours, err := appendFrame(nil, req)
	require.NoError(t, err)
	var theirs bytes.Buffer
	require.NoError(t, agent.WriteMessage(req, &theirs))
	assert.Equal(t, binary.AppendUvarint(nil, uint64(proto.Size(req))), ours[:len(ours)-proto.Size(req)])

	var back agent.Request
	var buf []byte
	require.NoError(t, agent.ReadMessage(&buf, bytes.NewReader(ours), &back))
	assert.True(t, proto.Equal(req, &back))

	resp := &agent.Response{Message: &agent.Response_Point{Point: req.GetPoint()}}
	theirs.Reset()
	require.NoError(t, agent.WriteMessage(resp, &theirs))
	ev, err := newDecoder(&theirs).next()
	require.NoError(t, err)
	assert.Equal(t, &Point{Name: "cpu", Timestamp: -5, Tags: []Tag{{"host", "a"}}, Fields: []Field{f("v", DoubleValue(1.5))}}, ev.point)
}

func TestDecoder(t *testing.T) {
	point := func(ts int64) *agent.Response {
		return &agent.Response{Message: &agent.Response_Point{Point: &agent.Point{Time: ts}}}
	}
	begin := &agent.Response{Message: &agent.Response_Begin{Begin: &agent.BeginBatch{Name: "x", ByName: true, Size: 1 << 40}}}
	end := &agent.Response{Message: &agent.Response_End{End: &agent.EndBatch{
		Name: "m", Group: "g", Tmax: 9, Tags: map[string]string{"b": "2", "a": "1"}}}}
	tests := []struct {
		name   string
		input  []byte
		events []event
		err    string // the error after the events; "" for a clean end
	}{
		{name: "empty", input: nil},
		{name: "points", input: frames(t, point(1), point(2)),
			events: []event{{point: &Point{Timestamp: 1}}, {point: &Point{Timestamp: 2}}}},
		{name: "batch", input: frames(t, begin, point(1), point(2), end),
			events: []event{{batch: &Batch{Name: "m", Group: "g", TMax: 9, Tags: []Tag{{"a", "1"}, {"b", "2"}},
				Dims:   Dimensions{ByName: true, TagNames: []string{"a", "b"}},
				Points: []Point{{Timestamp: 1}, {Timestamp: 2}}}}}},
		{name: "begin again drops the open batch", input: frames(t, begin, point(1), begin, point(2), end),
			events: []event{{batch: &Batch{Name: "m", Group: "g", TMax: 9, Tags: []Tag{{"a", "1"}, {"b", "2"}},
				Dims:   Dimensions{ByName: true, TagNames: []string{"a", "b"}},
				Points: []Point{{Timestamp: 2}}}}}},
		{name: "keepalive", input: frames(t, &agent.Response{Message: &agent.Response_Keepalive{Keepalive: &agent.KeepaliveResponse{Time: 3}}}),
			events: []event{{reply: &agent.Response{Message: &agent.Response_Keepalive{Keepalive: &agent.KeepaliveResponse{Time: 3}}}}}},
		{name: "error answer", input: frames(t, point(1), &agent.Response{Message: &agent.Response_Error{Error: &agent.ErrorResponse{Error: "no"}}}),
			events: []event{{point: &Point{Timestamp: 1}}}, err: "error: no"},
		{name: "end without begin", input: frames(t, end), err: "bad message: end of a batch that did not begin"},
		{name: "output ends in a batch", input: frames(t, begin, point(1)), err: "bad message: cut short: inside a batch"},
		{name: "empty response", input: []byte{0}, err: "bad message: response without a message"},
		{name: "length cut short", input: []byte{0x80}, err: "bad message: cut short: message length"},
		{name: "body cut short", input: []byte{5, 1, 2}, err: "bad message: cut short: 2 of 5 bytes"},
		{name: "long body cut short", input: append(binary.AppendUvarint(nil, 3<<20), make([]byte, 1<<20+7)...),
			err: "bad message: cut short: 1048583 of 3145728 bytes"},
		{name: "over the limit", input: binary.AppendUvarint(nil, MaxMessageSize+1),
			err: "bad message: message of 67108865 bytes is over the 67108864 byte limit"},
		{name: "length overflows", input: bytes.Repeat([]byte{0xff}, 11), err: "bad message: message length overflows 64 bits"},
		{name: "not protobuf", input: []byte{2, 0xff, 0xff}, err: "bad message: cannot parse invalid wire-format data"},
		{name: "invalid utf-8", input: frames(t, &agent.Response{}) /* replaced below */},
	}
	// A point whose name is not UTF-8: protobuf's proto3 strings refuse it.
	bad := protoPointNamed("\xff")
	tests[len(tests)-1].input = append(binary.AppendUvarint(nil, uint64(len(bad))), bad...)
	tests[len(tests)-1].err = "bad message: string field contains invalid UTF-8"

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDecoder(bytes.NewReader(tc.input))
			var got []event
			var err error
			for {
				var ev event
				if ev, err = d.next(); err != nil {
					break
				}
				got = append(got, ev)
			}
			require.Equal(t, len(tc.events), len(got), "events")
			for i := range got {
				assert.Equal(t, tc.events[i].point, got[i].point)
				assert.Equal(t, tc.events[i].batch, got[i].batch)
				if tc.events[i].reply != nil {
					assert.True(t, proto.Equal(tc.events[i].reply, got[i].reply))
				}
			}
			if tc.err == "" {
				assert.Equal(t, io.EOF, err)
			} else {
				assert.EqualError(t, err, tc.err)
				assert.True(t, errors.Is(err, ErrBadMessage) || errors.Is(err, ErrReported), "%v", err)
			}
		})
	}
}

// protoPointNamed hand-encodes Response{point: Point{name: name}}, which
// proto.Marshal refuses for a name that is not UTF-8.
func protoPointNamed(name string) []byte {
	inner := append([]byte{2<<3 | 2, byte(len(name))}, name...)
	return append([]byte{17<<3 | 2, 1, byte(len(inner))}, inner...)
}

// Fields arriving in more than one typed map keep one value, the later of
// Kapacitor's merge order (string, int, double, bool).
func TestFieldMerge(t *testing.T) {
	p := pointFromWire(&agent.Point{
		FieldsString: map[string]string{"a": "s", "b": "s", "z": "s"},
		FieldsInt:    map[string]int64{"a": 1, "b": 1, "c": 1},
		FieldsDouble: map[string]float64{"a": 2, "c": 2},
		FieldsBool:   map[string]bool{"a": true},
	})
	assert.Equal(t, []Field{f("a", BoolValue(true)), f("b", IntValue(1)), f("c", DoubleValue(2)), f("z", StringValue("s"))}, p.Fields)
}

// FuzzDecode feeds arbitrary bytes to the decoder as a UDF's output. It
// must end in io.EOF or an error that is a bad message or an error answer,
// never a panic or another error; every point it returns survives being
// encoded again and decoded.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add([]byte{0x80, 0x80})
	f.Add(binary.AppendUvarint(nil, 1<<40))
	f.Add([]byte("hello, I am not a UDF\n"))
	seed := func(msgs ...*agent.Response) {
		var buf []byte
		for _, m := range msgs {
			buf, _ = appendFrame(buf, m)
		}
		f.Add(buf)
	}
	p := &agent.Response{Message: &agent.Response_Point{Point: &agent.Point{
		Time: 1, Name: "cpu", Database: "db", RetentionPolicy: "rp", Group: "g", Dimensions: []string{"host"},
		Tags: map[string]string{"host": "a"}, FieldsDouble: map[string]float64{"v": 1},
		FieldsInt: map[string]int64{"i": -1}, FieldsString: map[string]string{"s": "x"},
		FieldsBool: map[string]bool{"b": true}, ByName: true,
	}}}
	seed(p, p)
	seed(&agent.Response{Message: &agent.Response_Begin{Begin: &agent.BeginBatch{Name: "b", Size: 2}}}, p,
		&agent.Response{Message: &agent.Response_End{End: &agent.EndBatch{Name: "b", Tmax: 5, Tags: map[string]string{"t": "v"}}}})
	seed(&agent.Response{Message: &agent.Response_Info{Info: &agent.InfoResponse{Wants: 1, Provides: 1,
		Options: map[string]*agent.OptionInfo{"x": {ValueTypes: []agent.ValueType{agent.ValueType_DURATION}}}}}})
	seed(&agent.Response{Message: &agent.Response_Init{Init: &agent.InitResponse{Error: "e"}}},
		&agent.Response{Message: &agent.Response_Snapshot{Snapshot: &agent.SnapshotResponse{Snapshot: []byte{1, 2}}}},
		&agent.Response{Message: &agent.Response_Restore{Restore: &agent.RestoreResponse{Success: true}}},
		&agent.Response{Message: &agent.Response_Keepalive{Keepalive: &agent.KeepaliveResponse{Time: 7}}},
		&agent.Response{Message: &agent.Response_Error{Error: &agent.ErrorResponse{Error: "boom"}}})

	f.Fuzz(func(t *testing.T, data []byte) {
		d := newDecoder(bytes.NewReader(data))
		enc := newEncoder()
		for {
			ev, err := d.next()
			if err == io.EOF {
				return
			}
			if err != nil {
				if !errors.Is(err, ErrBadMessage) && !errors.Is(err, ErrReported) {
					t.Fatalf("error %v is neither a bad message nor an error answer", err)
				}
				return
			}
			if ev.point == nil {
				continue
			}
			// Request.point and Response.point are both field 17.
			buf, err := enc.appendPoint(nil, ev.point)
			if err != nil {
				t.Fatalf("a decoded point does not encode: %v", err)
			}
			again, err := newDecoder(bytes.NewReader(buf)).next()
			if err != nil {
				t.Fatalf("a re-encoded point does not decode: %v", err)
			}
			assert.Equal(t, ev.point, again.point)
		}
	})
}

// officialPoint builds what the hand encoder must produce, with the
// official types: a stream point whole (full), a batch point with its time,
// group, tags and fields.
func officialPoint(p *Point, group string, full bool) *agent.Request {
	w := &agent.Point{Time: p.Timestamp, Group: group}
	if full {
		w.Name, w.Database, w.RetentionPolicy = p.Name, p.Database, p.RP
		w.Dimensions, w.ByName = p.Dims.TagNames, p.Dims.ByName
	}
	for _, t := range p.Tags {
		if w.Tags == nil {
			w.Tags = map[string]string{}
		}
		w.Tags[t.Key] = t.Value
	}
	for _, fl := range p.Fields {
		switch fl.Value.Type {
		case Double:
			if w.FieldsDouble == nil {
				w.FieldsDouble = map[string]float64{}
			}
			w.FieldsDouble[fl.Key] = fl.Value.Double
		case Int:
			if w.FieldsInt == nil {
				w.FieldsInt = map[string]int64{}
			}
			w.FieldsInt[fl.Key] = fl.Value.Int
		case String:
			if w.FieldsString == nil {
				w.FieldsString = map[string]string{}
			}
			w.FieldsString[fl.Key] = fl.Value.Str
		case Bool:
			if w.FieldsBool == nil {
				w.FieldsBool = map[string]bool{}
			}
			w.FieldsBool[fl.Key] = fl.Value.Bool
		}
	}
	return &agent.Request{Message: &agent.Request_Point{Point: w}}
}

// checkEncoding encodes p by hand and decodes it with protobuf's own code:
// it must be the official message, and the fast decoder must read it back.
func checkEncoding(t *testing.T, p *Point, full bool) {
	t.Helper()
	frame, _, err := appendPointFrame(nil, nil, p, p.Group, full)
	require.NoError(t, err)
	size, n := binary.Uvarint(frame)
	require.Equal(t, len(frame)-n, int(size), "length prefix")
	var got agent.Request
	require.NoError(t, proto.Unmarshal(frame[n:], &got))
	want := officialPoint(p, p.Group, full)
	require.True(t, proto.Equal(want, &got), "hand-encoded %v\nofficial %v", &got, want)

	var fd fastDecoder
	back, ok := fd.decodePoint(frame[n:])
	require.True(t, ok)
	assert.Equal(t, pointFromWire(got.GetPoint()), back)
}

func TestPointEncoding(t *testing.T) {
	points := []*Point{
		{},
		{Timestamp: -1},
		pt(1e18, "cpu\nhost=a", []Tag{{"host", "a"}, {"é", ""}}, f("", DoubleValue(0)), f("b", BoolValue(false)),
			f("i", IntValue(-1<<63)), f("s", StringValue("")), f("u", BoolValue(true)), f("x", DoubleValue(-1.5e300))),
		{Name: "m", Dims: Dimensions{ByName: true, TagNames: []string{"a", "b"}}, Fields: []Field{f("s", StringValue(strings.Repeat("z", 300)))}},
	}
	for i, p := range points {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkEncoding(t, p, true)
			checkEncoding(t, p, false)
		})
	}
	_, _, err := appendPointFrame(nil, nil, &Point{Name: "\xff"}, "", true)
	assert.EqualError(t, err, "string field contains invalid UTF-8")
	_, _, err = appendPointFrame(nil, nil, &Point{Name: "\xff"}, "", false)
	assert.NoError(t, err, "a batch point carries no name")
}

// FuzzPointEncoding checks the hand encoder against protobuf's on points
// made of the fuzzer's values.
func FuzzPointEncoding(f *testing.F) {
	f.Add(int64(1), "cpu", "host", "a", "v", 1.5, int64(-3), "s", true, true)
	f.Add(int64(0), "", "", "", "", 0.0, int64(0), "", false, false)
	f.Fuzz(func(t *testing.T, ts int64, name, tk, tv, fk string, d float64, i int64, s string, b, full bool) {
		p := &Point{Name: name, Database: tv, RP: tk, Timestamp: ts, Group: name + tv,
			Tags: []Tag{{tk, tv}}, Dims: Dimensions{ByName: b, TagNames: []string{tk}},
			Fields: []Field{{fk + "d", DoubleValue(d)}, {fk + "i", IntValue(i)}, {fk + "s", StringValue(s)}, {fk + "b", BoolValue(b)}}}
		frame, _, err := appendPointFrame(nil, nil, p, p.Group, full)
		want := officialPoint(p, p.Group, full)
		official, officialErr := proto.Marshal(want)
		if officialErr != nil {
			if err == nil {
				t.Fatalf("protobuf refuses the point (%v), the hand encoder does not", officialErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("the hand encoder refuses a point protobuf takes: %v", err)
		}
		_, n := binary.Uvarint(frame)
		var got agent.Request
		if err := proto.Unmarshal(frame[n:], &got); err != nil {
			t.Fatalf("protobuf cannot decode the hand-encoded point: %v", err)
		}
		if !proto.Equal(want, &got) {
			t.Fatalf("hand-encoded %v, official %v (%x)", &got, want, official)
		}
	})
}

// FuzzPointDecoders compares the fast point decoder with protobuf's own on
// arbitrary frames: where the fast one answers, protobuf must decode the
// same point.
func FuzzPointDecoders(fz *testing.F) {
	for _, p := range []*Point{
		pt(7, "g", []Tag{{"host", "a"}, {"k", "v"}}, f("b", BoolValue(true)), f("i", IntValue(-2)), f("s", StringValue("x")), f("v", DoubleValue(2))),
		{Name: "m", Dims: Dimensions{ByName: true, TagNames: []string{"a"}}},
	} {
		frame, _, _ := appendPointFrame(nil, nil, p, p.Group, true)
		_, n := binary.Uvarint(frame)
		fz.Add(frame[n:])
	}
	fz.Add([]byte{17<<3 | 2, 0})
	fz.Fuzz(func(t *testing.T, frame []byte) {
		var fd fastDecoder
		fast, ok := fd.decodePoint(frame)
		if !ok {
			return
		}
		var resp agent.Response
		if err := proto.Unmarshal(frame, &resp); err != nil {
			t.Fatalf("the fast decoder took a frame protobuf refuses: %v", err)
		}
		if resp.GetPoint() == nil {
			t.Fatalf("the fast decoder took a frame that is no point: %v", &resp)
		}
		assert.Equal(t, pointFromWire(resp.GetPoint()), fast)
	})
}
