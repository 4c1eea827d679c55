package influx_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/pipeline/influx"
)

var (
	winStart = time.Date(2023, 11, 14, 22, 0, 0, 0, time.UTC)
	winStop  = time.Date(2023, 11, 14, 22, 5, 0, 0, time.UTC)
)

const bounds = "time >= '2023-11-14T22:00:00Z' AND time < '2023-11-14T22:05:00Z'"

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		text string
		opts influx.QueryOptions
		want string
	}{
		{name: "quotes dropped, bounds added",
			text: `SELECT mean("usage_idle") FROM "telegraf"."autogen"."cpu"`,
			want: "SELECT mean(usage_idle) FROM telegraf.autogen.cpu WHERE " + bounds},
		{name: "bounds ANDed after the user's condition",
			text: `SELECT max(v) FROM db.rp.m WHERE "host" = 'a'`,
			want: "SELECT max(v) FROM db.rp.m WHERE host = 'a' AND " + bounds},
		{name: "an OR is not parenthesised, as in Kapacitor",
			text: `SELECT max(v) FROM db.rp.m WHERE a = 'x' OR b = 'y'`,
			want: "SELECT max(v) FROM db.rp.m WHERE a = 'x' OR b = 'y' AND " + bounds},
		{name: "user parentheses kept",
			text: `SELECT max(v) FROM db.rp.m WHERE (a = 'x' OR b = 'y')`,
			want: "SELECT max(v) FROM db.rp.m WHERE (a = 'x' OR b = 'y') AND " + bounds},
		{name: "the text's GROUP BY is replaced even without groupBy()",
			text: `SELECT mean(v) FROM db.rp.m GROUP BY host`,
			want: "SELECT mean(v) FROM db.rp.m WHERE " + bounds},
		{name: "groupBy tags",
			text: `SELECT mean(v) FROM db.rp.m GROUP BY dc`,
			opts: influx.QueryOptions{GroupBy: []influx.Dimension{influx.TagDimension("host"), influx.TagDimension("cpu-id")}},
			want: `SELECT mean(v) FROM db.rp.m WHERE ` + bounds + ` GROUP BY host, "cpu-id"`},
		{name: "groupBy star",
			text: `SELECT v FROM db.rp.m`,
			opts: influx.QueryOptions{GroupBy: []influx.Dimension{influx.StarDimension()}},
			want: "SELECT v FROM db.rp.m WHERE " + bounds + " GROUP BY *"},
		{name: "groupBy time without offset prints 0s",
			text: `SELECT mean(v) FROM db.rp.m`,
			opts: influx.QueryOptions{GroupBy: []influx.Dimension{influx.TimeDimension(time.Minute, 0), influx.TagDimension("host")}},
			want: "SELECT mean(v) FROM db.rp.m WHERE " + bounds + " GROUP BY time(1m, 0s), host"},
		{name: "groupBy time with offset",
			text: `SELECT mean(v) FROM db.rp.m`,
			opts: influx.QueryOptions{GroupBy: []influx.Dimension{influx.TimeDimension(90*time.Second, 30*time.Second)}},
			want: "SELECT mean(v) FROM db.rp.m WHERE " + bounds + " GROUP BY time(90s, 30s)"},
		{name: "fill number int",
			text: `SELECT mean(v) FROM db.rp.m`,
			opts: influx.QueryOptions{GroupBy: []influx.Dimension{influx.TimeDimension(time.Minute, 0)}, Fill: influx.FillInt(0)},
			want: "SELECT mean(v) FROM db.rp.m WHERE " + bounds + " GROUP BY time(1m, 0s) fill(0)"},
		{name: "fill negative int",
			text: `SELECT mean(v) FROM db.rp.m`,
			opts: influx.QueryOptions{Fill: influx.FillInt(-3)},
			want: "SELECT mean(v) FROM db.rp.m WHERE " + bounds + " fill(-3)"},
		{name: "fill float 1.0 prints as 1",
			text: `SELECT mean(v) FROM db.rp.m`,
			opts: influx.QueryOptions{Fill: influx.FillFloat(1.0)},
			want: "SELECT mean(v) FROM db.rp.m WHERE " + bounds + " fill(1)"},
		{name: "fill float",
			text: `SELECT mean(v) FROM db.rp.m`,
			opts: influx.QueryOptions{Fill: influx.FillFloat(0.25)},
			want: "SELECT mean(v) FROM db.rp.m WHERE " + bounds + " fill(0.25)"},
		{name: "fill none", text: `SELECT mean(v) FROM db.rp.m`,
			opts: influx.QueryOptions{Fill: mustFill(t, "none")},
			want: "SELECT mean(v) FROM db.rp.m WHERE " + bounds + " fill(none)"},
		{name: "fill previous", text: `SELECT mean(v) FROM db.rp.m`,
			opts: influx.QueryOptions{Fill: mustFill(t, "previous")},
			want: "SELECT mean(v) FROM db.rp.m WHERE " + bounds + " fill(previous)"},
		{name: "fill linear", text: `SELECT mean(v) FROM db.rp.m`,
			opts: influx.QueryOptions{Fill: mustFill(t, "linear")},
			want: "SELECT mean(v) FROM db.rp.m WHERE " + bounds + " fill(linear)"},
		{name: "fill of the text kept without fill()",
			text: `SELECT mean(v) FROM db.rp.m GROUP BY time(1m) fill(previous)`,
			opts: influx.QueryOptions{GroupBy: []influx.Dimension{influx.TimeDimension(time.Minute, 0)}},
			want: "SELECT mean(v) FROM db.rp.m WHERE " + bounds + " GROUP BY time(1m, 0s) fill(previous)"},
		{name: "fill('null') replaces the text's fill and prints nothing",
			text: `SELECT mean(v) FROM db.rp.m GROUP BY time(1m) fill(previous)`,
			opts: influx.QueryOptions{GroupBy: []influx.Dimension{influx.TimeDimension(time.Minute, 0)}, Fill: mustFill(t, "null")},
			want: "SELECT mean(v) FROM db.rp.m WHERE " + bounds + " GROUP BY time(1m, 0s)"},
		{name: "regex and names needing quotes",
			text: `SELECT "usage idle" AS u FROM "my db"."autogen"."cpu load" WHERE "host" =~ /^web\d+$/`,
			want: `SELECT "usage idle" AS u FROM "my db".autogen."cpu load" WHERE host =~ /^web\d+$/ AND ` + bounds},
		{name: "LIMIT and ORDER BY kept",
			text: `SELECT v FROM db.rp.m ORDER BY time DESC LIMIT 3`,
			want: "SELECT v FROM db.rp.m WHERE " + bounds + " ORDER BY time DESC LIMIT 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := influx.NewQuery(tc.text, tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.want, q.Render(winStart, winStop))
			assert.Equal(t, tc.want, q.RenderReplay(winStart, winStop), "no alignGroup: both the same")
			// A second window reuses the statement: nothing of the first stays.
			later := q.Render(winStart.Add(time.Hour), winStop.Add(time.Hour))
			assert.Contains(t, later, "time >= '2023-11-14T23:00:00Z' AND time < '2023-11-14T23:05:00Z'")
		})
	}
}

