package lineproto

import (
	"bytes"
	"errors"
	"math"
	"strconv"

	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/models"
)

// The fast path of the decoder. Most input is plain: no escapes, no string
// fields, no comments, ASCII keys. For a chunk without '\\', '"', '\r' or
// '#' every line ends at its newline, so lines can be decoded one by one;
// fastLine decodes the plain ones itself, and hands any line it is not sure
// of to line-protocol/v2, which then decides (and words the error). A
// differential test and fuzz target check that both paths agree.

// plainChunk reports whether the chunk can take the fast path.
func plainChunk(b []byte) bool {
	return bytes.IndexByte(b, '\\') < 0 && bytes.IndexByte(b, '"') < 0 &&
		bytes.IndexByte(b, '\r') < 0 && bytes.IndexByte(b, '#') < 0
}

// nextFast returns the next point of a plain chunk, nil at its end.
func (d *Decoder) nextFast() *models.Point {
	for d.fastPos < len(d.buf) {
		rest := d.buf[d.fastPos:]
		end := bytes.IndexByte(rest, '\n')
		if end < 0 {
			end = len(rest)
		}
		line, withNL := rest[:end], rest[:min(end+1, len(rest))]
		d.fastPos += end + 1
		d.fastLine++
		if len(line) == 0 || (line[0] == ' ' || line[0] == '\t') && len(bytes.Trim(line, " \t")) == 0 {
			continue
		}
		if d.fastParse(line) {
			return &d.point
		}
		// Not plain enough: the library decides.
		d.dec = lineprotocol.NewDecoderWithBytes(withNL)
		d.dec.Next()
		if err := d.decodeEntry(); err != nil {
			var de *lineprotocol.DecodeError
			if errors.As(err, &de) {
				d.reportLine(d.fastLine, de.Err)
			} else {
				d.report(err)
			}
			continue
		}
		return &d.point
	}
	return nil
}

// keyBytes marks the bytes that may appear unescaped in a measurement, tag
// key, tag value or field key on the fast path.
var keyBytes = func() (t [256]bool) {
	for c := '!'; c < 0x7f; c++ {
		t[c] = c != ',' && c != '=' && c != '"' && c != '\\'
	}
	return t
}()

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fastParse decodes a plain line into d.point, or returns false for the
// library to decode it.
func (d *Decoder) fastParse(line []byte) bool {
	sortedFields := d.sortedFields // of the last line (see newPoint)
	p := d.newPoint()
	i := 0
	// tok returns the token (a run of key bytes) at i as a string, and
	// whether it is the one seen at the same place of the last line: that
	// one is compared first, as a whole, which is cheaper than scanning
	// byte by byte; it matches only if a non-key byte follows it, exactly
	// where a scan would stop.
	tok := func(place int) (string, bool) {
		if place < len(d.slots) {
			s := d.slots[place]
			if n := i + len(s); len(s) > 0 && n < len(line) && string(line[i:n]) == s && !keyBytes[line[n]] {
				i = n
				return s, true
			}
		}
		j := i
		for i < len(line) && keyBytes[line[i]] {
			i++
		}
		if i == j {
			return "", false
		}
		return d.slot(place, line[j:i]), false
	}
	if p.Name, _ = tok(0); p.Name == "" {
		return false
	}
	for i < len(line) && line[i] == ',' {
		i++
		place := 1 + 2*len(p.Tags)
		if place+1 >= fieldSlots { // the places of field keys: leave it to the library
			return false
		}
		k, _ := tok(place)
		if k == "" || i >= len(line) || line[i] != '=' {
			return false
		}
		i++
		v, _ := tok(place + 1)
		if v == "" {
			return false
		}
		p.Tags = append(p.Tags, models.Tag{Key: k, Value: v})
	}
	if i >= len(line) || line[i] != ' ' || !models.SortTags(p.Tags) {
		return false
	}
	i++
	sameKeys := true
	for {
		n := len(p.Fields)
		k, same := tok(fieldSlots + n)
		if k == "" || i >= len(line) || line[i] != '=' {
			return false
		}
		sameKeys = sameKeys && same
		i++
		if n < cap(p.Fields) {
			p.Fields = p.Fields[:n+1]
		} else {
			p.Fields = append(p.Fields, models.Field{})
		}
		f := &p.Fields[n]
		f.Key = k
		// Most values are plain decimals, parsed as they are scanned;
		// anything else is delimited first, then parsed by fastValue.
		if x, end, ok := plainDecimal(line, i); ok && (end == len(line) || line[end] == ',' || line[end] == ' ') {
			f.Value.SetFloat(x)
			i = end
		} else {
			j := i
			for i < len(line) && line[i] != ',' && line[i] != ' ' {
				i++
			}
			if !fastValue(&f.Value, line[j:i]) {
				return false
			}
		}
		if i >= len(line) || line[i] == ' ' {
			break
		}
		i++ // ','
	}
	// The keys of the last line, in the same places, were sorted already.
	if !sameKeys || len(p.Fields) != sortedFields {
		sortedFields = len(p.Fields)
		if !models.FieldsSorted(p.Fields) {
			sortedFields = -1
			p.Fields = models.SortFields(p.Fields)
		}
	}
	if i >= len(line) {
		p.Timestamp = d.now
		d.sortedFields = sortedFields
		return true
	}
	i++ // ' '
	t, ok := fastInt(line[i:])
	if !ok {
		return false
	}
	if mult := d.Precision.Multiplier(); mult != 1 {
		c := t * mult
		if c/mult != t {
			return false
		}
		t = c
	}
	p.Timestamp = t
	d.sortedFields = sortedFields
	return true
}

