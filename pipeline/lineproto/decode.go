package lineproto

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"
	"unique"

	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/models"
)

// Precision is the unit of line-protocol timestamps, named as InfluxDB's
// write API names it: n, u, ms, s, m, h.
type Precision string

// Multiplier returns the nanoseconds of one unit; any unknown name counts as
// nanoseconds, as in Kapacitor (lineprotocol.md §4).
func (p Precision) Multiplier() int64 {
	switch p {
	case "u", "us", "µ":
		return int64(time.Microsecond)
	case "ms":
		return int64(time.Millisecond)
	case "s":
		return int64(time.Second)
	case "m":
		return int64(time.Minute)
	case "h":
		return int64(time.Hour)
	}
	return 1
}

// LineError is a line of line protocol that could not be decoded.
type LineError struct {
	Line int    // 1-based line number in the input
	Text string // the line as read (may be shortened)
	Err  error  // why it was rejected
}

// Error returns Kapacitor's wording with the line number in front.
func (e *LineError) Error() string {
	return fmt.Sprintf("line %d: unable to parse '%s': %v", e.Line, e.Text, e.Err)
}

// Unwrap returns the reason.
func (e *LineError) Unwrap() error { return e.Err }

// Decoder reads InfluxDB line protocol and yields points, correcting the
// places where line-protocol/v2 is more lenient than Kapacitor
// (lineprotocol.md §8): unsigned integers, CRLF line ends, string escapes
// other than \" and \\, duplicate tag keys (rejected) and duplicate field
// keys (last wins). A bad line is reported through OnError and skipped;
// the following lines flow on.
//
// The Decoder reuses one Point: the point returned by Next is valid until
// the next call.
type Decoder struct {
	// Database and RP are attached to every point.
	Database, RP string
	// Precision is the unit of timestamps; "" means nanoseconds.
	Precision Precision
	// Now supplies the time of points without a timestamp, read once per
	// chunk of input; nil means time.Now.
	Now func() time.Time
	// OnError receives every bad line, in input order; nil drops them
	// silently.
	OnError func(*LineError)
	// Workers is how many goroutines decode chunks of input in parallel;
	// points and errors still come out in input order. 0 or 1 decodes in
	// the caller's goroutine.
	Workers int

	r        *bufio.Reader
	chunk    []byte // whole lines being decoded
	fixed    []byte // chunk with string escapes rewritten, when needed
	buf      []byte // the bytes the decoder reads (chunk or fixed)
	dec      *lineprotocol.Decoder
	lineBase int   // lines before the current chunk
	now      int64 // default time of the current chunk
	eof      bool
	crlf     map[int]bool // chunk-relative line numbers ending in \r\n
	intern   map[string]string
	slots    []string // the strings last seen per place in a line (see slot)
	point    models.Point
	bad      int
	lastLine int // chunk-relative line of the last error reported
	par      *parallel
	carry    []byte // a partial line read after the current chunk

	fast     bool // decoding d.buf line by line (decode_fast.go)
	fastPos  int  // offset of the next line in d.buf
	fastLine int  // chunk-relative number of the last line taken
	noFast   bool // tests: always decode with the library
	// sortedFields is the number of fields of the last line the fast path
	// decoded when they came sorted with unique keys; -1 if not.
	sortedFields int
}

// chunkSize is how much input is decoded at a time; the decoder then works
// on an in-memory buffer, which is faster than reading through io.Reader.
const chunkSize = 1 << 20

// maxInterned bounds the intern table so high-cardinality tag values cannot
// grow memory without limit; past it strings are allocated per point.
const maxInterned = 1 << 16

// NewDecoder returns a decoder reading r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, 64<<10), intern: make(map[string]string)}
}

// BadLines returns how many lines were rejected so far.
func (d *Decoder) BadLines() int { return d.bad }

// Next returns the next well-formed point, or nil at the end of the input.
// A read error other than EOF is returned.
func (d *Decoder) Next() (*models.Point, error) {
	if d.Workers > 1 {
		return d.nextParallel()
	}
	for {
		if d.fast {
			if p := d.nextFast(); p != nil {
				return p, nil
			}
			d.fast = false
			d.dec = nil
		}
		if d.dec == nil || !d.dec.Next() {
			if d.eof {
				return nil, nil
			}
			if err := d.readChunk(); err != nil {
				return nil, err
			}
			continue
		}
		if err := d.decodeEntry(); err != nil {
			d.report(err)
			continue
		}
		return &d.point, nil
	}
}

