package eval

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/tickrun/tickrun/ast"
)

// Duration units of InfluxQL, largest first.
var durationUnits = []struct {
	unit string
	d    time.Duration
}{
	{"w", 7 * 24 * time.Hour},
	{"d", 24 * time.Hour},
	{"h", time.Hour},
	{"m", time.Minute},
	{"s", time.Second},
	{"ms", time.Millisecond},
	{"u", time.Microsecond},
}

// FormatDuration prints d in InfluxQL form, as string(duration) does: the
// number of the largest unit among w d h m s ms u that divides d exactly,
// else nanoseconds with "ns"; "0s" for zero (90s → "90s", 7d → "1w",
// 1500ms → "1500ms").
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	for _, u := range durationUnits {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.unit
		}
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}

// ErrInvalidDuration is returned by ParseDuration for text that is not an
// InfluxQL duration.
var ErrInvalidDuration = errors.New("invalid duration")

// ParseDuration parses an InfluxQL duration as duration(string, unit) does:
// one or more integer-unit pairs (units ns u µ ms s m h d w), optionally
// preceded by "-"; "1h30m" is accepted, "1.5h" and "10" are not.
func ParseDuration(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, ErrInvalidDuration
	}
	neg := false
	i := 0
	if s[0] == '-' {
		neg = true
		i++
	}
	var d time.Duration
	for i < len(s) {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i >= len(s) || i == start {
			return 0, ErrInvalidDuration
		}
		n, err := strconv.ParseInt(s[start:i], 10, 64)
		if err != nil {
			return 0, ErrInvalidDuration
		}
		var unit time.Duration
		switch {
		case strings.HasPrefix(s[i:], "ns"):
			unit, i = time.Nanosecond, i+2
		case strings.HasPrefix(s[i:], "ms"):
			unit, i = time.Millisecond, i+2
		case strings.HasPrefix(s[i:], "µ"):
			unit, i = time.Microsecond, i+len("µ")
		default:
			switch s[i] {
			case 'u':
				unit = time.Microsecond
			case 's':
				unit = time.Second
			case 'm':
				unit = time.Minute
			case 'h':
				unit = time.Hour
			case 'd':
				unit = 24 * time.Hour
			case 'w':
				unit = 7 * 24 * time.Hour
			default:
				return 0, ErrInvalidDuration
			}
			i++
		}
		d += time.Duration(n) * unit
	}
	if neg {
		d = -d
	}
	return d, nil
}

// FormatFloat prints a float as string(float) does: the shortest decimal
// that reads back to the same value, never with an exponent (3.0 → "3").
func FormatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// String returns the value as a TICKscript literal ("5", "5.0", "'a'",
// "5m", "TRUE", "/re/"); time prints as RFC 3339 and missing as "<missing>".
// It is meant for messages and tests.
func (v Value) String() string {
	switch v.Kind {
	case Float:
		s := FormatFloat(v.Float())
		if !strings.ContainsAny(s, ".IN") {
			s += ".0"
		}
		return s
	case Int:
		return strconv.FormatInt(v.Int(), 10)
	case String:
		return quoteString(v.Str())
	case Bool:
		if v.Bool() {
			return "TRUE"
		}
		return "FALSE"
	case Duration:
		return FormatDuration(v.Duration())
	case Time:
		return v.Time().Format(time.RFC3339Nano)
	case Regex:
		if v.re == nil {
			return "//"
		}
		return "/" + strings.ReplaceAll(v.re.String(), "/", `\/`) + "/"
	}
	return "<missing>"
}

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// FormatExpr prints an expression back as TICKscript, on one line (it is
// ast.FormatExpr, kept here for callers of eval).
func FormatExpr(x ast.Expr) string { return ast.FormatExpr(x) }
