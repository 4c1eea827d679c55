// Command tickrun runs TICKscript tasks over line protocol, offline, with
// Kapacitor's semantics and alert JSON.
//
//	tickrun run [flags] SCRIPT.tick < points.lp
//	tickrun check SCRIPT.tick...
//
// This file holds only flags and wiring; the work is done by package
// pipeline.
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
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/pipeline"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // I/O error, a task stopped by a node
	exitScript = 2 // the script (or a handler file) is invalid
	// exitDropped: the run went through, but some alert could not be
	// delivered (queue full, retries exhausted, or still queued at the
	// drain timeout).
	exitDropped = 3
)

type cli struct {
	Run     runCmd     `cmd:"" help:"Run a script over line protocol read from stdin."`
	Check   checkCmd   `cmd:"" help:"Parse and compile scripts without running them; exit 2 on any problem."`
	Fmt     fmtCmd     `cmd:"" help:"Format scripts canonically (Kapacitor's tickfmt style)."`
	Graph   graphCmd   `cmd:"" help:"Print a script's pipeline as Graphviz DOT or Mermaid."`
	Test    testCmd    `cmd:"" help:"Run test cases offline and compare the alerts with expected.jsonl."`
	Explain explainCmd `cmd:"" help:"Read line protocol from stdin and tell, per alert id, why events were (not) sent."`
	Serve   serveCmd   `cmd:"" help:"Run as a server, a drop-in for kapacitord: the kapacitor CLI and Telegraf talk to it."`
}

type runCmd struct {
	Script        string            `arg:"" name:"SCRIPT.tick" help:"The TICKscript to run." type:"existingfile"`
	Handler       []string          `name:"handler" placeholder:"FILE" help:"A topic handler file (YAML or JSON), as for kapacitor define-topic-handler. Repeatable."`
	Config        string            `name:"config" placeholder:"FILE" help:"A kapacitor.conf: its handler sections ([slack], [smtp], [[httppost]], ...) configure the handlers."`
	DBRP          string            `name:"dbrp" placeholder:"DB.RP" help:"Database and retention policy the stdin points are written to (default: the script's first dbrp, else telegraf.autogen)."`
	Task          string            `name:"task" placeholder:"NAME" help:"Task name (.TaskName in templates); default: the file name without .tick."`
	Hostname      string            `name:"hostname" help:"Server host name shown by the default details (default: this host's name)."`
	ClusterID     string            `name:"cluster-id" help:"Cluster id shown by the default details." default:"00000000-0000-0000-0000-000000000000"`
	ServerID      string            `name:"server-id" help:"Server id shown by the default details." default:"00000000-0000-0000-0000-000000000000"`
	Print         bool              `name:"print" help:"Also write each alert event to stdout, one JSON per line."`
	Precision     string            `name:"precision" default:"n" enum:"n,u,ms,s,m,h" help:"Unit of line-protocol timestamps: n, u, ms, s, m or h."`
	Var           map[string]string `name:"var" placeholder:"NAME=VALUE" help:"Value of a script var (typed declarations such as 'var t float'). Repeatable."`
	DrainTimeout  time.Duration     `name:"drain-timeout" default:"30s" help:"How long to wait at the end for queued alerts to be delivered; what is left is dropped."`
	QueueSize     int               `name:"queue-size" default:"10000" placeholder:"N" help:"Events queued per handler; when full, new events are dropped (handler files may set queue-size)."`
	InFlight      int               `name:"in-flight" default:"32" placeholder:"N" help:"Events a tcp handler writes and awaits confirmation of at once, dialled in order (tcp handler files may set in-flight); 1 also keeps the order of retried events."`
	RetryAttempts int               `name:"retry-attempts" default:"4" placeholder:"N" help:"Tries per event and handler before it is dropped (exponential backoff with jitter between tries)."`
	RetryMaxTime  time.Duration     `name:"retry-max-time" default:"30s" help:"No retry of an event starts later than this after its first try."`
	FlushWindows  bool              `name:"flush-windows" help:"At the end of the input, emit the last incomplete window of every group (Kapacitor never does)."`
	Workers       int               `name:"workers" placeholder:"N" help:"Goroutines decoding the input in parallel (default: the number of cores); the output is the same for any N."`
	HTTP          string            `name:"http" placeholder:"ADDR" help:"Serve httpOut nodes at http://ADDR/kapacitor/v1/tasks/<task>/<endpoint> while running (off by default)."`

	// capture, when set (tickrun test), receives every delivery instead
	// of the network.
	capture func(kind, target string, payload []byte) `kong:"-"`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program behind main, callable from tests.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	var c cli
	exited := false
	parser, err := kong.New(&c, kong.Name("tickrun"),
		kong.Description("Run TICKscript (Kapacitor) tasks over line protocol, offline."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(c int) { exited, code = true, c; panic(exitPanic{}) }),
		kong.UsageOnError())
	if err != nil {
		fmt.Fprintln(stderr, "tickrun:", err)
		return exitFailed
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(exitPanic); !ok || !exited {
				panic(r)
			}
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintln(stderr, "tickrun:", err)
		return exitScript
	}
	switch kctx.Command() {
	case "run <SCRIPT.tick>":
		return c.Run.run(stdin, stdout, stderr)
	case "check <SCRIPT.tick>":
		return c.Check.run(stdout, stderr)
	case "fmt <SCRIPT.tick>":
		return c.Fmt.run(stdout, stderr)
	case "graph <SCRIPT.tick>":
		return c.Graph.run(stdout, stderr)
	case "test <DIR>":
		return c.Test.run(stdout, stderr)
	case "explain <SCRIPT.tick>":
		return c.Explain.run(stdin, stdout, stderr)
	case "serve":
		return c.Serve.run(stderr)
	}
	fmt.Fprintln(stderr, "tickrun: unknown command", kctx.Command())
	return exitScript
}

