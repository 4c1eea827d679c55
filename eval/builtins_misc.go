package eval

import (
	"fmt"
	"math"
)

// Miscellaneous functions (lambda.md §11.5).

func init() {
	ifSigs := []signature{}
	for _, k := range []Kind{Float, Int, String, Bool, Regex, Time, Duration} {
		ifSigs = append(ifSigs, sig(k, Bool, k, k))
	}
	register(
		// isPresent is the only function that accepts a missing argument.
		&builtin{name: "isPresent", pure: true,
			sigs: []signature{sig(Bool, Missing), sig(Bool, Bool), sig(Bool, String), sig(Bool, Int), sig(Bool, Float)},
			call: func(_ *Expr, _ Scope, a []Value) (Value, error) { return boolVal(a[0].Kind != Missing), nil }},
		// if evaluates both branches (arguments are eager); the overloads
		// require both branches of one kind.
		&builtin{name: "if", pure: true, sigs: ifSigs,
			call: func(_ *Expr, _ Scope, a []Value) (Value, error) {
				if a[0].Bool() {
					return a[1], nil
				}
				return a[2], nil
			}},
		&builtin{name: "humanBytes", pure: true, sigs: []signature{sig(String, Float), sig(String, Int)},
			call: humanBytes},
	)
}

// humanBytes formats with SI units after truncating to uint64 (negative
// values wrap around), as Kapacitor's humanize.Bytes does.
func humanBytes(_ *Expr, _ Scope, a []Value) (Value, error) {
	var n uint64
	if a[0].Kind == Float {
		n = floatToUint64(a[0].Float())
	} else {
		n = uint64(a[0].Int())
	}
	return StringValue(formatBytes(n)), nil
}

// floatToUint64 is Go's uint64(f) conversion as amd64 performs it, without
// depending on the platform for out-of-range values.
func floatToUint64(f float64) uint64 {
	switch {
	case math.IsNaN(f):
		return 1 << 63
	case f >= 1<<64:
		return 1 << 63
	case f >= 1<<63:
		return uint64(int64(f-(1<<63))) | 1<<63
	case f <= -1<<63:
		return 1 << 63
	}
	return uint64(int64(f))
}

var byteUnits = []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}

// formatBytes is go-humanize's Bytes as Kapacitor links it (v1.0.x): one
// decimal below 10, rounded to a tenth first and then again by %.0f, so
// 123456789 prints as "124 MB". go-humanize v1.1.0 removed that double
// rounding and prints "123 MB", which is why this is not a dependency.
func formatBytes(s uint64) string {
	if s < 10 {
		return fmt.Sprintf("%d B", s)
	}
	e := math.Floor(math.Log(float64(s)) / math.Log(1000))
	if int(e) >= len(byteUnits) {
		e = float64(len(byteUnits) - 1)
	}
	v := math.Floor(float64(s)/math.Pow(1000, e)*10+0.5) / 10
	if v < 10 {
		return fmt.Sprintf("%.1f %s", v, byteUnits[int(e)])
	}
	return fmt.Sprintf("%.0f %s", v, byteUnits[int(e)])
}
