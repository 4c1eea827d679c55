package udf

import (
	"fmt"
	"strconv"
	"time"
)

// EdgeType is what a UDF wants as input or provides as output: single
// points (StreamEdge) or whole batches (BatchEdge).
type EdgeType int

// The edge types, numbered as the protocol's EdgeType enum.
const (
	StreamEdge EdgeType = 0
	BatchEdge  EdgeType = 1
)

// String returns "stream" or "batch".
func (e EdgeType) String() string {
	switch e {
	case StreamEdge:
		return "stream"
	case BatchEdge:
		return "batch"
	}
	return "EdgeType(" + strconv.Itoa(int(e)) + ")"
}

// ValueType is the type of an option value or of a field value.
type ValueType int

// The value types, numbered as the protocol's ValueType enum. Fields are
// never Duration.
const (
	Bool     ValueType = 0
	Int      ValueType = 1
	Double   ValueType = 2
	String   ValueType = 3
	Duration ValueType = 4
)

// String returns the protocol's name of the type ("BOOL", "INT", "DOUBLE",
// "STRING", "DURATION"), the word Kapacitor's option errors use.
func (t ValueType) String() string {
	switch t {
	case Bool:
		return "BOOL"
	case Int:
		return "INT"
	case Double:
		return "DOUBLE"
	case String:
		return "STRING"
	case Duration:
		return "DURATION"
	}
	return "ValueType(" + strconv.Itoa(int(t)) + ")"
}

// Value is a typed value: an option value or a field value. Only the member
// of its Type is meaningful.
type Value struct {
	Type   ValueType
	Bool   bool    // Bool
	Int    int64   // Int; Duration in nanoseconds
	Double float64 // Double
	Str    string  // String
}

// BoolValue returns a Bool value.
func BoolValue(b bool) Value { return Value{Type: Bool, Bool: b} }

// IntValue returns an Int value.
func IntValue(i int64) Value { return Value{Type: Int, Int: i} }

// DoubleValue returns a Double value.
func DoubleValue(f float64) Value { return Value{Type: Double, Double: f} }

// StringValue returns a String value.
func StringValue(s string) Value { return Value{Type: String, Str: s} }

// DurationValue returns a Duration value.
func DurationValue(d time.Duration) Value { return Value{Type: Duration, Int: int64(d)} }

// Duration returns the value of a Duration value.
func (v Value) Duration() time.Duration { return time.Duration(v.Int) }

// String renders the value for messages: 3, 2.5, true, 'text', 10s.
func (v Value) String() string {
	switch v.Type {
	case Bool:
		return strconv.FormatBool(v.Bool)
	case Int:
		return strconv.FormatInt(v.Int, 10)
	case Double:
		return strconv.FormatFloat(v.Double, 'g', -1, 64)
	case String:
		return strconv.Quote(v.Str)
	case Duration:
		return v.Duration().String()
	}
	return fmt.Sprintf("Value(%d)", int(v.Type))
}

// Option is one option call of a script, `.size(10)` in `@movavg().size(10)`:
// its name and its values. A script may call the same option more than once;
// each call is its own Option, in script order.
type Option struct {
	Name   string
	Values []Value
}

// Info is a UDF's answer to the info request.
type Info struct {
	Wants    EdgeType               // what it reads
	Provides EdgeType               // what it emits
	Options  map[string][]ValueType // option name → the types of its values, in order
}

// CheckOption checks one option call against info, as Kapacitor's binder
// does: the option must exist, with as many values as the UDF declares, each
// of its declared type. The messages are Kapacitor's.
func (info Info) CheckOption(o Option) error {
	types, ok := info.Options[o.Name]
	if !ok {
		return fmt.Errorf("no option exists named %s", o.Name)
	}
	if got, want := len(o.Values), len(types); got != want {
		return fmt.Errorf("unexpected number of args to %s, got %d expected %d", o.Name, got, want)
	}
	for i, v := range o.Values {
		if v.Type != types[i] {
			return fmt.Errorf("unexpected arg to %s, got %v expected %v", o.Name, v.Type, types[i])
		}
	}
	return nil
}

// Tag is one tag of a point.
type Tag struct {
	Key, Value string
}

// Field is one field of a point; its value is Bool, Int, Double or String.
type Field struct {
	Key   string
	Value Value
}

// Dimensions are what a point is grouped by.
type Dimensions struct {
	ByName   bool     // the measurement name is part of the group
	TagNames []string // the tags of the group
}

// Point is one point sent to or received from a UDF.
//
// A point handed to WritePoint is borrowed for the call only. A point handed
// to Options.OnPoint is the callee's: nothing in it is reused.
type Point struct {
	Name      string     // measurement
	Database  string     // database
	RP        string     // retention policy
	Timestamp int64      // nanoseconds since the Unix epoch
	Tags      []Tag      // received points: sorted by key
	Fields    []Field    // received points: sorted by key
	Dims      Dimensions // group-by dimensions
	Group     string     // group id
}

// Batch is one batch sent to or received from a UDF: the points of one
// group and the time the batch ends.
//
// On the wire a batch is a begin message (name, group, tags, size, by-name),
// its points and an end message (name, group, end time, tags). As in
// Kapacitor, only the time, group, tags and fields of the batch's points are sent;
// a received batch takes its name, group, tags and end time from the end
// message and its by-name flag from the begin message, and Dims.TagNames
// are the keys of its Tags.
type Batch struct {
	Name   string     // measurement
	Group  string     // group id
	Tags   []Tag      // group tags; received batches: sorted by key
	Dims   Dimensions // group-by dimensions
	TMax   int64      // end time, nanoseconds since the Unix epoch
	Points []Point    // in order
}