type exitPanic struct{}

func loadHandlers(files []string, stderr io.Writer) ([]*pipeline.HandlerSpec, bool) {
	var specs []*pipeline.HandlerSpec
	for _, f := range files {
		s, err := pipeline.LoadHandlerFile(f)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return nil, false
		}
		specs = append(specs, s)
	}
	return specs, true
}

// loadConfig reads a kapacitor.conf, if one is given, and tells which of
// its sections are ignored.
func loadConfig(path string, stderr io.Writer) (*pipeline.KapacitorConfig, bool) {
	if path == "" {
		return nil, true
	}
	c, err := pipeline.LoadKapacitorConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, "tickrun:", err)
		return nil, false
	}
	if n := c.Notice(); n != "" {
		fmt.Fprintln(stderr, n)
	}
	return c, true
}

func (r *runCmd) run(stdin io.Reader, stdout, stderr io.Writer) int {
	src, err := os.ReadFile(r.Script)
	if err != nil {
		fmt.Fprintln(stderr, "tickrun:", err)
		return exitFailed
	}
	conf, ok := loadConfig(r.Config, stderr)
	if !ok {
		return exitScript
	}
	handlers, ok := loadHandlers(r.Handler, stderr)
	if !ok {
		return exitScript
	}
	name := r.Task
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(r.Script), filepath.Ext(r.Script))
	}
	host := r.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	opts := pipeline.Options{
		Vars:     r.Var,
		Server:   pipeline.ServerInfo{Hostname: host, ClusterID: r.ClusterID, ServerID: r.ServerID},
		Handlers: handlers,
		Log:      stderr,
		Config:   conf,

		FlushWindows: r.FlushWindows,
	}
	opts.Deliver.Capture = r.capture
	opts.Deliver.QueueSize, opts.Deliver.Attempts, opts.Deliver.RetryMaxTime = r.QueueSize, r.RetryAttempts, r.RetryMaxTime
	opts.Deliver.InFlight = r.InFlight
	if r.Print {
		opts.OnEvent = func(_ *pipeline.Event, payload []byte) {
			stdout.Write(append(payload, '\n'))
		}
	}
	task, err := pipeline.Compile(name, r.Script, string(src), opts)
	if err != nil {
		fmt.Fprint(stderr, task.ErrorText(err))
		return exitScript
	}
	if pos, ok := task.BatchPos(); ok {
		fmt.Fprint(stderr, task.ErrorText(&ast.Error{Pos: pos, Msg: "batch tasks query InfluxDB, which tickrun cannot do: tickrun runs stream tasks only (tickrun check validates batch scripts)"}))
		task.Close(context.Background())
		return exitScript
	}
	if w := task.Warnings(); len(w) > 0 {
		fmt.Fprint(stderr, task.ErrorText(w))
		fmt.Fprintln(stderr, "tickrun: these lambdas fail on every point they reach; running as Kapacitor would (tickrun check rejects them)")
	}
	db, rp, err := r.dbrp(task)
	if err != nil {
		fmt.Fprintln(stderr, "tickrun:", err)
		return exitScript
	}
	if !task.Accepts(db, rp) {
		fmt.Fprintf(stderr, "tickrun: warning: points are written to %q.%q but the script reads only %v: no point will reach the task\n", db, rp, task.DBRPs())
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
	dec := pipeline.NewDecoder(in)
	dec.Database, dec.RP, dec.Precision = db, rp, pipeline.Precision(r.Precision)
	dec.Workers = r.Workers
	if dec.Workers == 0 {
		dec.Workers = runtime.NumCPU()
	}
	if r.HTTP != "" {
		srv := &http.Server{Addr: r.HTTP, Handler: task.HTTPHandler()}
		ln, err := net.Listen("tcp", r.HTTP)
		if err != nil {
			fmt.Fprintln(stderr, "tickrun: --http:", err)
			task.Close(context.Background())
			return exitFailed
		}
		go srv.Serve(ln)
		defer srv.Close()
	}
	dec.OnError = func(e *pipeline.LineError) { fmt.Fprintf(stderr, "stdin:%v\n", e) }
	code := exitOK
	for {
		p, err := dec.Next()
		if err != nil {
			if ctx.Err() != nil {
				fmt.Fprintln(stderr, "tickrun: interrupted: stopped reading, delivering what was produced")
			} else {
				fmt.Fprintln(stderr, "tickrun: reading stdin:", err)
				code = exitFailed
			}
			break
		}
		if p == nil {
			break
		}
		if err := task.WritePoint(p); err != nil {
			code = exitFailed
			break
		}
	}
	drain, cancel := context.WithTimeout(context.Background(), r.DrainTimeout)
	defer cancel()
	if err := task.Close(drain); err != nil {
		fmt.Fprintln(stderr, "tickrun:", err)
		if !errors.Is(err, context.DeadlineExceeded) {
			code = exitFailed
		} // else the undelivered events are counted as dropped: exit 3 below
	}
	st := task.Stats()
	var failed int64
	hstats := task.HandlerStats()
	for _, h := range hstats {
		failed += h.Dropped
	}
	fmt.Fprintf(stderr, "tickrun: %d points, %d bad lines, %d alerts, %d deliveries failed\n", st.Points, dec.BadLines(), st.Events, failed)
	if r.capture == nil {
		for _, h := range hstats {
			fmt.Fprintf(stderr, "tickrun: handler %s: %d sent, %d retried, %d dropped\n", h.Name, h.Sent, h.Retried, h.Dropped)
		}
	}
	if code == exitOK && failed > 0 {
		code = exitDropped
	}
	return code
}