// readChunk reads whole lines into d.chunk and starts a decoder over them.
func (d *Decoder) readChunk() error {
	d.lineBase += bytes.Count(d.chunk, []byte{'\n'}) // lines of the previous chunk
	var err error
	d.chunk, d.carry, err = readLines(d.r, d.chunk[:0], d.carry, chunkSize)
	if err == io.EOF {
		d.eof, err = true, nil
	}
	if err != nil {
		return err
	}
	d.startChunk()
	return nil
}

// readLines reads whole lines into buf: it starts with carry (the partial
// line left by the previous call), reads blocks, and cuts after the last
// newline, returning the rest as the new carry. It returns once it has
// about size bytes, or as soon as a read comes back short with a complete
// line in hand, so live input (tail -f | tickrun run) is processed as it
// arrives. At the end of the input it returns everything with io.EOF.
func readLines(r io.Reader, buf, carry []byte, size int) (chunk, rest []byte, err error) {
	buf = append(buf, carry...)
	carry = carry[:0]
	short := false
	for {
		if len(buf) >= size || short {
			if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
				return buf[:i+1], append(carry, buf[i+1:]...), nil
			}
		}
		if cap(buf)-len(buf) < size/4 {
			buf = slices.Grow(buf, size/2)
		}
		want := cap(buf) - len(buf)
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			return buf, carry, err
		}
		short = n < want
	}
}

// startChunk starts decoding d.chunk.
func (d *Decoder) startChunk() {
	if d.Now != nil {
		d.now = d.Now().UnixNano()
	} else {
		d.now = time.Now().UnixNano()
	}
	d.buf = d.chunk
	clear(d.crlf)
	if bytes.IndexByte(d.chunk, '\\') >= 0 || bytes.IndexByte(d.chunk, '\r') >= 0 {
		d.buf = d.fixChunk()
	}
	if !d.noFast && plainChunk(d.buf) {
		d.fast, d.fastPos, d.fastLine = true, 0, 0
	} else {
		d.dec = lineprotocol.NewDecoderWithBytes(d.buf)
	}
	for _, n := range slices.Sorted(maps.Keys(d.crlf)) {
		d.reportLine(n, errors.New("carriage return in the line (CRLF input?); Kapacitor takes it for data and rejects the line"))
	}
	d.lastLine = 0
}

// loadChunk makes d decode data, whole lines starting after line lineBase,
// and nothing else.
func (d *Decoder) loadChunk(data []byte, lineBase int) {
	d.chunk, d.lineBase, d.eof = data, lineBase, true
	d.startChunk()
}

// fixChunk rewrites the escapes line-protocol/v2 would interpret but
// Kapacitor keeps literally (\n, \r, \t inside string field values become
// \\n...), and blanks lines that end in \r\n, remembering them as errors.
func (d *Decoder) fixChunk() []byte {
	out := d.fixed[:0]
	in := d.chunk
	const (
		measurement = iota
		tags
		fieldKey
		fieldValue
		stringValue
		timestamp
	)
	state := measurement
	line, outStart := 1, 0
	startLine := 1      // where the current entry starts (strings may span lines)
	cr := false         // the current entry has a \r outside a string
	valueStart := false // the next byte is the first of a field value
	for i := 0; i < len(in); i++ {
		c := in[i]
		atStart := valueStart
		valueStart = false
		switch {
		case c == '\\' && state == stringValue && i+1 < len(in):
			switch in[i+1] {
			case 'n', 'r', 't':
				out = append(out, '\\', '\\', in[i+1])
			default:
				out = append(out, c, in[i+1])
			}
			i++
			continue
		case c == '\\' && i+1 < len(in) && in[i+1] != '\n':
			out = append(out, c, in[i+1])
			i++
			continue
		case c == '"' && state == fieldValue && atStart:
			// a quote opens a string only as the first byte of a value
			state = stringValue
		case c == '"' && state == stringValue:
			state = fieldValue
		case c == '\n' && state == stringValue:
			line++
		case c == '\r' && state != stringValue:
			// Kapacitor takes \r outside a string for data, which spoils
			// the line (CRLF input included).
			cr = true
		case c == '\n':
			if cr {
				d.markCR(startLine, out[outStart:])
			}
			cr = false
			state, line, outStart = measurement, line+1, len(out)+1
			startLine = line
		case (c == ' ' || c == '\t') && state == measurement && len(bytes.TrimLeft(out[outStart:], " \t")) == 0:
			// leading blanks before the measurement
		case c == ' ' && state == measurement, c == ' ' && state == tags:
			state = fieldKey
		case c == ',' && state == measurement:
			state = tags
		case c == '=' && state == fieldKey:
			state, valueStart = fieldValue, true
		case c == ',' && state == fieldValue:
			state = fieldKey
		case c == ' ' && state == fieldValue:
			state = timestamp
		}
		out = append(out, c)
	}
	if cr {
		d.markCR(startLine, out[outStart:])
	}
	d.fixed = out
	return out
}

