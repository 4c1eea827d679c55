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

// Decoder reads InfluxDB line protocol and yields points, correcting the
// places where line-protocol/v2 is more lenient than Kapacitor
// (lineprotocol.md §8): unsigned integers, CRLF line ends, string escapes
// other than \" and \\, duplicate tag keys (rejected), duplicate field
// keys (last wins) and non-finite floats (rejected). A bad line is
// reported through OnError and skipped; the following lines flow on.
//
// Set the fields before the first call to Next. The Decoder reuses one
// Point: the point returned by Next is valid until the next call.
type Decoder struct {
	// Database and RP are attached to every point.
	Database, RP string
	// Precision is the unit of timestamps; "" means nanoseconds.
	Precision Precision
	// Now supplies the time of points without a timestamp, read once per
	// chunk of input; nil means time.Now.
	Now func() time.Time
	// OnError receives the bad lines, in input order, up to MaxReported
	// of them; nil drops them silently. BadLines counts them all.
	OnError func(*LineError)
	// MaxReported is how many bad lines go to OnError; the last of them
	// has LineError.Last set, later ones are only counted (Unreported).
	// 0 means DefaultMaxReported; negative means no cap.
	MaxReported int
	// MaxLineSize is the longest line taken, in bytes without its
	// newline. A longer line is a bad line (ErrLineTooLong, with its
	// length), skipped to its newline without being held in memory.
	// 0 means DefaultMaxLineSize (4 MiB); negative means no limit, the
	// line is then held whole however long it is.
	MaxLineSize int
	// OnPrecisionHint is called at most once, when the first timestamp
	// written in the input is no time between 2000 and 2100 in Precision:
	// the input is probably written in another unit (see PrecisionHint).
	// nil ignores it; PrecisionHint returns it either way.
	OnPrecisionHint func(*PrecisionHint)
	// Workers is how many goroutines decode chunks of input in parallel;
	// points and errors still come out in input order. 0 or 1 decodes in
	// the caller's goroutine.
	Workers int

	r        *bufio.Reader
	lr       *lineReader // cuts r into chunks; made by the first read
	chunk    []byte      // whole lines being decoded
	fixed    []byte      // chunk with string escapes rewritten, when needed
	buf      []byte      // the bytes the decoder reads (chunk or fixed)
	dec      *lineprotocol.Decoder
	lineBase int   // lines before the current chunk
	now      int64 // default time of the current chunk
	eof      bool
	readErr  error        // a read error, returned once the chunk read with it is done
	crlf     map[int]bool // chunk-relative line numbers ending in \r\n
	intern   map[string]string
	slots    []string // the strings last seen per place in a line (see slot)
	point    models.Point
	lastLine int // chunk-relative line of the last error reported
	par      *parallel
	cursor   lineCursor // finds lines of d.chunk by number (errors.go)
	bufLines lineCursor // finds lines of d.buf by offset

	bad, reported, points int
	timeChecked           bool // the first written timestamp was looked at
	hint                  *PrecisionHint

	fast     bool // decoding d.buf line by line (decode_fast.go)
	fastPos  int  // offset of the next line in d.buf
	fastLine int  // chunk-relative number of the last line taken
	noFast   bool // tests: always decode with the library
	// sortedFields is the number of fields of the last line the fast path
	// decoded when they came sorted with unique keys; -1 if not.
	sortedFields int
	// tail holds an input of ResetBytes that lacks its last newline.
	tail []byte
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

// ResetBytes makes d decode data, a whole input in memory (the body of
// one write or broker message), from its first line, keeping d's buffers
// and settings: decoding many inputs this way allocates nothing per
// input, where a NewDecoder per input costs its 64 KiB reader and 1 MiB
// chunk, and the lines are decoded where they are, not copied. Line
// numbers and counters start again. Lines are held to MaxLineSize as
// NewDecoder's are: an input with a line over it is read as a stream,
// which reports that line and skips it.
func (d *Decoder) ResetBytes(data []byte) {
	d.bad, d.reported, d.points = 0, 0, 0
	d.readErr, d.dec, d.fast = nil, nil, false
	d.timeChecked, d.hint = false, nil
	maxLine := lineLimit(d.MaxLineSize)
	if maxLine >= 0 && hasLongLine(data, maxLine) {
		// Rare: the streaming path cuts the long line out. Its chunks
		// are its own storage, never data's.
		br := bytes.NewReader(data)
		if d.r == nil {
			d.r = bufio.NewReaderSize(br, 64<<10)
		} else {
			d.r.Reset(br)
		}
		d.lr = newLineReader(d.r, d.MaxLineSize)
		d.chunk, d.lineBase, d.eof = nil, 0, false
		return
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		d.tail = append(append(d.tail[:0], data...), '\n')
		data = d.tail
	}
	d.loadChunk(data, 0, nil, maxLine)
}

// hasLongLine reports whether a line of data (a last one may lack its
// newline) is longer than max bytes.
func hasLongLine(data []byte, max int) bool {
	for len(data) > max {
		i := bytes.IndexByte(data, '\n')
		if i < 0 || i > max {
			return true
		}
		data = data[i+1:]
	}
	return false
}

// BadLines returns how many lines were rejected so far, reported or not.
func (d *Decoder) BadLines() int { return d.bad }

// Unreported returns how many of the bad lines did not go to OnError
// (past MaxReported, or all of them when OnError is nil).
func (d *Decoder) Unreported() int { return d.bad - d.reported }

// Points returns how many points Next returned so far. At the end of the
// input, Points() == 0 && BadLines() > 0 means every line was bad.
func (d *Decoder) Points() int { return d.points }

// Next returns the next well-formed point, or nil at the end of the input.
// A read error other than EOF is returned after the points of the whole
// lines read before it; the line it cut short is not a line (a cancelled
// read, context.Canceled, is not the end of the input).
func (d *Decoder) Next() (*models.Point, error) {
	if d.Workers > 1 {
		return d.nextParallel()
	}
	for {
		if d.fast {
			if p := d.nextFast(); p != nil {
				return d.yield(p, d.now), nil
			}
			d.fast = false
			d.dec = nil
		}
		if d.dec == nil || !d.dec.Next() {
			d.dec = nil
			if err := d.readErr; err != nil {
				d.readErr = nil
				return nil, err
			}
			if d.eof {
				return nil, nil
			}
			d.readChunk()
			continue
		}
		if err := d.decodeEntry(); err != nil {
			d.report(err)
			continue
		}
		return d.yield(&d.point, d.now), nil
	}
}

// yield counts p, which Next returns; now is the time given to points
// without a timestamp in p's chunk.
func (d *Decoder) yield(p *models.Point, now int64) *models.Point {
	d.points++
	if !d.timeChecked {
		d.checkPoint(p, now)
	}
	return p
}

// readChunk reads whole lines into d.chunk and starts decoding them; a
// read error is kept for when they are done.
func (d *Decoder) readChunk() {
	d.lineBase += bytes.Count(d.chunk, []byte{'\n'}) // lines of the previous chunk
	if d.lr == nil {
		d.lr = newLineReader(d.r, d.MaxLineSize)
	}
	var long *longLine
	var err error
	d.chunk, long, err = d.lr.next(d.chunk[:0], chunkSize)
	if err == io.EOF {
		d.eof = true
	} else if err != nil {
		d.readErr = err
	}
	d.startChunk(long)
}

// startChunk starts decoding d.chunk, which opens with a placeholder for
// long if it is not nil.
func (d *Decoder) startChunk(long *longLine) {
	if d.Now != nil {
		d.now = d.Now().UnixNano()
	} else {
		d.now = time.Now().UnixNano()
	}
	d.buf = d.chunk
	d.cursor, d.bufLines = lineCursor{}, lineCursor{}
	d.lastLine = 0
	clear(d.crlf)
	if bytes.IndexByte(d.chunk, '\\') >= 0 || bytes.IndexByte(d.chunk, '\r') >= 0 {
		d.buf = d.fixChunk()
	}
	if !d.noFast && plainChunk(d.buf) {
		d.fast, d.fastPos, d.fastLine = true, 0, 0
	} else {
		d.dec = lineprotocol.NewDecoderWithBytes(d.buf)
	}
	if long != nil {
		d.badLine(1, long.head, long.n, &LineTooLongError{Length: long.n, Limit: d.lr.max})
	}
	for _, n := range slices.Sorted(maps.Keys(d.crlf)) {
		d.reportLine(n, errors.New("carriage return in the line (CRLF input?); Kapacitor takes it for data and rejects the line"))
	}
	d.lastLine = 0
}

// loadChunk makes d decode data, whole lines starting after line lineBase
// (opening with a placeholder for long, if not nil), and nothing else.
func (d *Decoder) loadChunk(data []byte, lineBase int, long *longLine, maxLine int) {
	d.chunk, d.lineBase, d.eof = data, lineBase, true
	if d.lr == nil || d.lr.max != maxLine {
		d.lr = &lineReader{max: maxLine} // for the limit in messages
	}
	d.startChunk(long)
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
	blank := true       // the entry has only blanks so far
	for i := 0; i < len(in); i++ {
		c := in[i]
		atStart := valueStart
		valueStart = false
		wasBlank := blank
		blank = blank && (c == ' ' || c == '\t')
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
			startLine, blank = line, true
		case (c == ' ' || c == '\t') && state == measurement && wasBlank:
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
			f, ok := parseFloat(raw)
			if !ok {
				return d.entryError(errors.New("invalid number"), raw, m)
			}
			v = eval.FloatValue(f)
		case lineprotocol.Int:
			i, err := strconv.ParseInt(string(raw), 10, 64)
			if errors.Is(err, strconv.ErrRange) {
				return d.entryError(fmt.Errorf("unable to parse integer %s: value out of range", raw), raw, m)
			} else if err != nil {
				return d.entryError(errors.New("invalid number"), raw, m)
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
			return d.entryError(&TimeRangeError{Timestamp: t, Precision: d.Precision}, tb, m)
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

// parseFloat parses a float field value as Kapacitor does
// (lineprotocol.md §3): decimal digits with an optional sign, point and
// exponent, and a finite value. strconv.ParseFloat alone would also take
// Inf, NaN, hex floats and underscores, which InfluxDB's parser rejects
// as invalid numbers (the fast path, fastValue, never takes them).
func parseFloat(b []byte) (float64, bool) {
	for _, c := range b {
		if (c < '0' || c > '9') && c != '.' && c != 'e' && c != 'E' && c != '-' && c != '+' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	return f, err == nil // out of range (1e999) is an error, so f is finite
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
