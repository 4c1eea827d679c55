package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/pipeline/influx"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// backtestFlags are run's flags for a backtest (Kapacitor's replay-live
// without a server) and for templates' vars files.
type backtestFlags struct {
	InfluxDB string        `name:"influxdb" placeholder:"URL" help:"InfluxDB to query (http://host:8086): batch tasks run their queries over --start/--stop, stream tasks read that range from it instead of stdin. Without it, the [[influxdb]] sections of --config."`
	Start    string        `name:"start" placeholder:"TIME" help:"Backtest from this time (RFC 3339, e.g. 2023-11-14T22:00:00Z)."`
	Stop     string        `name:"stop" placeholder:"TIME" help:"Backtest up to this time (RFC 3339; default: now). A batch query's tick at --stop is included."`
	Past     time.Duration `name:"past" placeholder:"DURATION" help:"Backtest the last DURATION (e.g. 24h): --start is now minus it, --stop now."`
	Vars     string        `name:"vars" placeholder:"FILE" help:"A vars file as for kapacitor define -vars: {\"name\": {\"type\": \"float\", \"value\": 20}}; --var wins over it."`

	start, stop time.Time // the range, once parsed
	active      bool      // a backtest was asked for
}

// prepare reads the vars file and the backtest flags into opts before the
// task is loaded. On failure it has printed why and returns the exit
// code.
func (r *runCmd) prepare(opts *pipeline.Options, stderr io.Writer) int {
	if r.Vars != "" {
		data, err := os.ReadFile(r.Vars)
		if err != nil {
			fmt.Fprintln(stderr, "tickrun:", err)
			return exitScript
		}
		if opts.VarValues, err = pipeline.ParseVars(r.Vars, data); err != nil {
			fmt.Fprintln(stderr, "tickrun:", err)
			return exitScript
		}
	}
	b := &r.backtestFlags
	b.active = b.InfluxDB != "" || b.Start != "" || b.Stop != "" || b.Past != 0
	if !b.active {
		return exitOK
	}
	r.backtest = true
	if err := b.parseRange(time.Now()); err != nil {
		fmt.Fprintln(stderr, "tickrun:", err)
		return exitScript
	}
	if b.InfluxDB != "" {
		u, err := url.Parse(b.InfluxDB)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fmt.Fprintf(stderr, "tickrun: --influxdb %q: want an http:// or https:// URL\n", b.InfluxDB)
			return exitScript
		}
		// On this machine, answers are faster uncompressed.
		flag := influx.Config{Name: "influxdb-flag", URLs: []string{b.InfluxDB}, Default: true,
			Uncompressed: isLoopback(u.Hostname())}
		if u.User != nil {
			flag.Username = u.User.Username()
			flag.Password, _ = u.User.Password()
			u.User = nil
			flag.URLs = []string{u.String()}
		}
		opts.InfluxDB = []influx.Config{flag}
		// .cluster('name') still finds the sections of kapacitor.conf.
		if r.Config != "" {
			c, err := kapconf.Load(r.Config)
			if err != nil {
				fmt.Fprintln(stderr, "tickrun:", err)
				return exitScript
			}
			more, err := pipeline.InfluxDBConfigs(c)
			if err != nil {
				fmt.Fprintln(stderr, "tickrun:", err)
				return exitScript
			}
			for _, m := range more {
				m.Default = false
				opts.InfluxDB = append(opts.InfluxDB, m)
			}
		}
	}
	return exitOK
}

// parseRange reads --start, --stop and --past.
func (b *backtestFlags) parseRange(now time.Time) error {
	parse := func(flag, s string) (time.Time, error) {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("--%s %q: want an RFC 3339 time such as 2023-11-14T22:00:00Z", flag, s)
		}
		return t, nil
	}
	var err error
	switch {
	case b.Past != 0 && (b.Start != "" || b.Stop != ""):
		return errors.New("--past gives the range: leave out --start and --stop")
	case b.Past < 0:
		return fmt.Errorf("--past %s: want a positive duration", b.Past)
	case b.Past > 0:
		b.start, b.stop = now.Add(-b.Past), now
		return nil
	case b.Start == "":
		return errors.New("a backtest needs a range: --start TIME [--stop TIME], or --past DURATION")
	}
	if b.start, err = parse("start", b.Start); err != nil {
		return err
	}
	b.stop = now
	if b.Stop != "" {
		if b.stop, err = parse("stop", b.Stop); err != nil {
			return err
		}
	}
	if !b.stop.After(b.start) {
		return fmt.Errorf("--stop %s is not after --start %s", b.stop.Format(time.RFC3339Nano), b.start.Format(time.RFC3339Nano))
	}
	return nil
}

// input runs the task over its input: line protocol from stdin, or for a
// backtest InfluxDB over the range. It returns the number of bad input
// lines and the exit code.
func (r *runCmd) input(ctx context.Context, l *loaded, stdin io.Reader, stderr io.Writer) (int, int) {
	if !r.active {
		dec, code := l.feed(ctx, stdin, stderr)
		return dec.BadLines(), code
	}
	b := &r.backtestFlags
	var err error
	if _, isBatch := l.task.BatchPos(); isBatch {
		err = l.task.RunBatches(ctx, b.start, b.stop)
		var q pipeline.QueryStats
		for _, s := range l.task.QueryStats() {
			q.Queries, q.Failed, q.Batches, q.Points, q.Wait = q.Queries+s.Queries, q.Failed+s.Failed, q.Batches+s.Batches, q.Points+s.Points, q.Wait+s.Wait
		}
		fmt.Fprintf(stderr, "tickrun: backtest %s to %s: %d queries (%d failed), %d batches, %d points, %s waiting on InfluxDB\n",
			b.start.UTC().Format(time.RFC3339), b.stop.UTC().Format(time.RFC3339), q.Queries, q.Failed, q.Batches, q.Points, q.Wait.Round(time.Millisecond))
	} else {
		var st pipeline.ReplayStats
		st, err = l.task.ReplayStream(ctx, l.db, l.rp, b.start, b.stop)
		fmt.Fprintf(stderr, "tickrun: backtest %s to %s: %d points read from %q.%q in %d queries, %s waiting on InfluxDB\n",
			b.start.UTC().Format(time.RFC3339), b.stop.UTC().Format(time.RFC3339), st.Points, l.db, l.rp, st.Queries, st.Wait.Round(time.Millisecond))
	}
	switch {
	case err == nil:
		return 0, exitOK
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "tickrun: interrupted: stopped the backtest, delivering what was produced")
		return 0, exitOK
	}
	fmt.Fprintln(stderr, "tickrun: backtest stopped:", err)
	return 0, exitFailed
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
