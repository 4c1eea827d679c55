package udf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/influxdata/kapacitor/udf/agent"
	"google.golang.org/protobuf/proto"
)

// MaxMessageSize is the largest message a Client reads from a UDF. A length
// prefix above it is a bad message: garbage must not make the host allocate
// gigabytes. Every point is its own message, so only a snapshot comes near.
const MaxMessageSize = 64 << 20

// readChunk is how much of a long message is read (and allocated) at a time,
// so a length prefix that promises more than arrives costs little memory.
const readChunk = 1 << 20

// appendFrame appends msg to buf, preceded by its length as a uvarint (the
// protocol's framing, server.md §6). On an error buf is returned unchanged.
func appendFrame(buf []byte, msg proto.Message) ([]byte, error) {
	start := len(buf)
	buf = binary.AppendUvarint(buf, uint64(proto.Size(msg)))
	out, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(buf, msg)
	if err != nil {
		return buf[:start], errors.New(protoText(err))
	}
	return out, nil
}

// frameReader reads length-prefixed messages.
type frameReader struct {
	r   *bufio.Reader
	buf []byte
}

// next returns the bytes of the next message, valid until the next call.
// It returns io.EOF at a clean end (between messages) and an ErrBadMessage
// for a bad length or a message cut short.
func (f *frameReader) next() ([]byte, error) {
	size, err := binary.ReadUvarint(f.r)
	switch {
	case err == io.EOF:
		return nil, io.EOF
	case err == io.ErrUnexpectedEOF:
		return nil, fmt.Errorf("%w: message length", errCutShort)
	case err != nil && err.Error() == overflowText:
		return nil, badMessage("message length overflows 64 bits")
	case err != nil:
		return nil, err
	case size > MaxMessageSize:
		return nil, badMessage("message of %d bytes is over the %d byte limit", size, MaxMessageSize)
	}
	n := int(size)
	if n <= cap(f.buf) || n <= readChunk {
		if n > cap(f.buf) {
			f.buf = make([]byte, n)
		}
		b := f.buf[:n]
		if got, err := io.ReadFull(f.r, b); err != nil {
			return nil, cutShort(err, got, n)
		}
		return b, nil
	}
	// A long message: read it a chunk at a time, growing as bytes arrive.
	b := f.buf[:0]
	for len(b) < n {
		k := min(n-len(b), readChunk)
		b = append(b, make([]byte, k)...)
		if got, err := io.ReadFull(f.r, b[len(b)-k:]); err != nil {
			return nil, cutShort(err, len(b)-k+got, n)
		}
	}
	f.buf = b
	return b, nil
}

// cutShort turns the error of reading a message body into a bad message
// when the stream ended, and keeps a read error as it is.
func cutShort(err error, got, want int) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: %d of %d bytes", errCutShort, got, want)
	}
	return err
}

// errCutShort is an ErrBadMessage for output that ended in the middle of a
// message or of a batch: "bad message: cut short: 3 of 20 bytes".
var errCutShort = fmt.Errorf("%w: cut short", ErrBadMessage)

// overflowText is the text of binary.ReadUvarint's overflow error, which
// the package does not export; its other errors are the reader's own.
const overflowText = "binary: varint overflows a 64-bit integer"

// event is one thing a UDF sent, decoded: a point outside a batch, a whole
// batch, or a reply to a request.
type event struct {
	point *Point
	batch *Batch
	reply *agent.Response // info, init, snapshot, restore or keepalive
}

// decoder turns the UDF's byte stream into events. It keeps the batch the
// UDF has begun and not yet ended.
type decoder struct {
	frames frameReader
	fast   fastDecoder
	resp   agent.Response
	open   *Batch // the batch being received, nil outside a batch
}

func newDecoder(r io.Reader) *decoder {
	return &decoder{frames: frameReader{r: bufio.NewReaderSize(r, 64<<10)}}
}

// next returns the next event. It returns io.EOF at a clean end of the
// stream, an ErrBadMessage for anything that is not a protocol message, an
// ErrReported for an error answer, and the reader's errors as they are.
// Begin and point messages inside a batch produce no event: next goes on
// reading until the batch ends.
func (d *decoder) next() (event, error) {
	for {
		b, err := d.frames.next()
		if err != nil {
			if err == io.EOF && d.open != nil {
				return event{}, fmt.Errorf("%w: inside a batch", errCutShort)
			}
			return event{}, err
		}
		if p, ok := d.fast.decodePoint(b); ok {
			if d.open == nil {
				return event{point: &p}, nil
			}
			d.open.Points = append(d.open.Points, p)
			continue
		}
		if err := proto.Unmarshal(b, &d.resp); err != nil {
			return event{}, badMessage("%s", protoText(err))
		}
		switch m := d.resp.Message.(type) {
		case nil:
			return event{}, badMessage("response without a message")
		case *agent.Response_Error:
			return event{}, errorAnswer(m.Error.GetError())
		case *agent.Response_Begin:
			// A begin inside an open batch starts over, dropping the open
			// batch's points, as Kapacitor does.
			d.open = &Batch{
				Dims:   Dimensions{ByName: m.Begin.GetByName()},
				Points: make([]Point, 0, min(max(m.Begin.GetSize(), 0), 1024)),
			}
		case *agent.Response_Point:
			p := pointFromWire(m.Point)
			if d.open == nil {
				return event{point: &p}, nil
			}
			d.open.Points = append(d.open.Points, p)
		case *agent.Response_End:
			if d.open == nil {
				return event{}, badMessage("end of a batch that did not begin")
			}
			bt := d.open
			d.open = nil
			bt.Name = m.End.GetName()
			bt.Group = m.End.GetGroup()
			bt.TMax = m.End.GetTmax()
			bt.Tags = tagsFromWire(m.End.GetTags())
			bt.Dims.TagNames = make([]string, len(bt.Tags))
			for i, t := range bt.Tags {
				bt.Dims.TagNames[i] = t.Key
			}
			return event{batch: bt}, nil
		default:
			// Replies: keep the message, the next Unmarshal starts afresh.
			reply := &agent.Response{Message: d.resp.Message}
			return event{reply: reply}, nil
		}
	}
}

