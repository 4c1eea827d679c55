package influx_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/pipeline/influx"
)

func at(hms string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, "2023-11-14T"+hms+"Z")
	if err != nil {
		panic(err)
	}
	return t
}

func mustSchedule(t *testing.T, o influx.ScheduleOptions) *influx.Schedule {
	t.Helper()
	if o.Location == nil {
		o.Location = time.UTC
	}
	s, err := influx.NewSchedule(o)
	require.NoError(t, err)
	return s
}

func TestNext(t *testing.T) {
	every := mustSchedule(t, influx.ScheduleOptions{Every: 5 * time.Minute})
	aligned := mustSchedule(t, influx.ScheduleOptions{Every: 5 * time.Minute, Align: true})
	tests := []struct {
		s        *influx.Schedule
		from, to string
	}{
		{every, "22:00:30", "22:05:30"},
		{every, "22:00:00", "22:05:00"},
		// align rounds t+every to the nearest multiple: it does not truncate.
		{aligned, "22:00:30", "22:05:00"},
		{aligned, "22:02:29", "22:05:00"},
		{aligned, "22:02:30", "22:10:00"},
		{aligned, "22:03:00", "22:10:00"},
		{aligned, "22:05:00", "22:10:00"},
	}
	for _, tc := range tests {
		assert.Equal(t, at(tc.to), tc.s.Next(at(tc.from)).UTC(), "from %s", tc.from)
	}
}

func TestWindows(t *testing.T) {
	t.Run("stop is inclusive", func(t *testing.T) {
		s := mustSchedule(t, influx.ScheduleOptions{Every: 5 * time.Minute, Period: 5 * time.Minute})
		ws := s.Windows(at("22:00:00"), at("23:00:00"), time.Time{})
		require.Len(t, ws, 12)
		assert.Equal(t, influx.Window{Tick: at("22:05:00"), Start: at("22:00:00"), Stop: at("22:05:00")}, ws[0])
		assert.Equal(t, influx.Window{Tick: at("23:00:00"), Start: at("22:55:00"), Stop: at("23:00:00")}, ws[11])
	})
	t.Run("period longer than every, offset", func(t *testing.T) {
		s := mustSchedule(t, influx.ScheduleOptions{Every: 5 * time.Minute, Period: 10 * time.Minute, Offset: time.Minute})
		ws := s.Windows(at("22:00:00"), at("22:12:00"), time.Time{})
		assert.Equal(t, []influx.Window{
			{Tick: at("22:05:00"), Start: at("21:54:00"), Stop: at("22:04:00")},
			{Tick: at("22:10:00"), Start: at("21:59:00"), Stop: at("22:09:00")},
		}, ws)
	})
	t.Run("align from an unaligned start", func(t *testing.T) {
		s := mustSchedule(t, influx.ScheduleOptions{Every: 5 * time.Minute, Period: 5 * time.Minute, Align: true, Offset: time.Minute})
		ws := s.Windows(at("22:00:30"), at("22:15:00"), time.Time{})
		assert.Equal(t, []influx.Window{
			{Tick: at("22:05:00"), Start: at("21:59:00"), Stop: at("22:04:00")},
			{Tick: at("22:10:00"), Start: at("22:04:00"), Stop: at("22:09:00")},
			{Tick: at("22:15:00"), Start: at("22:09:00"), Stop: at("22:14:00")},
		}, ws)
	})
	t.Run("now bounds the windows and stands for a zero stop", func(t *testing.T) {
		s := mustSchedule(t, influx.ScheduleOptions{Every: 5 * time.Minute, Period: 5 * time.Minute, Offset: time.Minute})
		// The tick at 22:10 has its window stop at 22:09, after now.
		ws := s.Windows(at("22:00:00"), at("23:00:00"), at("22:08:00"))
		assert.Equal(t, []influx.Window{{Tick: at("22:05:00"), Start: at("21:59:00"), Stop: at("22:04:00")}}, ws)
		ws = s.Windows(at("22:00:00"), time.Time{}, at("22:10:00"))
		// stop = now = 22:10: ticks 22:05 and 22:10, both windows end by now.
		require.Len(t, ws, 2)
		assert.Equal(t, at("22:09:00"), ws[1].Stop)
	})
	t.Run("All stops when the caller does", func(t *testing.T) {
		s := mustSchedule(t, influx.ScheduleOptions{Every: time.Second})
		n := 0
		for range s.All(at("00:00:00"), at("23:00:00"), time.Time{}) {
			n++
			if n == 3 {
				break
			}
		}
		assert.Equal(t, 3, n)
	})
}