func mustFill(t *testing.T, s string) influx.Fill {
	f, err := influx.ParseFill(s)
	require.NoError(t, err)
	return f
}

func TestRenderTimes(t *testing.T) {
	q, err := influx.NewQuery("SELECT v FROM db.rp.m", influx.QueryOptions{})
	require.NoError(t, err)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	// Times are printed in UTC with their nanoseconds, whatever their zone
	// (a wall-clock tick of an unaligned every() carries nanoseconds).
	start := time.Date(2023, 11, 14, 23, 0, 0, 0, paris)
	stop := time.Date(2023, 11, 14, 23, 5, 0, 123456789, paris)
	assert.Equal(t, "SELECT v FROM db.rp.m WHERE time >= '2023-11-14T22:00:00Z' AND time < '2023-11-14T22:05:00.123456789Z'", q.Render(start, stop))
}

func TestRenderAlignGroup(t *testing.T) {
	opts := influx.QueryOptions{GroupBy: []influx.Dimension{influx.TimeDimension(time.Minute, 10*time.Second)}, AlignGroup: true}
	q, err := influx.NewQuery("SELECT mean(v) FROM db.rp.m", opts)
	require.NoError(t, err)
	start := time.Date(2023, 11, 14, 22, 2, 30, 0, time.UTC)
	stop := start.Add(5 * time.Minute)
	// A running task: offset = start mod interval.
	assert.Equal(t, "SELECT mean(v) FROM db.rp.m WHERE time >= '2023-11-14T22:02:30Z' AND time < '2023-11-14T22:07:30Z' GROUP BY time(1m, 30s)", q.Render(start, stop))
	// replay-live: alignGroup has no effect, the script's offset stays.
	assert.Equal(t, "SELECT mean(v) FROM db.rp.m WHERE time >= '2023-11-14T22:02:30Z' AND time < '2023-11-14T22:07:30Z' GROUP BY time(1m, 10s)", q.RenderReplay(start, stop))
	// An aligned start gives offset 0.
	assert.Contains(t, q.Render(winStart, winStop), "GROUP BY time(1m, 0s)")
	assert.True(t, q.GroupedByTime())
}

