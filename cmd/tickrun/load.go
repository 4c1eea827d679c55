package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/handler"
	"github.com/tickrun/tickrun/pipeline/kapconf"
	"github.com/tickrun/tickrun/pipeline/lineproto"
)

// taskFlags are the flags of every command that runs a script over line
// protocol (run, explain, and test through a case's args): the script, its
// handler files and kapacitor.conf, its vars and identity, and where its
// input goes.
type taskFlags struct {
	Script       string            `arg:"" name:"SCRIPT.tick" help:"The TICKscript to run." type:"existingfile"`
	Handler      []string          `name:"handler" placeholder:"FILE" help:"A topic handler file (YAML or JSON), as for kapacitor define-topic-handler. Repeatable."`
	Config       string            `name:"config" placeholder:"FILE" help:"A kapacitor.conf: its handler sections ([slack], [smtp], [[httppost]], ...) configure the handlers."`
	DBRP         string            `name:"dbrp" placeholder:"DB.RP" help:"Database and retention policy the stdin points are written to (default: the script's first dbrp, else telegraf.autogen)."`
	Task         string            `name:"task" placeholder:"NAME" help:"Task name (.TaskName in templates); default: the file name without .tick."`
	Hostname     string            `name:"hostname" help:"Server host name shown by the default details (default: this host's name)."`
	ClusterID    string            `name:"cluster-id" help:"Cluster id shown by the default details." default:"00000000-0000-0000-0000-000000000000"`
	ServerID     string            `name:"server-id" help:"Server id shown by the default details." default:"00000000-0000-0000-0000-000000000000"`
	Precision    string            `name:"precision" default:"n" enum:"n,u,ms,s,m,h" help:"Unit of line-protocol timestamps: n, u, ms, s, m or h."`
	Var          map[string]string `name:"var" placeholder:"NAME=VALUE" help:"Value of a script var (typed declarations such as 'var t float'). Repeatable."`
	FlushWindows bool              `name:"flush-windows" help:"At the end of the input, emit the last incomplete window of every group (Kapacitor never does)."`
	Workers      int               `name:"workers" placeholder:"N" help:"Goroutines decoding the input in parallel (default: the number of cores); the output is the same for any N."`
	MaxGroups    int               `name:"max-groups" placeholder:"N" help:"Groups each node keeps state for (0: no bound); the points of a new group beyond it are dropped, counted and warned about once."`
	GroupExpiry  time.Duration     `name:"group-expiry" placeholder:"D" help:"Release the state of groups with no point for this long in data time (0: only groups whose state is like a new one's); a window emits what it holds first, an alert forgets its level."`
	MaxLineSize  int               `name:"max-line-size" default:"4194304" placeholder:"BYTES" help:"Longest line-protocol line taken; a longer one is reported as bad with its length and skipped (negative: no limit)."`
	Strict       bool              `name:"strict" help:"Exit 1 when any line of the input is bad (the good lines still run)."`
	TemplateTime time.Duration     `name:"template-timeout" default:"100ms" help:"How long rendering one template of an event may take; an event over it is dropped and counted."`
	TemplateSize int               `name:"template-max-size" default:"1048576" placeholder:"BYTES" help:"How much output one template of an event may produce; an event over it is dropped and counted."`

	backtest bool // run --influxdb/--start/--stop/--past: input from InfluxDB (backtest.go)
}

// loaded is a compiled task and where its input points are written.
type loaded struct {
	task        *pipeline.Task
	db, rp      string
	precision   lineproto.Precision
	workers     int
	maxLineSize int
	strict      bool
}

