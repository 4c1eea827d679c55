package influx_test

import (
	"fmt"
	"time"

	"github.com/tickrun/tickrun/pipeline/influx"
)

// A query node's text and properties, rendered for one window as
// Kapacitor sends it (batch_groupby_time).
func ExampleNewQuery() {
	q, err := influx.NewQuery(`SELECT mean("usage_idle") FROM "telegraf"."autogen".cpu`, influx.QueryOptions{
		GroupBy: []influx.Dimension{influx.TimeDimension(time.Minute, 0), influx.TagDimension("host")},
		Fill:    influx.FillInt(0),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	start := time.Date(2023, 11, 14, 22, 0, 0, 0, time.UTC)
	fmt.Println(q.RenderReplay(start, start.Add(5*time.Minute)))
	// Output:
	// SELECT mean(usage_idle) FROM telegraf.autogen.cpu WHERE time >= '2023-11-14T22:00:00Z' AND time < '2023-11-14T22:05:00Z' GROUP BY time(1m, 0s), host fill(0)
}

// The windows of `.period(5m).every(5m).align().offset(1m)` replayed from
// an unaligned start (batch_align_offset).
func ExampleSchedule_Windows() {
	s, err := influx.NewSchedule(influx.ScheduleOptions{
		Every: 5 * time.Minute, Period: 5 * time.Minute, Align: true, Offset: time.Minute, Location: time.UTC,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	start := time.Date(2023, 11, 14, 22, 0, 30, 0, time.UTC)
	for _, w := range s.Windows(start, start.Add(14*time.Minute), time.Time{}) {
		fmt.Println(w.Tick.Format("15:04:05"), w.Start.Format("15:04"), w.Stop.Format("15:04"))
	}
	// Output:
	// 22:05:00 21:59 22:04
	// 22:10:00 22:04 22:09
}

// An answer mapped to batch points; the batch time of a query without
// GROUP BY time is the window stop.
func ExampleSeries_Points() {
	resp, err := influx.DecodeResponse([]byte(`{"results":[{"statement_id":0,"series":[{"name":"cpu","tags":{"host":"web01"},` +
		`"columns":["time","mean","max"],"values":[["2023-11-14T22:00:00Z",50,null]]}]}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	s := resp.Results[0].Series[0]
	points, tmax, _ := s.Points()
	for _, p := range points {
		fmt.Println(s.Name, s.Tags, p.Time.Format(time.RFC3339), p.Fields[0].Name, p.Fields[0].Value.Kind, p.Fields[0].Value.Any(), len(p.Fields))
	}
	q, _ := influx.NewQuery(`SELECT mean(usage_idle), max(usage_idle) FROM telegraf.autogen.cpu`, influx.QueryOptions{})
	stop := time.Date(2023, 11, 14, 22, 5, 0, 0, time.UTC)
	fmt.Println(q.BatchTime(stop, tmax).Format(time.RFC3339))
	// Output:
	// cpu [{host web01}] 2023-11-14T22:00:00Z mean float 50 1
	// 2023-11-14T22:05:00Z
}