// markCR records an entry spoiled by a carriage return and blanks it
// (keeping its newlines, so line numbers stay), so the library skips it and
// the error is reported once.
func (d *Decoder) markCR(line int, text []byte) {
	if d.crlf == nil {
		d.crlf = make(map[int]bool)
	}
	d.crlf[line] = true
	for j := range text {
		if text[j] != '\n' {
			text[j] = ' '
		}
	}
}

// newPoint empties d.point for the next line. The slots change while a
// line is decoded, also for a line that turns out bad, so sortedFields is
// reset: only a line the fast path decodes to the end sets it again.
func (d *Decoder) newPoint() *models.Point {
	d.sortedFields = -1
	p := &d.point
	p.Tags, p.Fields = p.Tags[:0], p.Fields[:0]
	p.Dims = models.Dimensions{}
	p.Group = ""
	p.Database, p.RP = d.Database, d.RP
	return p
}

// decodeEntry decodes the current entry into d.point.
func (d *Decoder) decodeEntry() error {
	p := d.newPoint()
	m, err := d.dec.Measurement()
	if err != nil {
		return err
	}
	p.Name = d.slot(0, unescapeMeasurement(m))
	for {
		k, v, err := d.dec.NextTag()
		if err != nil {
			return err
		}
		if k == nil {
			break
		}
		if len(v) == 0 {
			return d.entryError(errors.New("missing tag value"), m, k)
		}
		slot := 1 + 2*len(p.Tags)
		p.Tags = append(p.Tags, models.Tag{Key: d.slot(slot, k), Value: d.slot(slot+1, v)})
	}
	dupTags := !models.SortTags(p.Tags)
	var anchor []byte // a slice into the buffer, to locate the line of an error
	for {
		k, kind, raw, err := d.dec.NextFieldBytes()
		if err != nil {
			return err
		}
		if k == nil {
			break
		}
		if kind != lineprotocol.String {
			anchor = raw
		}
		var v eval.Value
		switch kind {
		case lineprotocol.Float:
			f, err := strconv.ParseFloat(string(raw), 64)
			if err != nil {
				return d.entryError(fmt.Errorf("invalid number"), raw, m)
			}
			v = eval.FloatValue(f)
		case lineprotocol.Int:
			i, err := strconv.ParseInt(string(raw), 10, 64)
			if err != nil {
				return d.entryError(fmt.Errorf("unable to parse integer %s: value out of range", raw), raw, m)
			}
			v = eval.IntValue(i)
		case lineprotocol.Uint:
			return d.entryError(errors.New("invalid number: unsigned integers (1u) are not accepted, as in Kapacitor"), raw, m)
		case lineprotocol.String:
			v = eval.StringValue(string(raw))
		case lineprotocol.Bool:
			v = eval.BoolValue(raw[0] == 't' || raw[0] == 'T')
		}
		p.Fields = append(p.Fields, models.Field{Key: d.slot(fieldSlots+len(p.Fields), k), Value: v})
	}
	p.Fields = models.SortFields(p.Fields)
	tb, err := d.dec.TimeBytes()
	if err != nil {
		return err
	}
	if dupTags {
		return d.entryError(errors.New("duplicate tags"), tb, anchor, m)
	}
	if tb == nil {
		p.Timestamp = d.now
		return nil
	}
	t, err := strconv.ParseInt(string(tb), 10, 64)
	if err != nil {
		return d.entryError(errors.New("bad timestamp"), tb, m)
	}
	mult := d.Precision.Multiplier()
	if mult != 1 {
		if c := t * mult; c/mult != t {
			return d.entryError(fmt.Errorf("time %d is outside the range", t), tb, m)
		} else {
			t = c
		}
	}
	p.Timestamp = t
	return nil
}