// load reads the script, its kapacitor.conf and handler files, compiles
// the task with opts completed from the flags, and prints its warnings.
// On failure it has printed why and returns the exit code.
func (f *taskFlags) load(opts pipeline.Options, stderr io.Writer) (*loaded, int) {
	src, err := os.ReadFile(f.Script)
	if err != nil {
		fmt.Fprintln(stderr, "tickrun:", err)
		return nil, exitFailed
	}
	var ok bool
	if opts.Config, ok = loadConfig(f.Config, stderr); !ok {
		return nil, exitScript
	}
	if opts.Handlers, ok = loadHandlers(f.Handler, stderr); !ok {
		return nil, exitScript
	}
	name := f.Task
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(f.Script), filepath.Ext(f.Script))
	}
	host := f.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	opts.Vars, opts.FlushWindows = f.Var, f.FlushWindows
	opts.TemplateLimits = alert.Limits{Time: f.TemplateTime, Size: f.TemplateSize}
	opts.MaxGroups, opts.GroupExpiry = f.MaxGroups, f.GroupExpiry
	opts.Server = pipeline.ServerInfo{Hostname: host, ClusterID: f.ClusterID, ServerID: f.ServerID}
	task, err := pipeline.Compile(name, f.Script, string(src), opts)
	if err != nil {
		fmt.Fprint(stderr, task.ErrorText(err))
		return nil, exitScript
	}
	if pos, ok := task.BatchPos(); ok && !f.backtest {
		fmt.Fprint(stderr, task.ErrorText(&ast.Error{Pos: pos, Msg: "a batch task queries InfluxDB over a time range: run it with --influxdb URL --start TIME [--stop TIME] (or --past 24h); it reads no stdin"}))
		task.Close(context.Background())
		return nil, exitScript
	}
	if w := task.Warnings(); len(w) > 0 {
		fmt.Fprint(stderr, task.ErrorText(w))
		fmt.Fprintln(stderr, "tickrun: these lambdas fail on every point they reach; running as Kapacitor would (tickrun check rejects them)")
	}
	l := &loaded{task: task, precision: lineproto.Precision(f.Precision), workers: f.Workers, maxLineSize: f.MaxLineSize, strict: f.Strict}
	if l.db, l.rp, err = f.dbrp(task); err != nil {
		fmt.Fprintln(stderr, "tickrun:", err)
		task.Close(context.Background())
		return nil, exitScript
	}
	for _, w := range task.UnusedVars() {
		fmt.Fprintf(stderr, "tickrun: warning: --var: %s\n", w)
	}
	for _, h := range opts.Handlers {
		if !slices.Contains(task.Topics(), h.Topic) {
			fmt.Fprintf(stderr, "tickrun: warning: handler %s (%s) listens to topic %q, to which no alert node of the script publishes (.topic(%q)): it will receive nothing\n", h.ID, h.File, h.Topic, h.Topic)
		}
	}
	if !task.Accepts(l.db, l.rp) {
		fmt.Fprintf(stderr, "tickrun: warning: points are written to %q.%q but the script reads only %v: no point will reach the task\n", l.db, l.rp, task.DBRPs())
	}
	if l.workers == 0 {
		l.workers = runtime.NumCPU()
	}
	return l, exitOK
}

// dbrp returns where stdin points are written.
func (f *taskFlags) dbrp(task *pipeline.Task) (string, string, error) {
	if f.DBRP == "" {
		if d := task.DBRPs(); len(d) > 0 {
			return d[0].Database, d[0].RP, nil
		}
		return "telegraf", "autogen", nil
	}
	db, rp, ok := strings.Cut(f.DBRP, ".")
	if !ok || db == "" {
		return "", "", fmt.Errorf("--dbrp %q: want DB.RP, e.g. telegraf.autogen", f.DBRP)
	}
	return db, rp, nil
}

// feed decodes line protocol from in into the task until the end of the
// input, a read error or a closed task. Bad lines are reported on stderr
// (the first 20, then counted) and skipped; a precision that makes the
// first timestamp absurd is warned about once. It returns the decoder,
// for its counts, and exitFailed on a read error, or on a bad line with
// --strict.
func (l *loaded) feed(ctx context.Context, in io.Reader, stderr io.Writer) (*lineproto.Decoder, int) {
	dec := lineproto.NewDecoder(in)
	dec.Database, dec.RP, dec.Precision, dec.Workers = l.db, l.rp, l.precision, l.workers
	dec.MaxLineSize = l.maxLineSize
	dec.OnError = func(e *lineproto.LineError) { fmt.Fprintf(stderr, "stdin:%v\n", e) }
	dec.OnPrecisionHint = func(h *lineproto.PrecisionHint) {
		if h.Likely != "" {
			fmt.Fprintf(stderr, "tickrun: warning: %v\n", h)
		}
	}
	code := exitOK
	for {
		p, err := dec.Next()
		if err != nil {
			if ctx.Err() != nil {
				fmt.Fprintln(stderr, "tickrun: interrupted: stopped reading, delivering what was produced")
				break
			}
			fmt.Fprintln(stderr, "tickrun: reading stdin:", err)
			code = exitFailed
			break
		}
		if p == nil {
			break
		}
		if err := l.task.WritePoint(p); err != nil {
			code = exitFailed
			break
		}
	}
	if n := dec.Unreported(); n > 0 {
		fmt.Fprintf(stderr, "tickrun: %d more bad lines (not reported one by one)\n", n)
	}
	if dec.BadLines() > 0 && dec.Points() == 0 {
		fmt.Fprintf(stderr, "tickrun: every line of the input was bad (%d lines): is it line protocol?\n", dec.BadLines())
	}
	if l.strict && dec.BadLines() > 0 && code == exitOK {
		fmt.Fprintf(stderr, "tickrun: --strict: %d bad lines\n", dec.BadLines())
		code = exitFailed
	}
	return dec, code
}

func loadHandlers(files []string, stderr io.Writer) ([]*handler.Spec, bool) {
	var specs []*handler.Spec
	for _, f := range files {
		s, err := handler.LoadFile(f)
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
func loadConfig(path string, stderr io.Writer) (*kapconf.Config, bool) {
	if path == "" {
		return nil, true
	}
	c, err := kapconf.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, "tickrun:", err)
		return nil, false
	}
	if n := c.Notice(); n != "" {
		fmt.Fprintln(stderr, n)
	}
	return c, true
}
