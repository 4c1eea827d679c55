package influx

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeError is a /query answer that is not the JSON InfluxDB sends.
type DecodeError struct {
	Offset int    // byte offset in the body where decoding stopped
	Msg    string // what was wrong there
}

// Error returns "invalid JSON at byte N: message".
func (e *DecodeError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

// maxDepth bounds the nesting of skipped values, as encoding/json does.
const maxDepth = 10000

// DecodeResponse decodes the body of a /query answer.
//
// It reads what Kapacitor's client reads (encoding/json with UseNumber
// into its response structs): the first JSON value of the body, what
// follows it ignored; keys matched case-insensitively, unknown keys
// skipped; a null where an object, array, string or bool is expected
// leaves it empty. Every number becomes a float64 (there is no integer
// kind, Kapacitor issue #1338) and a null cell stays a Null Value.
// Unlike Kapacitor it refuses arrays and objects inside a row, and numbers
// beyond float64's range, which InfluxDB never sends.
//
// It is a hand-written scanner rather than encoding/json because a batch
// task may decode large answers every few seconds; see BenchmarkDecode.
func DecodeResponse(body []byte) (*Response, error) {
	d := decoder{buf: body}
	r := &Response{}
	d.ws()
	if d.pos >= len(d.buf) {
		return nil, d.errorf("empty body")
	}
	if err := d.response(r); err != nil {
		return nil, err
	}
	return r, nil
}

// decoder is a cursor over a JSON body.
type decoder struct {
	buf      []byte
	pos      int
	depth    int
	slab     []Value           // the current chunk of cells; rows are slices of chunks
	rowbuf   [][]Value         // the rows of the series being decoded
	interned map[string]string // short string cells seen so far
	sbuf     []byte            // scratch for strings with escapes
}

func (d *decoder) errorf(format string, args ...any) *DecodeError {
	return &DecodeError{Offset: d.pos, Msg: fmt.Sprintf(format, args...)}
}

// ws skips JSON whitespace.
func (d *decoder) ws() {
	for d.pos < len(d.buf) {
		switch d.buf[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end of the body.
func (d *decoder) peek() byte {
	d.ws()
	if d.pos >= len(d.buf) {
		return 0
	}
	return d.buf[d.pos]
}

// found describes the next byte for an error message.
func (d *decoder) found() string {
	if d.pos >= len(d.buf) {
		return "end of body"
	}
	return strconv.QuoteRune(rune(d.buf[d.pos]))
}

// literal consumes word (true, false or null).
func (d *decoder) literal(word string) error {
	if len(d.buf)-d.pos < len(word) || string(d.buf[d.pos:d.pos+len(word)]) != word {
		return d.errorf("invalid literal, expected %s", word)
	}
	d.pos += len(word)
	return nil
}

// null consumes a null if one comes next.
func (d *decoder) null() (bool, error) {
	if d.peek() != 'n' {
		return false, nil
	}
	return true, d.literal("null")
}

// object reads {"key": value, ...}, calling field for each key with the
// cursor on its value; field must consume the value. A null is an empty
// object and makes isNull true.
func (d *decoder) object(what string, field func(key []byte) error) (isNull bool, err error) {
	switch d.peek() {
	case 'n':
		return true, d.literal("null")
	case '{':
		d.pos++
	default:
		return false, d.errorf("expected an object for %s, found %s", what, d.found())
	}
	if d.peek() == '}' {
		d.pos++
		return false, nil
	}
	for {
		if d.peek() != '"' {
			return false, d.errorf("expected a key in %s, found %s", what, d.found())
		}
		key, err := d.key()
		if err != nil {
			return false, err
		}
		if d.peek() != ':' {
			return false, d.errorf("expected ':' after a key in %s, found %s", what, d.found())
		}
		d.pos++
		d.ws()
		if err := field(key); err != nil {
			return false, err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return false, nil
		default:
			return false, d.errorf("expected ',' or '}' in %s, found %s", what, d.found())
		}
	}
}

// array reads [v, ...], calling elem with the cursor on each element; elem
// must consume it. A null is an empty array and makes isNull true.
func (d *decoder) array(what string, elem func() error) (isNull bool, err error) {
	switch d.peek() {
	case 'n':
		return true, d.literal("null")
	case '[':
		d.pos++
	default:
		return false, d.errorf("expected an array for %s, found %s", what, d.found())
	}
	if d.peek() == ']' {
		d.pos++
		return false, nil
	}
	for {
		d.ws()
		if err := elem(); err != nil {
			return false, err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return false, nil
		default:
			return false, d.errorf("expected ',' or ']' in %s, found %s", what, d.found())
		}
	}
}

// is reports whether key names name, case-insensitively as encoding/json
// matches struct fields.
func is(key []byte, name string) bool {
	return string(key) == name || strings.EqualFold(string(key), name)
}

func (d *decoder) response(r *Response) error {
	_, err := d.object("the response", func(key []byte) error {
		switch {
		case is(key, "results"):
			r.Results = r.Results[:0]
			isNull, err := d.array("results", func() error {
				var res Result
				if err := d.result(&res); err != nil {
					return err
				}
				r.Results = append(r.Results, res)
				return nil
			})
			if isNull {
				r.Results = nil
			}
			return err
		case is(key, "error"):
			return d.stringInto(&r.Err, "error")
		}
		return d.skip()
	})
	return err
}

func (d *decoder) result(res *Result) error {
	_, err := d.object("a result", func(key []byte) error {
		switch {
		case is(key, "series"):
			res.Series = res.Series[:0]
			isNull, err := d.array("series", func() error {
				var s Series
				if err := d.series(&s); err != nil {
					return err
				}
				res.Series = append(res.Series, s)
				return nil
			})
			if isNull {
				res.Series = nil
			}
			return err
		case is(key, "messages"):
			res.Messages = res.Messages[:0]
			isNull, err := d.array("messages", func() error {
				var m Message
				if err := d.message(&m); err != nil {
					return err
				}
				res.Messages = append(res.Messages, m)
				return nil
			})
			if isNull {
				res.Messages = nil
			}
			return err
		case is(key, "error"):
			return d.stringInto(&res.Err, "error")
		}
		// statement_id and partial too: Kapacitor's result has neither.
		return d.skip()
	})
	return err
}

func (d *decoder) message(m *Message) error {
	_, err := d.object("a message", func(key []byte) error {
		switch {
		case is(key, "level"):
			return d.stringInto(&m.Level, "level")
		case is(key, "text"):
			return d.stringInto(&m.Text, "text")
		}
		return d.skip()
	})
	return err
}

func (d *decoder) series(s *Series) error {
	_, err := d.object("a series", func(key []byte) error {
		switch {
		case is(key, "name"):
			return d.stringInto(&s.Name, "name")
		case is(key, "tags"):
			return d.tags(s)
		case is(key, "columns"):
			s.Columns = s.Columns[:0]
			isNull, err := d.array("columns", func() error {
				var c string
				if err := d.stringInto(&c, "a column"); err != nil {
					return err
				}
				s.Columns = append(s.Columns, c)
				return nil
			})
			if isNull {
				s.Columns = nil
			}
			return err
		case is(key, "values"):
			return d.values(s)
		case is(key, "partial"):
			return d.boolInto(&s.Partial, "partial")
		}
		return d.skip()
	})
	return err
}

// tags reads the tag object of a series into sorted, unique pairs. A
// repeated "tags" key merges into the tags already read, as decoding into
// a map does; a repeated tag key keeps its last value.
func (d *decoder) tags(s *Series) error {
	isNull, err := d.object("tags", func(key []byte) error {
		k := string(key)
		var v string
		if err := d.stringInto(&v, "a tag value"); err != nil {
			return err
		}
		s.Tags = setTag(s.Tags, k, v)
		return nil
	})
	if isNull {
		s.Tags = nil
	}
	return err
}

// setTag sets key to value in the sorted tags. InfluxDB sends tags sorted,
// so the usual case is an append.
func setTag(tags []Tag, key, value string) []Tag {
	n := len(tags)
	if n == 0 || tags[n-1].Key < key {
		return append(tags, Tag{key, value})
	}
	i := 0
	for i < n && tags[i].Key < key {
		i++
	}
	if tags[i].Key == key {
		tags[i].Value = value
		return tags
	}
	tags = append(tags, Tag{})
	copy(tags[i+1:], tags[i:])
	tags[i] = Tag{key, value}
	return tags
}

// values reads the rows of a series. The cells go to chunks of a slab
// shared by all rows, so a series costs a few allocations, not one per
// row, and a full chunk is replaced, never copied.
func (d *decoder) values(s *Series) error {
	d.rowbuf = d.rowbuf[:0]
	isNull, err := d.array("values", func() error {
		switch d.peek() {
		case 'n':
			if err := d.literal("null"); err != nil {
				return err
			}
			d.rowbuf = append(d.rowbuf, nil) // a null row
			return nil
		case '[':
			d.pos++
		default:
			return d.errorf("expected an array for a row, found %s", d.found())
		}
		start := len(d.slab)
		if d.peek() != ']' {
			for {
				d.ws()
				v, err := d.cell()
				if err != nil {
					return err
				}
				if len(d.slab) == cap(d.slab) {
					start = d.grow(start)
				}
				d.slab = append(d.slab, v)
				c := d.peek()
				if c == ',' {
					d.pos++
					continue
				}
				if c != ']' {
					return d.errorf("expected ',' or ']' in a row, found %s", d.found())
				}
				break
			}
		}
		d.pos++ // ']'
		if len(d.slab) == start {
			d.rowbuf = append(d.rowbuf, []Value{}) // an empty row, not a null one
		} else {
			d.rowbuf = append(d.rowbuf, d.slab[start:len(d.slab):len(d.slab)])
		}
		return nil
	})
	if err != nil {
		return err
	}
	if isNull {
		s.Values = nil
		return nil
	}
	s.Values = make([][]Value, len(d.rowbuf))
	copy(s.Values, d.rowbuf)
	clear(d.rowbuf) // drop the references for the next series
	return nil
}

// grow starts a new slab chunk, moving the cells of the row being read
// (from start) to it, and returns the row's new start.
func (d *decoder) grow(start int) int {
	size := 2 * cap(d.slab)
	switch {
	case size < 256:
		size = 256
	case size > 1<<16:
		size = 1 << 16
	}
	partial := d.slab[start:]
	if len(partial) >= size {
		size = 2 * len(partial)
	}
	chunk := make([]Value, len(partial), size)
	copy(chunk, partial)
	d.slab = chunk
	return 0
}

// cell reads one value of a row.
func (d *decoder) cell() (Value, error) {
	switch c := d.peek(); {
	case c == '"':
		s, err := d.cellString()
		return Value{Kind: String, S: s}, err
	case c == 'n':
		return Value{}, d.literal("null")
	case c == 't':
		return Value{Kind: Bool, B: true}, d.literal("true")
	case c == 'f':
		return Value{Kind: Bool}, d.literal("false")
	case c == '-' || c >= '0' && c <= '9':
		f, err := d.number()
		return Value{Kind: Float, F: f}, err
	case c == '[' || c == '{':
		return Value{}, d.errorf("unsupported value in a row: InfluxDB sends only numbers, strings, booleans and null")
	}
	return Value{}, d.errorf("expected a value, found %s", d.found())
}

// maxInterned bounds the strings cellString shares per answer.
const maxInterned = 1 << 16

// cellString reads a string cell. Short strings are interned for the
// answer: the time column repeats the same times in every series of a
// GROUP BY, and tag-like values repeat across rows.
func (d *decoder) cellString() (string, error) {
	start := d.pos + 1
	for i := start; i < len(d.buf) && i-start <= 64; i++ {
		c := d.buf[i]
		if c == '"' {
			b := d.buf[start:i]
			d.pos = i + 1
			if s, ok := d.interned[string(b)]; ok {
				return s, nil
			}
			s := string(b)
			if len(d.interned) < maxInterned {
				if d.interned == nil {
					d.interned = make(map[string]string)
				}
				d.interned[s] = s
			}
			return s, nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
	}
	return d.str()
}

// stringInto reads a string into *dst; null leaves *dst as it is.
func (d *decoder) stringInto(dst *string, what string) error {
	switch d.peek() {
	case '"':
		s, err := d.str()
		if err != nil {
			return err
		}
		*dst = s
		return nil
	case 'n':
		return d.literal("null")
	}
	return d.errorf("expected a string for %s, found %s", what, d.found())
}

// boolInto reads a bool into *dst; null leaves *dst as it is.
func (d *decoder) boolInto(dst *bool, what string) error {
	switch d.peek() {
	case 't':
		*dst = true
		return d.literal("true")
	case 'f':
		*dst = false
		return d.literal("false")
	case 'n':
		return d.literal("null")
	}
	return d.errorf("expected true or false for %s, found %s", what, d.found())
}

// number reads a JSON number as a float64.
func (d *decoder) number() (float64, error) {
	start := d.pos
	b := d.buf
	i := d.pos
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		d.pos = i
		return 0, d.errorf("invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.pos = i
			return 0, d.errorf("invalid number: no digit after '.'")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.pos = i
			return 0, d.errorf("invalid number: no digit in the exponent")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	d.pos = i
	if f, ok := fastFloat(b[start:i]); ok {
		return f, nil
	}
	f, err := strconv.ParseFloat(string(b[start:i]), 64)
	if err != nil {
		d.pos = start
		return 0, d.errorf("number %s out of range", b[start:i])
	}
	d.pos = i
	return f, nil
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fastFloat converts a number without exponent whose digits fit in 2^53
// (what InfluxDB sends for nearly every value) without strconv: the
// mantissa and the power of ten are exact, so one IEEE multiplication or
// division rounds correctly (Clinger's fast path, which strconv also
// takes). Anything else reports false and goes to strconv.ParseFloat.
func fastFloat(b []byte) (float64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg = true
		b = b[1:]
	}
	var m uint64
	digits, frac := 0, -1
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			digits++
			if frac >= 0 {
				frac++
			}
		case c == '.':
			frac = 0
		default:
			return 0, false // exponent
		}
	}
	if digits > 15 || m >= 1<<53 {
		return 0, false
	}
	f := float64(m)
	if frac > 0 {
		f /= pow10[frac]
	}
	if neg {
		f = -f
	}
	return f, true
}

// key reads an object key. Without escapes it is a slice of the body,
// valid until the next key is read.
func (d *decoder) key() ([]byte, error) {
	start := d.pos + 1
	for i := start; i < len(d.buf); i++ {
		c := d.buf[i]
		if c == '"' {
			d.pos = i + 1
			return d.buf[start:i], nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
	}
	s, err := d.str()
	return []byte(s), err
}

// str reads a JSON string. Invalid UTF-8 and unpaired surrogates become
// U+FFFD, as encoding/json makes them.
func (d *decoder) str() (string, error) {
	start := d.pos + 1
	i := start
	for i < len(d.buf) {
		c := d.buf[i]
		if c == '"' {
			d.pos = i + 1
			return string(d.buf[start:i]), nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	// Slow path: escapes, control characters or non-ASCII bytes.
	out := append(d.sbuf[:0], d.buf[start:i]...)
	for {
		if i >= len(d.buf) {
			d.pos = i
			return "", d.errorf("unterminated string")
		}
		c := d.buf[i]
		switch {
		case c == '"':
			d.pos = i + 1
			d.sbuf = out
			return string(out), nil
		case c < 0x20:
			d.pos = i
			return "", d.errorf("control character %q in a string", c)
		case c == '\\':
			if i+1 >= len(d.buf) {
				d.pos = i
				return "", d.errorf("unterminated string")
			}
			i++
			switch e := d.buf[i]; e {
			case '"', '\\', '/':
				out = append(out, e)
				i++
			case 'b':
				out = append(out, '\b')
				i++
			case 'f':
				out = append(out, '\f')
				i++
			case 'n':
				out = append(out, '\n')
				i++
			case 'r':
				out = append(out, '\r')
				i++
			case 't':
				out = append(out, '\t')
				i++
			case 'u':
				r, ok := hex4(d.buf, i+1)
				if !ok {
					d.pos = i
					return "", d.errorf("invalid \\u escape")
				}
				i += 5
				if utf16.IsSurrogate(r) {
					// A high surrogate followed by a low one is one rune;
					// anything else is U+FFFD and the next escape stands alone.
					if i+1 < len(d.buf) && d.buf[i] == '\\' && d.buf[i+1] == 'u' {
						if r2, ok := hex4(d.buf, i+2); ok {
							if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
								out = utf8.AppendRune(out, pair)
								i += 6
								break
							}
						}
					}
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
			default:
				d.pos = i
				return "", d.errorf("invalid escape \\%c in a string", e)
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(d.buf[i:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, d.buf[i:i+size]...)
			}
			i += size
		}
	}
}

// hex4 reads the four hex digits of a \u escape at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	return r, true
}

// skip consumes any JSON value.
func (d *decoder) skip() error {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxDepth {
		return d.errorf("nesting deeper than %d", maxDepth)
	}
	switch c := d.peek(); {
	case c == '{':
		_, err := d.object("an object", func([]byte) error { return d.skip() })
		return err
	case c == '[':
		_, err := d.array("an array", d.skip)
		return err
	case c == '"':
		_, err := d.str()
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		_, err := d.number()
		return err
	}
	return d.errorf("expected a value, found %s", d.found())
}