// fieldSlots is where field keys start in the slot cache; tags use the
// slots before it.
const fieldSlots = 64

// slot returns b as a string like str, but first compares it with the
// string last seen at the same place of a line (measurement, i-th tag key
// or value, i-th field key): lines of one series repeat them, and a
// comparison is cheaper than a map lookup.
func (d *Decoder) slot(i int, b []byte) string {
	if i < len(d.slots) && d.slots[i] == string(b) {
		return d.slots[i]
	}
	s := d.str(b)
	if i < 2*fieldSlots {
		if i >= len(d.slots) {
			d.slots = append(d.slots, make([]string, i+1-len(d.slots))...)
		}
		d.slots[i] = s
	}
	return s
}

// str returns b as a string, interned when possible: m[string(b)] does not
// allocate, so known keys and tag values cost nothing. Interned strings
// are canonical for the process (unique.Make): a lambda's reference to a
// field shares the field key's bytes, so comparing them is a pointer
// comparison.
func (d *Decoder) str(b []byte) string {
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	if len(d.intern) >= maxInterned {
		return string(b)
	}
	s := unique.Make(string(b)).Value()
	d.intern[s] = s
	return s
}

// unescapeMeasurement applies the unescaping Kapacitor does and
// line-protocol/v2 does not: \" and \= in measurement names.
func unescapeMeasurement(m []byte) []byte {
	if bytes.IndexByte(m, '\\') < 0 {
		return m
	}
	out := make([]byte, 0, len(m))
	for i := 0; i < len(m); i++ {
		if m[i] == '\\' && i+1 < len(m) && (m[i+1] == '"' || m[i+1] == '=') {
			i++
		}
		out = append(out, m[i])
	}
	return out
}

// entryErr is an error found after the library accepted the entry. Its
// line is located from a byte slice that points into the buffer (a value
// with no escapes does); offset is -1 when none does.
type entryErr struct {
	offset int
	err    error
}

func (e *entryErr) Error() string { return e.err.Error() }

// entryError locates err by the first of slices that points into d.buf.
func (d *Decoder) entryError(err error, slices ...[]byte) error {
	for _, b := range slices {
		if len(b) == 0 || cap(b) > cap(d.buf) {
			continue
		}
		o := cap(d.buf) - cap(b)
		if o >= 0 && o < len(d.buf) && &d.buf[o] == &b[0] {
			return &entryErr{offset: o, err: err}
		}
	}
	return &entryErr{offset: -1, err: err}
}

// report turns a decoding error into a LineError.
func (d *Decoder) report(err error) {
	var de *lineprotocol.DecodeError
	var ee *entryErr
	switch {
	case errors.As(err, &de):
		d.reportLine(int(de.Line), de.Err)
	case errors.As(err, &ee) && ee.offset >= 0:
		d.reportLine(bytes.Count(d.buf[:ee.offset], []byte{'\n'})+1, ee.err)
	case errors.As(err, &ee):
		// Nothing of the entry points into the buffer (every part had
		// escapes): it is the line after the last one located.
		d.reportLine(d.lastLine+1, ee.err)
	default:
		d.reportLine(0, err)
	}
}

// reportLine reports chunk-relative line n.
func (d *Decoder) reportLine(n int, err error) {
	if n > 0 && len(bytes.Trim([]byte(lineText(d.chunk, n)), " \t")) == 0 && !d.crlf[n] {
		// Kapacitor ignores lines of only spaces and tabs; the library
		// rejects a tab there (lineprotocol.md §1).
		return
	}
	d.bad++
	d.lastLine = n
	if d.OnError == nil {
		return
	}
	le := &LineError{Err: err}
	if n > 0 {
		le.Line = d.lineBase + n
		le.Text = lineText(d.chunk, n)
	}
	d.OnError(le)
}

// lineText returns 1-based line n of buf, shortened for messages.
func lineText(buf []byte, n int) string {
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(buf, '\n')
		if j < 0 {
			return ""
		}
		buf = buf[j+1:]
	}
	if j := bytes.IndexByte(buf, '\n'); j >= 0 {
		buf = buf[:j]
	}
	buf = bytes.TrimSuffix(buf, []byte{'\r'})
	const max = 200
	if len(buf) > max {
		return string(buf[:max]) + "..."
	}
	return string(buf)
}
