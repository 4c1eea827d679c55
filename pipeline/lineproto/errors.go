package lineproto

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
)

// DefaultMaxReported is how many bad lines go to Decoder.OnError when
// Decoder.MaxReported is 0, as many as a node logs errors.
const DefaultMaxReported = 20

// maxQuoted is the most of a bad line a LineError keeps: a 10 MB line is
// not echoed whole.
const maxQuoted = 200

// ErrLineTooLong is the reason of a line longer than Decoder.MaxLineSize;
// errors.Is(err, ErrLineTooLong) tells it.
var ErrLineTooLong = errors.New("line too long")

// LineTooLongError is the reason of a line longer than the limit.
type LineTooLongError struct {
	Length int // the line's length in bytes, without its newline
	Limit  int // Decoder.MaxLineSize in effect
}

// Error names both lengths and the flag that raises the limit.
func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("line too long: %d bytes, the limit is %d (--max-line-size)", e.Length, e.Limit)
}

// Is makes errors.Is(e, ErrLineTooLong) true.
func (e *LineTooLongError) Is(target error) bool { return target == ErrLineTooLong }

// TimeRangeError is the reason of a line whose timestamp, scaled by the
// precision, is outside the nanosecond range of an int64.
type TimeRangeError struct {
	Timestamp int64     // as written
	Precision Precision // the decoder's
}

// Error says so in Kapacitor's words and names the precision the
// timestamp looks written in, if one fits.
func (e *TimeRangeError) Error() string {
	msg := fmt.Sprintf("time %d is outside the range", e.Timestamp)
	if p := likelyPrecision(e.Timestamp); p != "" {
		msg += fmt.Sprintf(" in precision %s (it looks like %s: use --precision %s)", e.Precision.name(), p.unit(), p)
	}
	return msg
}

// LineError is a line of line protocol that could not be decoded.
type LineError struct {
	Line int    // 1-based line number in the input; 0 if unknown
	Text string // the start of the line as read: at most 200 bytes, raw (Error escapes it)
	Len  int    // the line's length in bytes, without its newline: more than len(Text) if Text was cut
	Err  error  // why it was rejected
	// Last marks the last bad line reported (Decoder.MaxReported): the
	// later ones are counted, not reported.
	Last bool
}

// Error returns Kapacitor's wording with the line number in front. The
// text (and the reason) is quoted with control bytes, invalid UTF-8 and non-graphic
// characters escaped (\x1b, \u202e), so a line of binary garbage cannot
// drive the terminal; a backslash stays as it is, since line protocol is
// full of them. A cut text ends in "..." and the line's length follows.
func (e *LineError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "line %d: unable to parse '", e.Line)
	writeEscaped(&b, e.Text)
	if e.Len > len(e.Text) {
		fmt.Fprintf(&b, "...' (%d bytes, the first %d shown)", e.Len, len(e.Text))
	} else {
		b.WriteByte('\'')
	}
	b.WriteString(": ")
	writeEscaped(&b, fmt.Sprint(e.Err))
	if e.Last {
		b.WriteString(" (further bad lines are counted, not reported)")
	}
	return b.String()
}

// Unwrap returns the reason.
func (e *LineError) Unwrap() error { return e.Err }

// writeEscaped writes s with what could act on a terminal escaped.
func writeEscaped(b *strings.Builder, s string) {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f || c == '\t' {
			b.WriteByte(c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case r == utf8.RuneError && n <= 1, c < 0x80:
			fmt.Fprintf(b, `\x%02x`, c)
			n = 1
		case strconv.IsGraphic(r):
			b.WriteString(s[i : i+n])
		case r <= 0xffff:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			fmt.Fprintf(b, `\U%08x`, r)
		}
		i += n
	}
}

