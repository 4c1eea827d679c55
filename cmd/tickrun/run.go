package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/pipeline/deliver"
)

type runCmd struct {
	taskFlags     `embed:""`
	backtestFlags `embed:""`    // backtest.go
	Print         bool          `name:"print" help:"Also write each alert event to stdout, one JSON per line."`
	DrainTimeout  time.Duration `name:"drain-timeout" default:"30s" help:"How long to wait at the end for queued alerts to be delivered; what is left is dropped."`
	QueueSize     int           `name:"queue-size" default:"10000" placeholder:"N" help:"Events queued per handler; when full, new events are dropped (handler files may set queue-size)."`
	InFlight      int           `name:"in-flight" default:"32" placeholder:"N" help:"Events a tcp handler writes and awaits confirmation of at once, dialled in order (tcp handler files may set in-flight); 1 also keeps the order of retried events."`
	RetryAttempts int           `name:"retry-attempts" default:"0" placeholder:"N" help:"Cap on the tries per event and handler; 0: no cap, an event is tried (backoff with jitter between tries) until --retry-max-time has passed."`
	RetryMaxTime  time.Duration `name:"retry-max-time" default:"30s" help:"No retry of an event starts later than this after its first try."`
	HTTP          string        `name:"http" placeholder:"ADDR" help:"Serve httpOut nodes at http://ADDR/kapacitor/v1/tasks/<task>/<endpoint> while running (off by default)."`

	// capture, when set (tickrun test), receives every delivery instead
	// of the network.
	capture func(kind, target string, payload []byte) `kong:"-"`
}

// run runs the script over stdin: compile, serve httpOut, decode and
// write every point, drain the handlers, print the summary.
func (r *runCmd) run(stdin io.Reader, stdout, stderr io.Writer) int {
	opts := pipeline.Options{Log: stderr, Deliver: deliver.Options{Capture: r.capture, QueueSize: r.QueueSize,
		InFlight: r.InFlight, Attempts: r.RetryAttempts, RetryMaxTime: r.RetryMaxTime}}
	if r.Print {
		opts.OnEvent = func(_ *pipeline.Event, payload []byte) { stdout.Write(append(payload, '\n')) }
	}
	if code := r.prepare(&opts, stderr); code != exitOK {
		return code
	}
	l, code := r.load(opts, stderr)
	if l == nil {
		return code
	}
	if r.HTTP != "" {
		ln, err := net.Listen("tcp", r.HTTP)
		if err != nil {
			fmt.Fprintln(stderr, "tickrun: --http:", err)
			l.task.Close(context.Background())
			return exitFailed
		}
		srv := &http.Server{Handler: l.task.HTTPHandler()}
		go srv.Serve(ln)
		defer srv.Close()
	}
	// SIGINT/SIGTERM stop reading; what was read is processed and delivered.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process
	}()
	in, restore := interruptible(ctx, stdin)
	defer restore()
	bad, code := r.input(ctx, l, in, stderr)
	drain, cancel := context.WithTimeout(context.Background(), r.DrainTimeout)
	defer cancel()
	if err := l.task.Close(drain); err != nil {
		fmt.Fprintln(stderr, "tickrun:", err)
		if !errors.Is(err, context.DeadlineExceeded) {
			code = exitFailed
		} // else the undelivered events are counted as dropped: exit 3 below
	}
	if r.summary(l.task, bad, stderr) > 0 && code == exitOK {
		code = exitDropped
	}
	return code
}

// summary prints what the run did and returns how many deliveries failed.
func (r *runCmd) summary(task *pipeline.Task, bad int, stderr io.Writer) int64 {
	st, hstats := task.Stats(), task.HandlerStats()
	var failed int64
	for _, h := range hstats {
		failed += h.Dropped
	}
	fmt.Fprintf(stderr, "tickrun: %d points, %d bad lines, %d alerts, %d deliveries failed\n", st.Points, bad, st.Events, failed)
	if r.capture == nil {
		for _, h := range hstats {
			fmt.Fprintf(stderr, "tickrun: handler %s: %d sent, %d retried, %d dropped\n", h.Name, h.Sent, h.Retried, h.Dropped)
		}
	}
	return failed
}
