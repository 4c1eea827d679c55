package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/influx"
	"github.com/tickrun/tickrun/pipeline/models"
)

// replaySlice is how much time one query of ReplayStream covers, so that
// a long range never needs one huge answer.
const replaySlice = time.Hour

// ReplayStream feeds a stream task the points InfluxDB holds in [start,
// stop) for database db and retention policy rp, as if they were written
// to the task in time order: for each measurement the task's from() nodes
// read (every measurement of db when one reads them all) it sends
// `SELECT * FROM "db"."rp"."m" WHERE time >= start AND time < stop GROUP
// BY *`, an hour of the range at a time, and merges the answers by time
// (points of one time keep the order of the measurements, then of the
// series). Tags come from the series; a field InfluxDB types as integer
// (SHOW FIELD KEYS) is an int, every other number a float. It uses the
// default InfluxDB of the task (Options.InfluxDB or [[influxdb]]) and
// returns the number of points written. A failed query ends it.
func (t *Task) ReplayStream(ctx context.Context, db, rp string, start, stop time.Time) (int64, error) {
	clients := &influxClients{opts: &t.opts}
	defer clients.close()
	c, err := clients.client("")
	if err != nil {
		return 0, err
	}
	q := func(text string) (*influx.Response, error) {
		return c.Query(ctx, influx.QueryRequest{Command: text})
	}
	names, all := t.Measurements()
	if all {
		resp, err := q("SHOW MEASUREMENTS ON " + quoteIdent(db))
		if err != nil {
			return 0, err
		}
		names = nil
		for _, s := range seriesOf(resp) {
			for _, row := range s.Values {
				if len(row) > 0 && row[0].Kind == influx.String {
					names = append(names, row[0].S)
				}
			}
		}
	}
	ints := map[string]map[string]bool{} // measurement -> integer fields
	for _, m := range names {
		resp, err := q("SHOW FIELD KEYS ON " + quoteIdent(db) + " FROM " + quoteIdent(rp) + "." + quoteIdent(m))
		if err != nil {
			return 0, err
		}
		ints[m] = map[string]bool{}
		for _, s := range seriesOf(resp) {
			for _, row := range s.Values {
				if len(row) > 1 && row[1].Kind == influx.String && row[1].S == "integer" {
					ints[m][row[0].S] = true
				}
			}
		}
	}
	var written int64
	for from := start; from.Before(stop); from = from.Add(replaySlice) {
		to := from.Add(replaySlice)
		if to.After(stop) {
			to = stop
		}
		var points []*Point
		for _, m := range names {
			text := fmt.Sprintf("SELECT * FROM %s.%s.%s WHERE time >= '%s' AND time < '%s' GROUP BY *",
				quoteIdent(db), quoteIdent(rp), quoteIdent(m), from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
			resp, err := q(text)
			if err != nil {
				return written, err
			}
			for _, s := range seriesOf(resp) {
				pts, err := seriesPoints(s, db, rp, ints[s.Name])
				if err != nil {
					return written, err
				}
				points = append(points, pts...)
			}
		}
		sort.SliceStable(points, func(i, j int) bool { return points[i].Timestamp < points[j].Timestamp })
		for _, p := range points {
			if err := ctx.Err(); err != nil {
				return written, err
			}
			if err := t.WritePoint(p); err != nil {
				return written, err
			}
			written++
		}
	}
	return written, nil
}

// seriesOf returns every series of an answer.
func seriesOf(resp *influx.Response) []*influx.Series {
	var out []*influx.Series
	for i := range resp.Results {
		for j := range resp.Results[i].Series {
			out = append(out, &resp.Results[i].Series[j])
		}
	}
	return out
}

// seriesPoints turns the rows of a SELECT * ... GROUP BY * series into
// points written to db and rp; an empty tag value is a tag the point did
// not have.
func seriesPoints(s *influx.Series, db, rp string, ints map[string]bool) ([]*Point, error) {
	rows, _, err := s.Points()
	if err != nil {
		return nil, err
	}
	var tags []Tag
	for _, tg := range s.Tags {
		if tg.Value != "" {
			tags = append(tags, Tag{Key: tg.Key, Value: tg.Value})
		}
	}
	out := make([]*Point, 0, len(rows))
	for _, r := range rows {
		p := &Point{Name: s.Name, Database: db, RP: rp, Timestamp: r.Time.UnixNano(), Tags: tags,
			Fields: make([]Field, 0, len(r.Fields))}
		for _, f := range r.Fields {
			v := fieldValue(f.Value)
			if ints[f.Name] && f.Value.Kind == influx.Float {
				v = eval.IntValue(int64(f.Value.F))
			}
			p.Fields = append(p.Fields, Field{Key: f.Name, Value: v})
		}
		p.Fields = models.SortFields(p.Fields)
		out = append(out, p)
	}
	return out, nil
}

// quoteIdent quotes an InfluxQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
