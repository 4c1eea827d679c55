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
	"sync"
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
	// of the network, and onUnhandled the events no handler received.
	capture     func(kind, target string, payload []byte) `kong:"-"`
	onUnhandled func(ev *pipeline.Event, payload []byte)  `kong:"-"`
}

// run runs the script over stdin: compile, serve httpOut, decode and
// write every point, drain the handlers, print the summary.
func (r *runCmd) run(stdin io.Reader, stdout, stderr io.Writer) int {
	out := &printer{w: stdout, log: stderr}
	opts := pipeline.Options{Log: stderr, OnUnhandled: r.onUnhandled, Deliver: deliver.Options{Capture: r.capture,
		QueueSize: r.QueueSize, InFlight: r.InFlight, Attempts: r.RetryAttempts, RetryMaxTime: r.RetryMaxTime}}
	if r.Print {
		opts.OnEvent = func(_ *pipeline.Event, payload []byte) { out.print(payload) }
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
	sig, ctx, stop := onSignals()
	defer stop()
	in, restore := interruptible(ctx, stdin)
	defer restore()
	progress := startProgress(l, in, stdin, stderr)
	bad, code := r.input(ctx, l, progress.reader, stderr)
	progress.stop()
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
	if out.failed() && code == exitOK {
		code = exitFailed
	}
	return signalCode(sig(), code)
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
	if st.GroupsRefused > 0 {
		fmt.Fprintf(stderr, "tickrun: %d points of new groups dropped: a node held --max-groups %d groups\n", st.GroupsRefused, r.MaxGroups)
	}
	for _, n := range task.NodeStats() {
		if n.Errors > 0 {
			logged := ""
			if n.Errors > pipeline.MaxLoggedErrors {
				logged = fmt.Sprintf(" (the first %d logged)", pipeline.MaxLoggedErrors)
			}
			fmt.Fprintf(stderr, "tickrun: node %s: %d errors%s\n", n.Name, n.Errors, logged)
		}
	}
	if points, groups := task.Held(); points > 0 && !r.FlushWindows {
		fmt.Fprintf(stderr, "tickrun: hint: windows still hold %d points of %d groups at the end of the input; --flush-windows emits them (Kapacitor, whose stream never ends, would emit them later)\n", points, groups)
	}
	return failed
}

// onSignals makes SIGINT and SIGTERM stop reading (what was read is
// processed and delivered); a second signal kills the process. It returns
// the signal received, if any, the context it cancels, and stop.
func onSignals() (received func() os.Signal, ctx context.Context, stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	// With SIGPIPE notified, a write to a closed stdout returns EPIPE
	// instead of killing the process (printer stops printing).
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var got os.Signal
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			mu.Lock()
			got = s
			mu.Unlock()
			signal.Stop(ch) // the next one kills
			cancel()
		case <-done:
		}
	}()
	return func() os.Signal {
			mu.Lock()
			defer mu.Unlock()
			return got
		}, ctx, func() {
			close(done)
			signal.Stop(ch)
			cancel()
		}
}

// signalCode is the exit code of a run a signal ended: 128 + the signal,
// as shells report it (130 for SIGINT, 143 for SIGTERM), once the summary
// is printed.
func signalCode(s os.Signal, code int) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return code
}

// printer writes events to stdout for --print. A failed write (a full
// disk, a closed pipe: `tickrun run --print | head -1`) ends the printing
// with one line on stderr, delivery goes on, and the run exits 1.
type printer struct {
	w, log io.Writer
	err    error
}

func (p *printer) print(payload []byte) {
	if p.err != nil {
		return
	}
	if _, err := p.w.Write(append(payload, '\n')); err != nil {
		p.err = err
		why := err.Error()
		if errors.Is(err, syscall.EPIPE) {
			why = "the reader closed it"
		}
		fmt.Fprintf(p.log, "tickrun: writing stdout: %s: stopped printing events; delivery goes on\n", why)
	}
}

func (p *printer) failed() bool { return p.err != nil }
