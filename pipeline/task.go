package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/parser"
)

// ServerInfo is the server identity Kapacitor shows in the default alert
// details (alert.md §8).
type ServerInfo struct {
	Hostname  string
	ClusterID string
	ServerID  string
}

// NilUUID is the default ClusterID and ServerID.
const NilUUID = "00000000-0000-0000-0000-000000000000"

// Options configure a task.
type Options struct {
	// Vars supplies values of typed var declarations (`var x float`), and
	// overrides plain ones of the same type, as strings parsed by the
	// declared type.
	Vars map[string]string
	// Server is the identity shown by the default details template.
	Server ServerInfo
	// Handlers are topic handlers, as loaded from handler files.
	Handlers []*HandlerSpec
	// OnEvent, if set, sees every event an alert node sends, with its JSON
	// (no trailing newline), before the handlers do. It must not keep the
	// byte slice.
	OnEvent func(ev *Event, payload []byte)
	// Log receives per-point errors of nodes (one line each) and handler
	// failures; nil discards them.
	Log io.Writer
	// KapacitorID names the anonymous topics ("<id>:<task>:<node>"); default
	// "tickrun".
	KapacitorID string
	// Explain, if set, receives the story of every point an alert node
	// sees (tickrun explain).
	Explain func(*Explanation)
	// FlushWindows emits the last, incomplete window of every group at the
	// end of the input. Kapacitor never does (a stream never ends), so the
	// default is off.
	FlushWindows bool
	// Deliver tunes alert delivery; zero values take the defaults.
	Deliver DeliveryOptions
	// Config is the user's kapacitor.conf: URLs, credentials and defaults
	// of the slack, teams, telegram, victorops, pagerduty2, smtp and
	// httppost handlers. Without it those handlers are errors.
	Config *KapacitorConfig
}

// Stats counts what a task has done.
type Stats struct {
	Points     int64 // points written to the task
	Events     int64 // alert events sent by alert nodes
	NodeErrors int64 // per-point errors in nodes (points dropped or levels not matched)
}

// Task is a compiled TICKscript ready to receive points. A Task is not safe
// for concurrent use: write points from one goroutine (handlers deliver in
// their own goroutines).
type Task struct {
	name     string
	src      *ast.Source
	opts     Options
	nodes    []node
	stream   *streamNode
	dbrps    []DBRP
	warnings ast.ErrorList
	groups   groupIDs
	topics   *topics
	stats    Stats
	logMu    sync.Mutex
	fatal    error // set when a node stops the task (template execution errors)
	batchPos *ast.Pos
	closed   bool
}

// Compile parses and binds a script, compiles every lambda and template and
// prepares handlers. name is the task name (templates' .TaskName); srcName
// is the file name used in error messages. The error, if any, is an
// *ast.Error or an ast.ErrorList: render it with Source().Render or
// ErrorText. Problems Kapacitor only finds per point are returned by
// Warnings and do not stop compilation.
func Compile(name, srcName, src string, opts Options) (*Task, error) {
	source := ast.NewSource(srcName, src)
	t := &Task{name: name, src: source, opts: opts}
	if t.opts.KapacitorID == "" {
		t.opts.KapacitorID = "tickrun"
	}
	prog, err := parser.Parse(srcName, src)
	if err != nil {
		return t, err
	}
	b := newBinder(source, &t.opts)
	b.program(prog)
	t.nodes, t.stream, t.dbrps, t.batchPos = b.nodes, b.stream, b.dbrps, b.batchPos
	for _, n := range t.nodes {
		n.base().task = t
	}
	if b.errs.Err() == nil {
		if len(t.stream.children) == 0 && (b.batch == nil || len(b.batch.children) == 0) {
			b.errs.Add(&ast.Error{Pos: source.PosOf(0), Msg: "the script defines no pipeline: a stream task starts with stream|from() (Kapacitor: invalid task type)"})
		}
		for _, n := range t.nodes {
			if v, ok := n.(validator); ok {
				if err := v.validate(); err != nil {
					b.report(n.base().pos, err)
				}
			}
		}
	}
	var list ast.ErrorList
	for _, e := range b.errs {
		if e != errAlreadyReported {
			list = append(list, e)
		}
	}
	list.Sort()
	t.warnings = list.Warnings()
	if errs := list.Errors(); len(errs) > 0 {
		return t, errs
	}
	t.topics = newTopics(t)
	for _, n := range t.nodes {
		if s, ok := n.(starter); ok {
			if err := s.start(t); err != nil {
				t.topics.close(context.Background())
				if _, ok := err.(*ast.Error); !ok {
					err = &ast.Error{Pos: n.base().pos, Msg: err.Error()}
				}
				return t, err
			}
		}
	}
	if err := t.topics.subscribe(opts.Handlers); err != nil {
		t.topics.close(context.Background())
		return t, err
	}
	return t, nil
}

