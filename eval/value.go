package eval

import (
	"math"
	"regexp"
	"time"
)

// Kind is the dynamic type of a Value. Its String form is the type name
// Kapacitor uses in messages (lambda.md §3).
type Kind uint8

// The kinds of lambda values.
const (
	Missing  Kind = iota // an absent field or tag
	Float                // float64
	Int                  // int64
	String               // string
	Bool                 // bool
	Duration             // time.Duration
	Time                 // instant, UTC
	Regex                // *regexp.Regexp
)

var kindNames = [...]string{
	Missing: "missing", Float: "float", Int: "int", String: "string", Bool: "boolean",
	Duration: "duration", Time: "time", Regex: "regex",
}

// String returns the type name as Kapacitor prints it.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "invalid type"
}

// Value is a lambda value: a small tagged union that never boxes numbers,
// so evaluating a lambda over a point does not allocate.
type Value struct {
	Kind Kind
	num  uint64         // bits of the float, int, bool, duration or time (unix ns)
	str  string         // the string
	re   *regexp.Regexp // the regex
}

// FloatValue returns a float Value.
func FloatValue(f float64) Value { return Value{Kind: Float, num: math.Float64bits(f)} }

// IntValue returns an int Value.
func IntValue(i int64) Value { return Value{Kind: Int, num: uint64(i)} }

// StringValue returns a string Value.
func StringValue(s string) Value { return Value{Kind: String, str: s} }

// BoolValue returns a bool Value.
func BoolValue(b bool) Value {
	v := Value{Kind: Bool}
	if b {
		v.num = 1
	}
	return v
}

// DurationValue returns a duration Value.
func DurationValue(d time.Duration) Value { return Value{Kind: Duration, num: uint64(d)} }

// TimeValue returns a time Value from nanoseconds since the Unix epoch.
func TimeValue(unixNano int64) Value { return Value{Kind: Time, num: uint64(unixNano)} }

// RegexValue returns a regex Value.
func RegexValue(re *regexp.Regexp) Value { return Value{Kind: Regex, re: re} }

// SetFloat makes v the Float f in place, like *v = FloatValue(f) but
// without rewriting the string and regex parts when they are already
// empty: decoders fill reused points with it.
func (v *Value) SetFloat(f float64) {
	v.clearRefs()
	v.Kind, v.num = Float, math.Float64bits(f)
}

// SetInt makes v the Int i in place (see SetFloat).
func (v *Value) SetInt(i int64) {
	v.clearRefs()
	v.Kind, v.num = Int, uint64(i)
}

func (v *Value) clearRefs() {
	if v.str != "" || v.re != nil {
		v.str, v.re = "", nil
	}
}

// Float returns the float64 of a Float value.
func (v Value) Float() float64 { return math.Float64frombits(v.num) }

// Int returns the int64 of an Int value.
func (v Value) Int() int64 { return int64(v.num) }

// Str returns the string of a String value.
func (v Value) Str() string { return v.str }

// Bool returns the bool of a Bool value.
func (v Value) Bool() bool { return v.num != 0 }

// Duration returns the duration of a Duration value.
func (v Value) Duration() time.Duration { return time.Duration(v.num) }

// UnixNano returns the nanoseconds since the epoch of a Time value.
func (v Value) UnixNano() int64 { return int64(v.num) }

// Time returns a Time value as a UTC time.Time.
func (v Value) Time() time.Time { return time.Unix(0, int64(v.num)).UTC() }

// Regexp returns the regex of a Regex value.
func (v Value) Regexp() *regexp.Regexp { return v.re }

// Equal reports whether two values have the same kind and the same content
// (Go interface equality as changeDetect uses it: 3.0 and 3i differ).
func (v Value) Equal(w Value) bool {
	if v.Kind != w.Kind {
		return false
	}
	switch v.Kind {
	case String:
		return v.str == w.str
	case Regex:
		return v.re == w.re
	case Float:
		return v.Float() == w.Float()
	}
	return v.num == w.num
}

// Interface returns the value as a Go value (float64, int64, string, bool,
// time.Duration, time.Time, *regexp.Regexp, or nil for Missing). It is for
// templates and tests, not for the hot path.
func (v Value) Interface() any {
	switch v.Kind {
	case Float:
		return v.Float()
	case Int:
		return v.Int()
	case String:
		return v.str
	case Bool:
		return v.Bool()
	case Duration:
		return v.Duration()
	case Time:
		return v.Time()
	case Regex:
		return v.re
	}
	return nil
}

// Scope is what a lambda reads while it runs: the current point.
// Implementations must not allocate on the success path.
type Scope interface {
	// Lookup returns the field or tag called name, Missing if the point has
	// neither, or an error if it has both (Kapacitor: "cannot have field and
	// tags with same name").
	Lookup(name string) (Value, error)
	// LookupHint is Lookup given where this lookup site found the name
	// last time (*hint, an index the scope defines); the scope may try it
	// first and must update it. A point's fields keep their order from
	// point to point, so a hint saves the scan. Scopes without an order
	// simply call Lookup.
	LookupHint(name string, hint *int) (Value, error)
	// LookupField is the fast path of LookupHint for the common case: it
	// returns the value of the field called name when the scope finds it
	// at once (at *hint) and no tag has the same name, and nil otherwise;
	// the caller then uses LookupHint. The value is only read, and only
	// during the evaluation. Scopes without a fast path return nil.
	LookupField(name string, hint *int) *Value
	// Time returns the point's time in nanoseconds since the Unix epoch.
	Time() int64
}
