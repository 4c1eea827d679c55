package pipeline

import (
	"errors"
	"sort"
	"strconv"
	"time"

	"github.com/tickrun/tickrun/eval"
)

// Event is one alert event, as handlers receive it (alert.md §10).
type Event struct {
	ID            string
	Message       string
	Details       string
	Time          int64 // nanoseconds since the epoch
	Duration      time.Duration
	Level         Level
	PreviousLevel Level // set per topic when published
	Recoverable   bool
	Data          Series

	// For topic handler match expressions and logs.
	TaskName string
	Node     string // name of the alert node, e.g. "alert2"
	Changed  bool   // set per topic: Level differs from the topic's previous level
}

// Series is the data of an event: one row per point (alert.md §10.3).
type Series struct {
	Name    string
	Tags    []Tag          // sorted
	Columns []string       // "time", then the field names sorted
	Values  [][]eval.Value // one row per point; the first value is the time
}

// Tag returns the value of a tag of the event's data.
func (e *Event) Tag(key string) (string, bool) {
	for _, t := range e.Data.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// ErrUnencodable is returned for events holding NaN or ±Inf, which JSON
// cannot encode; Kapacitor logs "failed to marshal alert data json" and
// sends nothing.
var ErrUnencodable = errors.New("failed to marshal alert data json: NaN or Inf value")

// AppendJSON appends the event as Kapacitor's JSON (keys in Kapacitor's
// order, encoding/json's escaping and number formats), without a trailing
// newline.
func (e *Event) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, e.ID)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, e.Message)
	b = append(b, `,"details":`...)
	b = appendJSONString(b, e.Details)
	b = append(b, `,"time":`...)
	b = appendJSONTime(b, e.Time)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(e.Duration), 10)
	b = append(b, `,"level":`...)
	b = appendJSONString(b, e.Level.String())
	b = append(b, `,"data":{"series":[`...)
	b, err := appendSeriesJSON(b, &e.Data)
	if err != nil {
		return b, err
	}
	b = append(b, `]},"previousLevel":`...)
	b = appendJSONString(b, e.PreviousLevel.String())
	b = append(b, `,"recoverable":`...)
	b = strconv.AppendBool(b, e.Recoverable)
	return append(b, '}'), nil
}

// pointSeries builds the data of an event for a stream point: all tags,
// "time" then the sorted field names, one row.
func pointSeries(p *Point) Series {
	s := Series{Name: p.Name, Tags: append([]Tag(nil), p.Tags...)}
	s.Columns = make([]string, 0, len(p.Fields)+1)
	s.Columns = append(s.Columns, "time")
	row := make([]eval.Value, 0, len(p.Fields)+1)
	row = append(row, eval.TimeValue(p.Timestamp))
	for _, f := range p.Fields {
		s.Columns = append(s.Columns, f.Key)
		row = append(row, f.Value)
	}
	s.Values = [][]eval.Value{row}
	return s
}

// batchSeries builds the data of an event for a batch (alert.md §10.3):
// the group tags, "time" then the sorted union of the first point's fields
// and its tags that are not group tags, one row per point (null where a
// point lacks a column).
func batchSeries(b *Batch) Series {
	s := Series{Name: b.Name, Tags: append([]Tag(nil), b.Tags...)}
	s.Columns = []string{"time"}
	if len(b.Points) == 0 {
		return s
	}
	first := b.Points[0]
	var cols []string
	for _, f := range first.Fields {
		cols = append(cols, f.Key)
	}
	for _, t := range first.Tags {
		isGroup := false
		for _, g := range b.Tags {
			isGroup = isGroup || g.Key == t.Key
		}
		if !isGroup {
			cols = append(cols, t.Key)
		}
	}
	sort.Strings(cols)
	s.Columns = append(s.Columns, cols...)
	for _, p := range b.Points {
		row := make([]eval.Value, 0, len(s.Columns))
		row = append(row, eval.TimeValue(p.Timestamp))
		for _, c := range cols {
			if v, ok := p.Field(c); ok {
				row = append(row, v)
			} else if t, ok := p.Tag(c); ok {
				row = append(row, eval.StringValue(t))
			} else {
				row = append(row, eval.Value{}) // null
			}
		}
		s.Values = append(s.Values, row)
	}
	return s
}

// appendSeriesJSON appends one row as InfluxDB's models.Row encodes it:
// empty name, tags, columns and values are omitted.
func appendSeriesJSON(b []byte, s *Series) ([]byte, error) {
	b = append(b, '{')
	comma := false
	sep := func() {
		if comma {
			b = append(b, ',')
		}
		comma = true
	}
	if s.Name != "" {
		sep()
		b = append(b, `"name":`...)
		b = appendJSONString(b, s.Name)
	}
	if len(s.Tags) > 0 {
		sep()
		b = append(b, `"tags":`...)
		b = appendJSONTags(b, s.Tags)
	}
	if len(s.Columns) > 0 {
		sep()
		b = append(b, `"columns":[`...)
		for i, c := range s.Columns {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, c)
		}
		b = append(b, ']')
	}
	if len(s.Values) > 0 {
		sep()
		b = append(b, `"values":[`...)
		for i, row := range s.Values {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			for j, v := range row {
				if j > 0 {
					b = append(b, ',')
				}
				var ok bool
				if b, ok = appendJSONValue(b, v); !ok {
					return b, ErrUnencodable
				}
			}
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}