func TestRenderConcurrent(t *testing.T) {
	q, err := influx.NewQuery("SELECT v FROM db.rp.m", influx.QueryOptions{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				s := winStart.Add(time.Duration(g*1000+i) * time.Minute)
				want := fmt.Sprintf("SELECT v FROM db.rp.m WHERE time >= '%s' AND time < '%s'", s.Format(time.RFC3339), s.Add(time.Minute).Format(time.RFC3339))
				if got := q.Render(s, s.Add(time.Minute)); got != want {
					errs <- got
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("wrong query under concurrency: %s", e)
	}
}

func TestNewQueryErrors(t *testing.T) {
	tests := []struct {
		name, text string
		opts       influx.QueryOptions
		msg        string
		syntax     bool
		line, col  int
		offset     int
	}{
		{name: "misspelt keyword", text: "SELECT mean(v) FROMM m", syntax: true, line: 1, col: 16, offset: 15,
			msg: "failed to parse InfluxQL query: found FROMM, expected FROM at line 1, char 16"},
		{name: "second line", text: "SELECT mean(v)\n  FROM m WHERE", syntax: true, line: 2, col: 16, offset: 29, // EOF: one past the end, offset clamped
			msg: "failed to parse InfluxQL query: found EOF, expected identifier, string, number, bool at line 2, char 16"},
		{name: "non-ASCII before the error counts runes", text: "SELECT \"é\" FROM m WHERE x ==", syntax: true, line: 1, col: 28, offset: 28,
			msg: "failed to parse InfluxQL query: found =, expected identifier, string, number, bool at line 1, char 28"},
		{name: "two statements", text: "SELECT a FROM m; SELECT b FROM m", syntax: true, offset: -1,
			msg: "query must be a single select statement, got 2 statements"},
		{name: "not a select", text: "SHOW DATABASES", syntax: true, offset: -1,
			msg: `query is not a select statement "SHOW DATABASES"`},
		{name: "two time dimensions", text: "SELECT mean(v) FROM m",
			opts: influx.QueryOptions{GroupBy: []influx.Dimension{influx.TimeDimension(time.Minute, 0), influx.TimeDimension(time.Hour, 0)}},
			msg:  "groupBy cannot have more than one time dimension"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := influx.NewQuery(tc.text, tc.opts)
			require.Error(t, err)
			assert.Equal(t, tc.msg, err.Error())
			var se *influx.SyntaxError
			require.Equal(t, tc.syntax, errors.As(err, &se))
			if tc.syntax {
				assert.Equal(t, tc.offset, se.Offset, "offset")
				if tc.offset >= 0 {
					assert.Equal(t, tc.line, se.Line, "line")
					assert.Equal(t, tc.col, se.Col, "col")
				}
			}
		})
	}
	_, err := influx.ParseFill("zero")
	assert.EqualError(t, err, "unexpected fill option zero")
}

func TestSourcesAndBatchTime(t *testing.T) {
	q, err := influx.NewQuery(`SELECT v FROM "telegraf"."nope".cpu, mem, /^disk/`, influx.QueryOptions{})
	require.NoError(t, err)
	assert.Equal(t, []influx.Source{
		{Database: "telegraf", RetentionPolicy: "nope", Name: "cpu"},
		{Name: "mem"},
		{Name: "/^disk/"},
	}, q.Sources())
	assert.False(t, q.GroupedByTime())
	tmax := winStart.Add(time.Minute)
	// Not grouped by time: the batch time is the window stop.
	assert.Equal(t, winStop, q.BatchTime(winStop, tmax))
	g, err := influx.NewQuery(`SELECT mean(v) FROM m`, influx.QueryOptions{GroupBy: []influx.Dimension{influx.TimeDimension(time.Minute, 0)}})
	require.NoError(t, err)
	// Grouped by time: the latest point, or the stop for an empty batch.
	assert.Equal(t, tmax, g.BatchTime(winStop, tmax))
	assert.Equal(t, winStop, g.BatchTime(winStop, time.Time{}))
}