// Name returns the task name.
func (t *Task) Name() string { return t.name }

// Source returns the script, which renders positioned errors.
func (t *Task) Source() *ast.Source { return t.src }

// Warnings returns the problems Kapacitor would only find per point, such
// as an unknown function in a lambda; the task runs as Kapacitor would.
func (t *Task) Warnings() ast.ErrorList { return t.warnings }

// DBRPs returns the script's dbrp statements.
func (t *Task) DBRPs() []DBRP { return t.dbrps }

// Accepts reports whether points written to database db and retention
// policy rp reach the task: always when the script has no dbrp statement,
// otherwise when (db, rp) is one of them (lineprotocol.md §6).
func (t *Task) Accepts(db, rp string) bool {
	if len(t.dbrps) == 0 {
		return true
	}
	for _, d := range t.dbrps {
		if d.Database == db && d.RP == rp {
			return true
		}
	}
	return false
}

// ErrStopped is returned by WritePoint once a node has stopped the task.
var ErrStopped = errors.New("task stopped")

// WritePoint runs one point through the task. The point is borrowed for
// the duration of the call: the task copies whatever it keeps. Points whose
// Database and RP the task does not accept are ignored.
func (t *Task) WritePoint(p *Point) error {
	if t.fatal != nil {
		return t.fatal
	}
	if !t.Accepts(p.Database, p.RP) {
		return nil
	}
	t.stats.Points++
	t.stream.point(p)
	return t.fatal
}

// Write runs a point given as Go values through the task, written to
// database db and retention policy rp. Field values may be float64, int64,
// int, string or bool.
func (t *Task) Write(db, rp, name string, tags map[string]string, fields map[string]any, ts time.Time) error {
	p := &Point{Name: name, Database: db, RP: rp, Timestamp: ts.UnixNano()}
	for k, v := range tags {
		p.Tags = append(p.Tags, Tag{k, v})
	}
	sortTags(p.Tags)
	for k, v := range fields {
		var ev eval.Value
		switch v := v.(type) {
		case float64:
			ev = eval.FloatValue(v)
		case float32:
			ev = eval.FloatValue(float64(v))
		case int64:
			ev = eval.IntValue(v)
		case int:
			ev = eval.IntValue(int64(v))
		case string:
			ev = eval.StringValue(v)
		case bool:
			ev = eval.BoolValue(v)
		default:
			return fmt.Errorf("field %q: unsupported value type %T", k, v)
		}
		p.Fields = append(p.Fields, Field{k, ev})
	}
	p.Fields = sortFields(p.Fields)
	return t.WritePoint(p)
}

// WriteLineProtocol decodes line protocol from r and writes every point to
// the task as written to db/rp. Bad lines go to onError (if not nil) and
// are skipped. It returns the number of bad lines.
func (t *Task) WriteLineProtocol(r io.Reader, db, rp string, onError func(*LineError)) (bad int, err error) {
	d := NewDecoder(r)
	d.Database, d.RP, d.OnError = db, rp, onError
	for {
		p, err := d.Next()
		if err != nil {
			return d.BadLines(), err
		}
		if p == nil {
			return d.BadLines(), nil
		}
		if err := t.WritePoint(p); err != nil {
			return d.BadLines(), err
		}
	}
}

// Close ends the input: nodes that drain at the end do so, then Close
// waits until every queued alert has been delivered or ctx is done.
func (t *Task) Close(ctx context.Context) error {
	if t.closed {
		return nil
	}
	t.closed = true
	for _, n := range t.nodes {
		if f, ok := n.(finisher); ok {
			f.finish()
		}
	}
	if t.topics != nil {
		if err := t.topics.close(ctx); err != nil {
			return err
		}
	}
	return t.fatal
}

// Stats returns what the task has done so far.
func (t *Task) Stats() Stats { return t.stats }

// HandlerStats returns delivery counters per handler, in subscription order.
func (t *Task) HandlerStats() []HandlerStats {
	if t.topics == nil {
		return nil
	}
	return t.topics.stats()
}

// stop makes the task refuse further points (a template failed to execute,
// as in Kapacitor, where such an error stops the task).
func (t *Task) stop(n *nodeBase, err error) {
	if t.fatal == nil {
		t.fatal = fmt.Errorf("%s: %w: %v", n.name, ErrStopped, err)
		t.logf("%v", t.fatal)
	}
}

// logf writes one line to the log.
func (t *Task) logf(format string, args ...any) {
	if t.opts.Log == nil {
		return
	}
	t.logMu.Lock()
	defer t.logMu.Unlock()
	line := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(line, "\n") {
		line += "\n"
	}
	io.WriteString(t.opts.Log, line)
}

// ErrorText renders an error returned by Compile for a person: positioned
// errors as "file:line:col: message" with the source line and a caret.
func (t *Task) ErrorText(err error) string {
	return t.src.Render(err)
}