// cutText returns the start of a line for a LineError: at most maxQuoted
// bytes, not cutting a UTF-8 sequence in two.
func cutText(line []byte) string {
	if len(line) <= maxQuoted {
		return string(line)
	}
	n := maxQuoted
	for k := 0; k < utf8.UTFMax && n > 0 && !utf8.RuneStart(line[n]); k++ {
		n--
	}
	if !utf8.RuneStart(line[n]) {
		n = maxQuoted // not UTF-8 there anyway
	}
	return string(line[:n])
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

// report turns a decoding error into a bad line.
func (d *Decoder) report(err error) {
	var de *lineprotocol.DecodeError
	var ee *entryErr
	switch {
	case errors.As(err, &de):
		d.reportLine(int(de.Line), de.Err)
	case errors.As(err, &ee) && ee.offset >= 0:
		d.reportLine(d.bufLines.lineOf(d.buf, ee.offset), ee.err)
	case errors.As(err, &ee):
		// Nothing of the entry points into the buffer (every part had
		// escapes): it is the line after the last one located.
		d.reportLine(d.lastLine+1, ee.err)
	default:
		d.reportLine(0, err)
	}
}

// reportLine reports chunk-relative line n (0: unknown) as bad.
func (d *Decoder) reportLine(n int, err error) {
	var line []byte
	if n > 0 {
		line = d.cursor.line(d.chunk, n)
		if len(bytes.Trim(line, " \t")) == 0 && !d.crlf[n] {
			// Kapacitor ignores lines of only spaces and tabs; the library
			// rejects a tab there (lineprotocol.md §1).
			return
		}
	}
	d.lastLine = n
	d.badLine(n, line, len(line), err)
}

// badLine counts chunk-relative line n (0: unknown), whose first bytes
// are text and whose length is length, and reports it unless the cap is
// reached.
func (d *Decoder) badLine(n int, text []byte, length int, err error) {
	if d.OnError == nil || !d.reportable() {
		d.bad++
		d.checkError(err)
		return
	}
	le := &LineError{Err: err}
	if n > 0 {
		le.Line, le.Text, le.Len = d.lineBase+n, cutText(text), length
	}
	d.forward(le)
}

// forward counts le and hands it to OnError unless the cap is reached.
func (d *Decoder) forward(le *LineError) {
	d.bad++
	d.checkError(le.Err)
	if d.OnError == nil || !d.reportable() {
		return
	}
	d.reported++
	le.Last = d.reported == d.MaxReported || d.MaxReported == 0 && d.reported == DefaultMaxReported
	d.OnError(le)
}

// reportable reports whether another bad line may go to OnError.
func (d *Decoder) reportable() bool {
	switch {
	case d.MaxReported < 0:
		return true
	case d.MaxReported == 0:
		return d.reported < DefaultMaxReported
	}
	return d.reported < d.MaxReported
}

// lineCursor finds the lines of a buffer by number or by offset, scanning
// on from the line found last: errors come in input order, so a chunk is
// scanned about once however many of its lines are bad.
type lineCursor struct {
	n, off int // line n (1-based) starts at off; n == 0: not set
}

// line returns line n of buf without its newline (and a \r before it),
// or nil if buf has fewer lines.
func (c *lineCursor) line(buf []byte, n int) []byte {
	if c.n == 0 || n < c.n {
		c.n, c.off = 1, 0
	}
	for c.n < n {
		j := bytes.IndexByte(buf[c.off:], '\n')
		if j < 0 {
			return nil
		}
		c.off += j + 1
		c.n++
	}
	l := buf[c.off:]
	if j := bytes.IndexByte(l, '\n'); j >= 0 {
		l = l[:j]
	}
	return bytes.TrimSuffix(l, []byte{'\r'})
}

// lineOf returns the number of the line of buf holding offset off.
func (c *lineCursor) lineOf(buf []byte, off int) int {
	if c.n == 0 || off < c.off {
		c.n, c.off = 1, 0
	}
	seg := buf[c.off:off]
	if k := bytes.Count(seg, []byte{'\n'}); k > 0 {
		c.n += k
		c.off += bytes.LastIndexByte(seg, '\n') + 1
	}
	return c.n
}
