package pipeline

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/influx"
)

// batchSource is the source of a batch task, `batch`; its children are
// the task's query nodes. It also holds what runs them on the wall
// clock (batch_run.go).
type batchSource struct {
	nodeBase
	run *batchRunner // set while StartBatches runs the queries
}

// queryNode is `batch|query('SELECT ...')` (spec/server.md §5.2): on each
// tick of its schedule it renders the InfluxQL for the tick's window,
// sends it to the InfluxDB of its .cluster() and hands each series of the
// answer to its children as one batch. Task.RunBatches drives it on the
// data's clock (a backtest), Task.StartBatches on the wall clock.
type queryNode struct {
	nodeBase
	text    string // the query() text
	textPos ast.Pos
	qopts   influx.QueryOptions
	sopts   influx.ScheduleOptions
	cluster string
	byName  bool // groupByMeasurement
	query   *influx.Query
	sched   *influx.Schedule
	clients *influxClients
	stats   QueryStats
}

func init() {
	register(&Spec{
		Method: "batch", Kind: "batch", Doc: "the source of a batch task",
		Wants: batchEdge, Provides: batchEdge,
		New: func(*binder, *ast.Chain, []value) (node, error) { return &batchSource{}, nil },
	})
	register(&Spec{
		Method: "query", Kind: "query", Doc: "queries InfluxDB on a schedule, one batch per series",
		Args: []argKind{argString}, Wants: batchEdge, Provides: batchEdge,
		New: func(b *binder, c *ast.Chain, a []value) (node, error) {
			return &queryNode{text: a[0].scalar.Str(), textPos: a[0].pos, clients: b.influxClients()}, nil
		},
		Props: []*Prop{
			propDuration("period", "length of the queried window", func(n *queryNode, d time.Duration) error { n.sopts.Period = d; return nil }),
			propDuration("every", "query every this long", func(n *queryNode, d time.Duration) error { n.sopts.Every = d; return nil }),
			propDuration("offset", "end the window this long before the tick", func(n *queryNode, d time.Duration) error { n.sopts.Offset = d; return nil }),
			propNone("align", "tick on multiples of every", func(n *queryNode) { n.sopts.Align = true }),
			propNone("alignGroup", "align the GROUP BY time buckets to the window start", func(n *queryNode) { n.qopts.AlignGroup = true }),
			propString("cron", "query schedule as a cron expression (local time)", func(n *queryNode, s string) error { n.sopts.Cron = s; return nil }),
			propString("cluster", "the [[influxdb]] section of kapacitor.conf to query", func(n *queryNode, s string) error { n.cluster = s; return nil }),
			{Name: "groupBy", Doc: "GROUP BY tags, * or time(d[, offset])", Variadic: argAny,
				set: func(b *binder, x node, _ *ast.Chain, a []value) error { return x.(*queryNode).setGroupBy(b, a) }},
			propNone("groupByMeasurement", "include the measurement in the group", func(n *queryNode) { n.byName = true }),
			{Name: "fill", Doc: "fill empty time buckets: 'null', 'none', 'previous', 'linear' or a number", Args: []argKind{argScalar},
				set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
					n, v := x.(*queryNode), a[0].scalar
					switch v.Kind {
					case eval.String:
						f, err := influx.ParseFill(v.Str())
						if err != nil {
							return ast.Errorf(a[0].pos, "%v", err)
						}
						n.qopts.Fill = f
					case eval.Int:
						n.qopts.Fill = influx.FillInt(v.Int())
					case eval.Float:
						n.qopts.Fill = influx.FillFloat(v.Float())
					default:
						return ast.Errorf(a[0].pos, "unexpected fill type %s", v.Kind)
					}
					return nil
				}},
		},
	})
}

// setGroupBy reads groupBy's arguments: tag names, * and time(d[, o]).
func (n *queryNode) setGroupBy(b *binder, args []value) error {
	n.qopts.GroupBy = nil
	for _, a := range args {
		switch {
		case a.star:
			n.qopts.GroupBy = append(n.qopts.GroupBy, influx.StarDimension())
		case a.call != nil:
			d, err := b.timeDimension(a.call)
			if err != nil {
				return err
			}
			n.qopts.GroupBy = append(n.qopts.GroupBy, d)
		case a.isScalar && a.scalar.Kind == eval.String:
			n.qopts.GroupBy = append(n.qopts.GroupBy, influx.TagDimension(a.scalar.Str()))
		default:
			return ast.Errorf(a.pos, "groupBy of a query takes tag names, * or time(d), got %s", a.describe())
		}
	}
	return nil
}