// dbrp returns where stdin points are written.
func (r *runCmd) dbrp(task *pipeline.Task) (string, string, error) {
	if r.DBRP == "" {
		if d := task.DBRPs(); len(d) > 0 {
			return d[0].Database, d[0].RP, nil
		}
		return "telegraf", "autogen", nil
	}
	db, rp, ok := strings.Cut(r.DBRP, ".")
	if !ok || db == "" {
		return "", "", fmt.Errorf("--dbrp %q: want DB.RP, e.g. telegraf.autogen", r.DBRP)
	}
	return db, rp, nil
}

// interruptible returns a reader that reports context.Canceled once ctx is
// done, so a signal ends the input like EOF would. Standard input that is a
// pipe, FIFO or terminal is switched to non-blocking mode so that Go's
// poller can interrupt a read that waits for data; the returned function
// restores it.
func interruptible(ctx context.Context, r io.Reader) (io.Reader, func()) {
	restore := func() {}
	if f, ok := r.(*os.File); ok && !isRegular(f) {
		fd := int(f.Fd())
		if err := syscall.SetNonblock(fd, true); err == nil {
			pollable := os.NewFile(uintptr(fd), f.Name())
			// The second *os.File shares the descriptor: keep it reachable
			// so its finalizer never closes the descriptor under f.
			keepFiles = append(keepFiles, pollable)
			restore = func() { syscall.SetNonblock(fd, false) }
			go func() {
				<-ctx.Done()
				pollable.SetReadDeadline(time.Now()) // ends a pending read (pipes, FIFOs, terminals)
			}()
			r = pollable
		}
	}
	return &ctxReader{ctx: ctx, r: r}, restore
}

// keepFiles holds the pollable twins of standard input (see interruptible).
var keepFiles []*os.File

// isRegular reports whether f is a regular file, whose reads never wait.
func isRegular(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode().IsRegular()
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && c.ctx.Err() != nil {
		err = c.ctx.Err()
	}
	return n, err
}
