package lineproto

import (
	"bytes"
	"io"
	"slices"
)

// Reading: the input is cut into chunks of whole lines, each byte looked
// at once for newlines however long its line, and a line longer than the
// limit is skipped as it is read, never held: only its first bytes are
// kept, for the message. In the chunk it becomes an empty line (a
// placeholder "\n"), always the chunk's first line, so line numbers stay
// right and the decoder reports it before anything that follows it.

// DefaultMaxLineSize is the longest line the decoder takes when
// Decoder.MaxLineSize is 0: 4 MiB. InfluxDB's own limits on a write are
// counted in megabytes too; telegraf's metrics are lines of a few hundred
// bytes.
const DefaultMaxLineSize = 4 << 20

// longLine is a line longer than the limit.
type longLine struct {
	n    int    // its length in bytes, without the newline
	head []byte // its first bytes, at most maxQuoted
}

// lineReader cuts the input into chunks of whole lines.
type lineReader struct {
	r       io.Reader
	max     int       // the longest line kept, without its newline; < 0: no limit
	carry   []byte    // the bytes after the last chunk: a partial line, or what follows a long one
	pending *longLine // a long line to open the next chunk (its bytes are gone)
	skip    *longLine // a long line whose newline has not been read yet
	err     error     // a read error to return after the bytes read before it
}

func newLineReader(r io.Reader, maxLine int) *lineReader {
	return &lineReader{r: r, max: lineLimit(maxLine)}
}

// lineLimit is the limit in effect for Decoder.MaxLineSize n: 0 means
// DefaultMaxLineSize, any negative n no limit (-1).
func lineLimit(n int) int {
	switch {
	case n == 0:
		return DefaultMaxLineSize
	case n < 0:
		return -1
	}
	return n
}

// next reads the next chunk of whole lines into buf's storage: about size
// bytes, or fewer as soon as a read comes back short with a complete line
// in hand, so live input (tail -f | tickrun run) is decoded as it
// arrives. If the chunk opens with a placeholder for a line over the
// limit, long describes that line.
//
// At the end of the input it returns the rest with io.EOF: a last line
// without a newline is a line. On any other read error it returns the
// whole lines read before it with the error, and keeps the partial line
// after them (a cancelled read cuts a line; it is not a line), so a call
// after a transient error goes on where the input stopped.
func (lr *lineReader) next(buf []byte, size int) (chunk []byte, long *longLine, err error) {
	buf = buf[:0]
	if lr.pending != nil {
		long, lr.pending = lr.pending, nil
		buf = append(buf, '\n')
	}
	buf = append(buf, lr.carry...)
	lr.carry = lr.carry[:0]
	err, lr.err = lr.err, nil
	// Bytes before scanned have been looked at; lineStart is where the
	// line being read starts, lastNL the last newline (-1: none yet).
	first := btoi(long != nil)
	lineStart, scanned, lastNL := first, first, first-1
	if lr.skip != nil {
		lineStart, scanned = 0, 0 // the carry is empty: skipping reads anew
	}
	short := false
	for {
		if lr.skip != nil {
			var done bool
			buf, done, err = lr.skipLong(buf, err)
			if !done {
				if err == io.EOF { // the long line was the last: a line
					long, lr.skip = lr.skip, nil
					return append(buf[:0], '\n'), long, err
				}
				return buf[:0], nil, err
			}
			// buf is "\n" and what followed the long line's newline (err
			// came with it: no more reads).
			long, lr.skip = lr.skip, nil
			lineStart, scanned, lastNL = 1, 1, 0
		}
		if scanned < len(buf) {
			fresh := buf[scanned:]
			if f := bytes.IndexByte(fresh, '\n'); f >= 0 {
				l := bytes.LastIndexByte(fresh, '\n')
				if s, e := lr.firstLong(buf, lineStart, scanned+f, scanned+l); s >= 0 {
					h := lr.head(buf[s:e])
					if s > 0 {
						// Cut before it: it opens the next chunk.
						lr.pending = &longLine{n: e - s, head: h}
						lr.carry = append(lr.carry, buf[e+1:]...)
						lr.err = err
						return buf[:s], long, nil
					}
					// It opens this chunk (there is no placeholder yet).
					long = &longLine{n: e, head: h}
					buf = buf[:1+copy(buf[1:], buf[e+1:])]
					buf[0] = '\n'
					lineStart, scanned, lastNL = 1, 1, 0
					continue
				}
				lineStart, lastNL = scanned+l+1, scanned+l
			}
			scanned = len(buf)
			if lr.max >= 0 && len(buf)-lineStart > lr.max {
				skip := &longLine{n: len(buf) - lineStart, head: lr.head(buf[lineStart:])}
				if lineStart > 0 {
					lr.skip, lr.err = skip, err
					return buf[:lineStart], long, nil
				}
				lr.skip = skip // the whole buffer is the start of the long line
				buf = buf[:0]
				continue
			}
		}
		if err != nil {
			if err == io.EOF {
				return buf, long, err
			}
			lr.carry = append(lr.carry, buf[lastNL+1:]...)
			return buf[:lastNL+1], long, err
		}
		if (len(buf) >= size || short) && lastNL >= 0 {
			lr.carry = append(lr.carry, buf[lastNL+1:]...)
			return buf[:lastNL+1], long, nil
		}
		if cap(buf)-len(buf) < size/4 {
			buf = slices.Grow(buf, size/2)
		}
		want := cap(buf) - len(buf)
		var n int
		n, err = lr.r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		short = n < want
	}
}

// skipLong reads past the rest of the long line lr.skip, counting its
// bytes, in buf's storage. done reports that its newline was found: buf
// then holds "\n" and the bytes read after the newline, and err is what
// came with them. Otherwise the input ended with err first.
func (lr *lineReader) skipLong(buf []byte, err error) ([]byte, bool, error) {
	if cap(buf) < 64<<10 {
		buf = slices.Grow(buf[:0], 64<<10)
	}
	for err == nil {
		var n int
		n, err = lr.r.Read(buf[:cap(buf)])
		buf = buf[:n]
		i := bytes.IndexByte(buf, '\n')
		if h := lr.skip.head; len(h) < maxQuoted { // the message quotes the start
			end := len(buf)
			if i >= 0 {
				end = i
			}
			lr.skip.head = append(h, buf[:min(end, maxQuoted-len(h))]...)
		}
		if i >= 0 {
			lr.skip.n += i
			buf = buf[:1+copy(buf[1:], buf[i+1:])]
			buf[0] = '\n'
			return buf, true, err
		}
		lr.skip.n += n
	}
	return buf, false, err
}

// firstLong finds the first line over the limit among the lines that end
// in the newlines from firstNL to lastNL of buf, the first of them
// starting at from. It returns the line's start and the index of its
// newline, or -1, -1.
func (lr *lineReader) firstLong(buf []byte, from, firstNL, lastNL int) (int, int) {
	if lr.max < 0 {
		return -1, -1
	}
	if firstNL-from > lr.max {
		return from, firstNL
	}
	if lastNL-firstNL-1 <= lr.max {
		return -1, -1 // the lines in between are shorter than their span
	}
	for s := firstNL + 1; s <= lastNL; {
		e := s + bytes.IndexByte(buf[s:lastNL+1], '\n')
		if e-s > lr.max {
			return s, e
		}
		s = e + 1
	}
	return -1, -1
}

// head copies the first bytes of a long line, for its message.
func (lr *lineReader) head(line []byte) []byte {
	return bytes.Clone(line[:min(len(line), maxQuoted)])
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
