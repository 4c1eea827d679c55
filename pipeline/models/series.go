package models

import (
	"errors"
	"sort"

	"github.com/tickrun/tickrun/eval"
)

// Series is the data of an event: one row per point (alert.md §10.3).
type Series struct {
	Name    string
	Tags    []Tag          // sorted
	Columns []string       // "time", then the field names sorted
	Values  [][]eval.Value // one row per point; the first value is the time
}

// ErrUnencodable is returned for events holding NaN or ±Inf, which JSON
// cannot encode; Kapacitor logs "failed to marshal alert data json" and
// sends nothing.
var ErrUnencodable = errors.New("failed to marshal alert data json: NaN or Inf value")

// PointSeries builds the data of an event for a stream point: all tags,
// "time" then the sorted field names, one row.
func PointSeries(p *Point) Series {
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

// BatchSeries builds the data of an event for a batch (alert.md §10.3):
// the group tags, "time" then the sorted union of the first point's fields
// and its tags that are not group tags, one row per point (null where a
// point lacks a column).
func BatchSeries(b *Batch) Series {
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

// AppendSeriesJSON appends one row as InfluxDB's models.Row encodes it:
// empty name, tags, columns and values are omitted.
func AppendSeriesJSON(b []byte, s *Series) ([]byte, error) {
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
		b = AppendJSONString(b, s.Name)
	}
	if len(s.Tags) > 0 {
		sep()
		b = append(b, `"tags":`...)
		b = AppendJSONTags(b, s.Tags)
	}
	if len(s.Columns) > 0 {
		sep()
		b = append(b, `"columns":[`...)
		for i, c := range s.Columns {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, c)
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
				if b, ok = AppendJSONValue(b, v); !ok {
					return b, ErrUnencodable
				}
			}
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}
