package influx

import (
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Response is InfluxDB's answer to a /query request: one Result per
// statement, or a request-level error.
type Response struct {
	Results []Result
	Err     string // the top-level "error", if any
}

// Result is the answer to one statement.
type Result struct {
	Series   []Series
	Messages []Message
	Err      string // the statement's "error": InfluxDB answers 200 and puts it here
}

// Message is an informational message InfluxDB attaches to a result.
type Message struct {
	Level string
	Text  string
}

// Series is one series of a result: a measurement name, the tags of its
// group (GROUP BY), and rows of values, one value per column.
type Series struct {
	Name    string
	Tags    []Tag // sorted by key, keys unique
	Columns []string
	Values  [][]Value // Values[row][column]; a row may be shorter than Columns if InfluxDB sent it so
	Partial bool
}

// Tag is one tag of a series.
type Tag struct {
	Key, Value string
}

// Kind says which member of a Value is set.
type Kind uint8

// Value kinds. InfluxDB's JSON has no integer type, and Kapacitor decodes
// every number as float64, so there is no integer kind: an integer field
// arrives as Float (Kapacitor issue #1338).
const (
	Null   Kind = iota // JSON null: no value for this column in this row
	Float              // a JSON number, as float64
	String             // a JSON string
	Bool               // true or false
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Null:
		return "null"
	case Float:
		return "float"
	case String:
		return "string"
	case Bool:
		return "bool"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one cell of a series: a small tagged union.
type Value struct {
	S    string  // when Kind is String
	F    float64 // when Kind is Float
	Kind Kind
	B    bool // when Kind is Bool
}

// FloatValue, StringValue and BoolValue build Values (tests, callers).
func FloatValue(f float64) Value { return Value{Kind: Float, F: f} }

// StringValue returns a String Value.
func StringValue(s string) Value { return Value{Kind: String, S: s} }

// BoolValue returns a Bool Value.
func BoolValue(b bool) Value { return Value{Kind: Bool, B: b} }

// IsNull reports whether v is JSON null.
func (v Value) IsNull() bool { return v.Kind == Null }

// Any returns v as the Go value Kapacitor holds for it: float64, string,
// bool, or nil for Null.
func (v Value) Any() any {
	switch v.Kind {
	case Float:
		return v.F
	case String:
		return v.S
	case Bool:
		return v.B
	}
	return nil
}

// String returns v for messages: numbers as strconv's shortest form,
// strings quoted.
func (v Value) String() string {
	switch v.Kind {
	case Float:
		return strconv.FormatFloat(v.F, 'g', -1, 64)
	case String:
		return strconv.Quote(v.S)
	case Bool:
		return strconv.FormatBool(v.B)
	}
	return "null"
}

// Tag returns the value of the series tag key.
func (s *Series) Tag(key string) (string, bool) {
	i := sort.Search(len(s.Tags), func(i int) bool { return s.Tags[i].Key >= key })
	if i < len(s.Tags) && s.Tags[i].Key == key {
		return s.Tags[i].Value, true
	}
	return "", false
}

// Point is one row of a series as Kapacitor turns it into a batch point.
type Point struct {
	Time   time.Time // UTC
	Fields []Field   // the row's non-null columns other than "time", in column order
}

// Field is one field of a Point.
type Field struct {
	Name  string
	Value Value // never Null
}

// Points maps the series' rows to batch points the way Kapacitor's
// ResultToBufferedBatches does: the "time" column (an RFC 3339 string) is
// the point time, every other non-null column is a field, a row whose
// columns are all null (or that has only a time) is dropped. TMax is the
// latest time among the kept points (zero when none is kept); Kapacitor's
// query node uses it, or the window stop, as the batch time (see
// Query.BatchTime).
func (s *Series) Points() (points []Point, tmax time.Time, err error) {
	points = make([]Point, 0, len(s.Values))
	for r, row := range s.Values {
		var p Point
		for c, name := range s.Columns {
			if c >= len(row) {
				break
			}
			v := row[c]
			if name == "time" {
				t, err := parseRowTime(v)
				if err != nil {
					return nil, time.Time{}, fmt.Errorf("series %q row %d: %w", s.Name, r, err)
				}
				p.Time = t
				continue
			}
			if v.Kind == Null {
				continue
			}
			p.Fields = append(p.Fields, Field{Name: name, Value: v})
		}
		if len(p.Fields) == 0 {
			continue
		}
		if p.Time.After(tmax) {
			tmax = p.Time
		}
		points = append(points, p)
	}
	return points, tmax, nil
}

// parseRowTime reads a "time" cell: RFC 3339 with or without fractional
// seconds. Kapacitor never asks for epoch times, and rejects them.
func parseRowTime(v Value) (time.Time, error) {
	if v.Kind != String {
		return time.Time{}, fmt.Errorf("unexpected time value: %s", v)
	}
	t, err := time.Parse(time.RFC3339Nano, v.S)
	if err != nil {
		t, err = time.Parse(time.RFC3339, v.S)
		if err != nil {
			return time.Time{}, fmt.Errorf("unexpected time format: %w", err)
		}
	}
	return t.UTC(), nil
}

// FirstError returns the first error message of the response: the
// top-level one, then the first statement's, in the order Kapacitor's
// client checks them; "" when there is none. It is InfluxDB's bare
// message; Client.Query wraps it in an *Error naming the query.
func (r *Response) FirstError() string {
	if r.Err != "" {
		return r.Err
	}
	for i := range r.Results {
		if r.Results[i].Err != "" {
			return r.Results[i].Err
		}
	}
	return ""
}