// protoText is the text of a protobuf error without its "proto:" prefix,
// whose space the protobuf module randomly makes a no-break space so that
// nobody depends on its texts; our messages stay the same from run to run.
func protoText(err error) string {
	s := strings.ReplaceAll(err.Error(), "\u00a0", " ")
	return strings.TrimPrefix(s, "proto: ")
}

// errorAnswer is an ErrReported with the UDF's text.
func errorAnswer(text string) error {
	return &reportedError{text: text}
}

type reportedError struct{ text string }

func (e *reportedError) Error() string        { return "error: " + e.text }
func (e *reportedError) Is(target error) bool { return target == ErrReported }

// pointFromWire converts a received point.
func pointFromWire(w *agent.Point) Point {
	p := Point{
		Name:      w.GetName(),
		Database:  w.GetDatabase(),
		RP:        w.GetRetentionPolicy(),
		Timestamp: w.GetTime(),
		Group:     w.GetGroup(),
		Tags:      tagsFromWire(w.GetTags()),
		Fields:    fieldsFromWire(w),
		Dims:      Dimensions{ByName: w.GetByName()},
	}
	if d := w.GetDimensions(); len(d) > 0 {
		p.Dims.TagNames = append([]string(nil), d...)
	}
	return p
}

// tagsFromWire returns the tags of a map sorted by key.
func tagsFromWire(m map[string]string) []Tag {
	if len(m) == 0 {
		return nil
	}
	tags := make([]Tag, 0, len(m))
	for k, v := range m {
		tags = append(tags, Tag{Key: k, Value: v})
	}
	slices.SortFunc(tags, func(a, b Tag) int { return strings.Compare(a.Key, b.Key) })
	return tags
}

// fieldsFromWire merges a point's four typed field maps into one list
// sorted by key. A key in more than one map keeps one value, as Kapacitor's
// merge (string, then int, then double, then bool, the later winning).
func fieldsFromWire(w *agent.Point) []Field {
	n := len(w.GetFieldsString()) + len(w.GetFieldsInt()) + len(w.GetFieldsDouble()) + len(w.GetFieldsBool())
	if n == 0 {
		return nil
	}
	fields := make([]Field, 0, n)
	for k, v := range w.GetFieldsString() {
		fields = append(fields, Field{Key: k, Value: StringValue(v)})
	}
	for k, v := range w.GetFieldsInt() {
		fields = append(fields, Field{Key: k, Value: IntValue(v)})
	}
	for k, v := range w.GetFieldsDouble() {
		fields = append(fields, Field{Key: k, Value: DoubleValue(v)})
	}
	for k, v := range w.GetFieldsBool() {
		fields = append(fields, Field{Key: k, Value: BoolValue(v)})
	}
	// Stable: equal keys stay in merge order, so the last one wins below.
	slices.SortStableFunc(fields, func(a, b Field) int { return strings.Compare(a.Key, b.Key) })
	out := fields[:0]
	for i, f := range fields {
		if i+1 < len(fields) && fields[i+1].Key == f.Key {
			continue
		}
		out = append(out, f)
	}
	return out
}

// encoder builds request frames.
type encoder struct {
	scratch []byte // a point's body, reused
}

func newEncoder() *encoder { return &encoder{} }

// appendPoint appends a stream point: everything Kapacitor sends. On an
// error buf is returned unchanged.
func (e *encoder) appendPoint(buf []byte, p *Point) ([]byte, error) {
	out, scratch, err := appendPointFrame(buf, e.scratch, p, p.Group, true)
	e.scratch = scratch
	if err != nil {
		return buf, err
	}
	return out, nil
}

// appendBatch appends a batch: begin, each point (time, group, tags and
// fields, as Kapacitor sends batch points) and end. On an error buf is
// returned unchanged.
func (e *encoder) appendBatch(buf []byte, b *Batch) ([]byte, error) {
	start := len(buf)
	tags := make(map[string]string, len(b.Tags))
	for _, t := range b.Tags {
		tags[t.Key] = t.Value
	}
	begin := &agent.Request{Message: &agent.Request_Begin{Begin: &agent.BeginBatch{
		Name: b.Name, Group: b.Group, Tags: tags, Size: int64(len(b.Points)), ByName: b.Dims.ByName,
	}}}
	buf, err := appendFrame(buf, begin)
	if err != nil {
		return buf[:start], err
	}
	for i := range b.Points {
		var scratch []byte
		buf, scratch, err = appendPointFrame(buf, e.scratch, &b.Points[i], b.Group, false)
		e.scratch = scratch
		if err != nil {
			return buf[:start], err
		}
	}
	end := &agent.Request{Message: &agent.Request_End{End: &agent.EndBatch{
		Name: b.Name, Group: b.Group, Tmax: b.TMax, Tags: tags,
	}}}
	if buf, err = appendFrame(buf, end); err != nil {
		return buf[:start], err
	}
	return buf, nil
}
