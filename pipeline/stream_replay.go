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
// returns what it did. A failed query ends it.
func (t *Task) ReplayStream(ctx context.Context, db, rp string, start, stop time.Time) (ReplayStats, error) {
	var st ReplayStats
	clients := &influxClients{opts: &t.opts}
	defer clients.close()
	c, err := clients.client("")
	if err != nil {
		return st, err
	}
	q := func(text string) (*influx.Response, error) {
		began := time.Now()
		defer func() { st.Queries++; st.Wait += time.Since(began) }()
		return c.Query(ctx, influx.QueryRequest{Command: text})
	}
	names, all := t.Measurements()
	if all {
		resp, err := q("SHOW MEASUREMENTS ON " + quoteIdent(db))
		if err != nil {
			return st, err
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
			return st, err
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
	// The next slice is fetched while the points of this one go through
	// the task: InfluxDB works while the pipeline does.
	type slice struct {
		points []*Point
		err    error
	}
	fetchCtx, cancel := context.WithCancel(ctx)
	slices := make(chan slice, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(slices)
		for from := start; from.Before(stop); from = from.Add(replaySlice) {
			to := from.Add(replaySlice)
			if to.After(stop) {
				to = stop
			}
			var sl slice
			for _, m := range names {
				text := fmt.Sprintf("SELECT * FROM %s.%s.%s WHERE time >= '%s' AND time < '%s' GROUP BY *",
					quoteIdent(db), quoteIdent(rp), quoteIdent(m), from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
				var resp *influx.Response
				if resp, sl.err = q(text); sl.err != nil {
					break
				}
				for _, s := range seriesOf(resp) {
					var pts []*Point
					if pts, sl.err = seriesPoints(s, db, rp, ints[s.Name]); sl.err != nil {
						break
					}
					sl.points = append(sl.points, pts...)
				}
				if sl.err != nil {
					break
				}
			}
			sort.SliceStable(sl.points, func(i, j int) bool { return sl.points[i].Timestamp < sl.points[j].Timestamp })
			select {
			case slices <- sl:
			case <-fetchCtx.Done():
				return
			}
			if sl.err != nil {
				return
			}
		}
	}()
	var points int64
feed:
	for sl := range slices {
		for _, p := range sl.points {
			if err = ctx.Err(); err != nil {
				break feed
			}
			if err = t.WritePoint(p); err != nil {
				break feed
			}
			points++
		}
		if sl.err != nil {
			err = sl.err
			break
		}
	}
	cancel()
	for range slices { // let the fetcher finish before reading its counters
	}
	<-done
	if err == nil {
		err = ctx.Err()
	}
	st.Points = points
	return st, err
}

// ReplayStats counts what ReplayStream did.
type ReplayStats struct {
	Points  int64         // points written to the task
	Queries int64         // queries sent
	Wait    time.Duration // time spent waiting for InfluxDB's answers (decoding included)
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