// fastInt parses -?digits into an int64 (up to 19 digits, which a uint64
// holds); anything else, or out of range, is left to the library.
func fastInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case !neg && n <= math.MaxInt64:
		return int64(n), true
	case neg && n <= math.MaxInt64+1:
		return -int64(n), true
	}
	return 0, false
}

// plainDecimal parses the mantissa -?digits[.digits] at b[i:] and returns
// where it ends; ok reports that it has 1 to 15 digits, which x then holds
// exactly (what follows is the caller's to check).
func plainDecimal(b []byte, i int) (x float64, end int, ok bool) {
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	var m uint64
	start := i
	for ; i < len(b); i++ {
		d := b[i] - '0' // a byte: anything but a digit is above 9
		if d > 9 {
			break
		}
		m = m*10 + uint64(d)
	}
	digits, frac := i-start, 0
	if i < len(b) && b[i] == '.' {
		i++
		fs := i
		for ; i < len(b); i++ {
			d := b[i] - '0'
			if d > 9 {
				break
			}
			m = m*10 + uint64(d)
		}
		frac = i - fs
	}
	if digits+frac == 0 || digits+frac > 15 {
		return 0, i, false
	}
	// Exact: the mantissa (< 10^15 < 2^53) and the power of ten are exact
	// float64s, so one correctly rounded division gives what ParseFloat
	// gives (the fast path of strconv itself).
	x = float64(m) / pow10[frac]
	if neg {
		x = -x
	}
	return x, i, true
}

// fastValue parses a plain field value into v: a float
// (-?digits[.digits][e±digits]), an integer (-?digits i) or a boolean.
// Anything else (unsigned, strings, odd spellings) goes to the library:
// fastValue then returns false.
func fastValue(v *eval.Value, b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if c := b[0]; c != '-' && (c < '0' || c > '9') {
		return fastBool(v, b)
	}
	if b[len(b)-1] == 'i' {
		n, ok := fastInt(b[:len(b)-1])
		if ok {
			v.SetInt(n)
		}
		return ok
	}
	// -?digits[.digits][(e|E)[+-]digits], at least one mantissa digit;
	// plainDecimal takes the mantissa, exactly when it has at most 15
	// digits and no exponent follows.
	x, k, ok := plainDecimal(b, 0)
	if ok && k == len(b) {
		v.SetFloat(x)
		return true
	}
	if !bytes.ContainsAny(b[:k], "0123456789") {
		return false
	}
	if k < len(b) && (b[k] == 'e' || b[k] == 'E') {
		k++
		if k < len(b) && (b[k] == '+' || b[k] == '-') {
			k++
		}
		exp := 0
		for k < len(b) && b[k] >= '0' && b[k] <= '9' {
			k, exp = k+1, exp+1
		}
		if exp == 0 {
			return false
		}
	}
	if k != len(b) {
		return false
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return false
	}
	v.SetFloat(f)
	return true
}

// fastBool parses the spellings of a boolean line protocol accepts.
func fastBool(v *eval.Value, b []byte) bool {
	switch string(b) {
	case "t", "T", "true", "True", "TRUE":
		*v = eval.BoolValue(true)
		return true
	case "f", "F", "false", "False", "FALSE":
		*v = eval.BoolValue(false)
		return true
	}
	return false
}