func TestCron(t *testing.T) {
	t.Run("every five minutes, like every(5m)", func(t *testing.T) {
		c := mustSchedule(t, influx.ScheduleOptions{Cron: "*/5 * * * *", Period: 5 * time.Minute})
		e := mustSchedule(t, influx.ScheduleOptions{Every: 5 * time.Minute, Period: 5 * time.Minute})
		cw := c.Windows(at("22:00:00"), at("23:00:00"), time.Time{})
		require.Len(t, cw, 12)
		assert.Equal(t, e.Windows(at("22:00:00"), at("23:00:00"), time.Time{}), cw)
	})
	t.Run("read in its location", func(t *testing.T) {
		zone := time.FixedZone("UTC+1", 3600)
		c := mustSchedule(t, influx.ScheduleOptions{Cron: "0 9 * * *", Period: time.Hour, Location: zone})
		ws := c.Windows(at("00:00:00"), at("23:59:00"), time.Time{})
		require.Len(t, ws, 1)
		assert.Equal(t, at("08:00:00"), ws[0].Tick, "09:00 at UTC+1")
		assert.Equal(t, at("07:00:00"), ws[0].Start)
	})
	t.Run("seconds field", func(t *testing.T) {
		c := mustSchedule(t, influx.ScheduleOptions{Cron: "30 */10 * * * * *"})
		ws := c.Windows(at("22:00:00"), at("22:25:00"), time.Time{})
		var ticks []time.Time
		for _, w := range ws {
			ticks = append(ticks, w.Tick)
		}
		assert.Equal(t, []time.Time{at("22:00:30"), at("22:10:30"), at("22:20:30")}, ticks)
	})
	t.Run("no later time", func(t *testing.T) {
		c := mustSchedule(t, influx.ScheduleOptions{Cron: "0 0 1 1 * 2000"})
		assert.Empty(t, c.Windows(at("22:00:00"), at("23:00:00"), time.Time{}))
		assert.True(t, c.Next(at("22:00:00")).IsZero())
	})
}

func TestNewScheduleErrors(t *testing.T) {
	tests := []struct {
		opts influx.ScheduleOptions
		msg  string
	}{
		{influx.ScheduleOptions{Every: time.Minute, Cron: "* * * * *"}, "must not set both 'every' and 'cron' properties"},
		{influx.ScheduleOptions{Every: -time.Minute}, "'every' duration must must non-negative"},
		{influx.ScheduleOptions{Period: time.Minute}, "must define one of 'every' or 'cron'"},
		{influx.ScheduleOptions{Cron: "61 * * * *"}, "syntax error in minute field: '61'"},
		{influx.ScheduleOptions{Cron: "* *"}, "missing field(s)"},
	}
	for _, tc := range tests {
		_, err := influx.NewSchedule(tc.opts)
		assert.EqualError(t, err, tc.msg, "%+v", tc.opts)
	}
}

// TestCronCase runs batch_mean_every with .every(5m) replaced by
// .cron('*/5 * * * *'): the README says Kapacitor sends the same 12
// queries, and so must tickrun.
func TestCronCase(t *testing.T) {
	dir := filepath.Join(casesDir, "batch_mean_every")
	src, err := os.ReadFile(filepath.Join(dir, "script.tick"))
	require.NoError(t, err)
	script := strings.Replace(string(src), ".every(5m)", ".cron('*/5 * * * *')", 1)
	require.NotEqual(t, string(src), script)
	for _, c := range loadCases(t) {
		if c.name != "batch_mean_every" {
			continue
		}
		c.script = script
		nodes := plan(t, c)
		require.Equal(t, "*/5 * * * *", nodes[0].node.schedule.Cron)
		var want []string
		for _, r := range c.queries {
			want = append(want, r.Q)
		}
		assert.Equal(t, want, nodes[0].texts)
		return
	}
	t.Fatal("batch_mean_every not found")
}

func TestTicker(t *testing.T) {
	if testing.Short() {
		t.Skip("wall-clock ticker: takes about two seconds")
	}
	recv := func(t *testing.T, tk *influx.Ticker, n int) []time.Time {
		var out []time.Time
		deadline := time.After(20 * time.Second) // liveness only; never a timing assertion
		for len(out) < n {
			select {
			case tick := <-tk.C:
				out = append(out, tick)
			case <-deadline:
				t.Fatalf("ticker delivered %d of %d ticks", len(out), n)
			}
		}
		return out
	}
	t.Run("aligned every ticks on multiples", func(t *testing.T) {
		const every = 200 * time.Millisecond
		tk := mustSchedule(t, influx.ScheduleOptions{Every: every, Align: true}).NewTicker()
		defer tk.Stop()
		ticks := recv(t, tk, 3)
		for i, tick := range ticks {
			assert.Zero(t, tick.UnixNano()%int64(every), "tick %v not on a multiple of %v", tick, every)
			if i > 0 {
				assert.False(t, tick.Before(ticks[i-1]))
			}
		}
	})
	t.Run("cron ticks at its times", func(t *testing.T) {
		tk := mustSchedule(t, influx.ScheduleOptions{Cron: "* * * * * * *"}).NewTicker()
		defer tk.Stop()
		ticks := recv(t, tk, 2)
		for _, tick := range ticks {
			assert.Zero(t, tick.Nanosecond(), "cron tick %v on a whole second", tick)
		}
		assert.True(t, ticks[1].After(ticks[0]))
	})
	t.Run("every ticks", func(t *testing.T) {
		tk := mustSchedule(t, influx.ScheduleOptions{Every: 20 * time.Millisecond}).NewTicker()
		ticks := recv(t, tk, 3)
		assert.True(t, ticks[1].After(ticks[0]) && ticks[2].After(ticks[1]))
		tk.Stop()
		tk.Stop() // twice is fine
		select {
		case tick := <-tk.C:
			t.Fatalf("tick %v after Stop", tick)
		case <-time.After(100 * time.Millisecond):
		}
	})
	t.Run("stop with a tick pending", func(t *testing.T) {
		tk := mustSchedule(t, influx.ScheduleOptions{Every: time.Millisecond}).NewTicker()
		time.Sleep(20 * time.Millisecond) // let it block on sending
		tk.Stop()                         // must return although nobody reads C
	})
}