// timeDimension evaluates time(interval[, offset]).
func (b *binder) timeDimension(c *ast.Call) (influx.Dimension, error) {
	if len(c.Args) < 1 || len(c.Args) > 2 {
		return influx.Dimension{}, ast.Errorf(c.Pos, "time() takes an interval and an optional offset, got %d arguments", len(c.Args))
	}
	var ds [2]time.Duration
	for i, x := range c.Args {
		v, err := b.expr(x)
		if err != nil {
			return influx.Dimension{}, err
		}
		if !v.isScalar || v.scalar.Kind != eval.Duration {
			return influx.Dimension{}, ast.Errorf(v.pos, "argument %d of time() must be a duration, got %s", i+1, v.describe())
		}
		ds[i] = v.scalar.Duration()
	}
	if ds[0] <= 0 {
		return influx.Dimension{}, ast.Errorf(c.Pos, "time() interval must be positive")
	}
	return influx.TimeDimension(ds[0], ds[1]), nil
}

// validate builds the query and its schedule as Kapacitor does when it
// creates the node: bad InfluxQL, a bad fill, a schedule without every
// or cron are errors of the script.
func (n *queryNode) validate() error {
	q, err := influx.NewQuery(n.text, n.qopts)
	if err != nil {
		var se *influx.SyntaxError
		if errors.As(err, &se) {
			return &ast.Error{Pos: n.queryPos(se), Msg: se.Msg}
		}
		return err
	}
	s, err := influx.NewSchedule(n.sopts)
	if err != nil {
		return err
	}
	n.query, n.sched = q, s
	return nil
}

// queryPos is where in the script a syntax error of the query text is:
// inside a one-line string literal, at the error's column; else at the
// literal.
func (n *queryNode) queryPos(se *influx.SyntaxError) ast.Pos {
	pos := n.textPos
	if se.Offset < 0 || se.Line != 1 {
		return pos
	}
	src := n.task.src.Text
	quote := 1
	if strings.HasPrefix(src[min(pos.Offset, len(src)):], "'''") {
		quote = 3
	}
	lit := src[min(pos.Offset+quote, len(src)):]
	if nl := strings.IndexByte(lit, '\n'); nl >= 0 && nl < se.Offset || strings.ContainsRune(lit[:min(se.Offset, len(lit))], '\\') {
		return pos
	}
	pos.Offset += quote + se.Offset
	pos.Col += quote + se.Col - 1
	return pos
}

func (n *batchSource) point(*Point) {}
func (n *batchSource) batch(*Batch) {}
func (n *queryNode) point(*Point)   {}
func (n *queryNode) batch(b *Batch) { n.emitBatch(b) }

var (
	_ batchNode = (*batchSource)(nil)
	_ batchNode = (*queryNode)(nil)
	_ validator = (*queryNode)(nil)
)

// BatchPos returns where the script first uses the batch source, if it
// does: the task is a batch task, run by RunBatches or StartBatches.
func (t *Task) BatchPos() (ast.Pos, bool) {
	if t.batchPos == nil {
		return ast.Pos{}, false
	}
	return *t.batchPos, true
}

// QueryStats counts what one query node has done.
type QueryStats struct {
	Node    string        // "query1"
	Queries int64         // queries sent
	Failed  int64         // queries that failed (network, InfluxDB's error)
	Batches int64         // batches handed on: one per series of the answers
	Points  int64         // points in them
	Wait    time.Duration // time spent waiting for InfluxDB's answers
}

// QueryStats returns the counters of the task's query nodes, in script
// order (Kapacitor's batches_queried and points_queried, and more).
func (t *Task) QueryStats() []QueryStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []QueryStats
	for _, q := range t.queryNodes() {
		s := q.stats
		s.Node = q.name
		out = append(out, s)
	}
	return out
}

// queryNodes returns the task's query nodes in script order.
func (t *Task) queryNodes() []*queryNode {
	var out []*queryNode
	for _, n := range t.nodes {
		if q, ok := n.(*queryNode); ok {
			out = append(out, q)
		}
	}
	return out
}

// batchSourceNode returns the task's batch source, or nil.
func (t *Task) batchSourceNode() *batchSource {
	for _, n := range t.nodes {
		if b, ok := n.(*batchSource); ok {
			return b
		}
	}
	return nil
}

// influxClients returns the binder's InfluxDB clients, shared by the
// task's nodes.
func (b *binder) influxClients() *influxClients {
	if b.influx == nil {
		b.influx = &influxClients{opts: b.opts}
	}
	return b.influx
}

// String describes the node's query for logs.
func (n *queryNode) String() string { return fmt.Sprintf("%s %q", n.name, n.text) }
