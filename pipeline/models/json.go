package models

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tickrun/tickrun/eval"
)

// This file writes JSON exactly as Go's encoding/json does with its
// defaults (HTML escaping on), which is what Kapacitor sends (alert.md
// §10.2), without reflection or allocation.

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string literal.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendJSONFloat appends f as encoding/json does: shortest round-trip
// digits, plain for 1e-6 <= |f| < 1e21, otherwise exponent form with the
// exponent's leading zero removed (1e-07 -> 1e-7). NaN and Inf are not
// valid JSON; ok is false for them.
func AppendJSONFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

// AppendJSONValue appends a field value. ok is false for NaN/Inf.
func AppendJSONValue(b []byte, v eval.Value) ([]byte, bool) {
	switch v.Kind {
	case eval.Float:
		return AppendJSONFloat(b, v.Float())
	case eval.Int:
		return strconv.AppendInt(b, v.Int(), 10), true
	case eval.String:
		return AppendJSONString(b, v.Str()), true
	case eval.Bool:
		return strconv.AppendBool(b, v.Bool()), true
	case eval.Duration:
		return strconv.AppendInt(b, int64(v.Duration()), 10), true
	case eval.Time:
		return AppendJSONTime(b, v.UnixNano()), true
	case eval.Regex:
		return AppendJSONString(b, v.Regexp().String()), true
	}
	return append(b, "null"...), true
}

// AppendJSONTags appends tags as a JSON object, in their order.
func AppendJSONTags(b []byte, tags []Tag) []byte {
	b = append(b, '{')
	for i, t := range tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, t.Key)
		b = append(b, ':')
		b = AppendJSONString(b, t.Value)
	}
	return append(b, '}')
}

// AppendJSONTime appends a time as encoding/json does for time.Time:
// RFC 3339 with nanoseconds, trailing zeros removed, in UTC.
func AppendJSONTime(b []byte, ns int64) []byte {
	b = append(b, '"')
	b = time.Unix(0, ns).UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// FormatValue prints a value the way Go's fmt %v (and so text/template)
// prints the corresponding Go value.
func FormatValue(v eval.Value) string {
	switch v.Kind {
	case eval.Float:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case eval.Int:
		return strconv.FormatInt(v.Int(), 10)
	case eval.String:
		return v.Str()
	case eval.Bool:
		return strconv.FormatBool(v.Bool())
	case eval.Duration:
		return v.Duration().String()
	case eval.Time:
		return v.Time().String()
	case eval.Regex:
		return v.Regexp().String()
	}
	return "<missing>"
}
