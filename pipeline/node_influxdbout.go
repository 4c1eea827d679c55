package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/pipeline/deliver"
	"github.com/tickrun/tickrun/pipeline/influx"
	"github.com/tickrun/tickrun/pipeline/lineproto"
)

// influxDBOutNode writes the points it sees to InfluxDB and passes them
// on. As in Kapacitor it writes to the [[influxdb]] section of
// kapacitor.conf named by .cluster(), or the default one (its URLs,
// credentials and timeout; tickrun run --influxdb gives it too); without
// any, to http://localhost:8086, Kapacitor's default. tickrun also takes
// the server's URL in the script: `.url('http://host:8086')`. Points are
// buffered and written `buffer` at a time as line protocol, in one
// /write?consistency=&db=&precision=&rp= request each; with .create() the
// database (with .retentionPolicy(), its default policy) is created
// before the first write, a failure logged and not fatal. Writes go
// through a queue beside the pipeline with retries and counters, like
// alert handlers. flushInterval is accepted, but tickrun's clock is the
// data's: the buffer is written when full and at the end of the input.
type influxDBOutNode struct {
	nodeBase
	url, db, rp, measurement string
	cluster                  string
	precision, consistency   string
	tags                     []Tag
	buffer                   int
	create                   bool
	lines                    []byte
	count                    int
	out                      deliver.Sink
	clients                  *influxClients
}

func init() {
	str := func(name, doc string, set func(n *influxDBOutNode, s string)) *Prop {
		return propString(name, doc, func(n *influxDBOutNode, s string) error { set(n, s); return nil })
	}
	register(&Spec{
		Method: "influxDBOut", Kind: "influxdb_out", Doc: "writes points to InfluxDB and passes them on",
		Wants: anyEdge, Provides: anyEdge,
		New: func(b *binder, _ *ast.Chain, _ []value) (node, error) {
			return &influxDBOutNode{buffer: 1000, clients: b.influxClients()}, nil
		},
		Props: []*Prop{
			str("url", "the InfluxDB server (tickrun's own; Kapacitor takes it from [[influxdb]])", func(n *influxDBOutNode, s string) { n.url = s }),
			str("cluster", "the [[influxdb]] section of kapacitor.conf to write to", func(n *influxDBOutNode, s string) { n.cluster = s }),
			str("database", "database to write to", func(n *influxDBOutNode, s string) { n.db = s }),
			str("retentionPolicy", "retention policy to write to", func(n *influxDBOutNode, s string) { n.rp = s }),
			str("measurement", "measurement name to write (default: the point's)", func(n *influxDBOutNode, s string) { n.measurement = s }),
			str("writeConsistency", "write consistency (InfluxDB Enterprise)", func(n *influxDBOutNode, s string) { n.consistency = s }),
			propString("precision", "precision of the written timestamps: n, u, ms, s, m, h", func(n *influxDBOutNode, s string) error {
				switch s {
				case "n", "ns", "u", "ms", "s", "m", "h":
					n.precision = s
					return nil
				}
				return fmt.Errorf("invalid precision %q: want n, u, ms, s, m or h", s)
			}),
			{Name: "tag", Doc: "a static tag added to every point", Args: []argKind{argString, argString},
				set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
					n := x.(*influxDBOutNode)
					n.tags = append(n.tags, Tag{Key: a[0].scalar.Str(), Value: a[1].scalar.Str()})
					return nil
				}},
			propInt("buffer", "points per write request (default 1000)", func(n *influxDBOutNode, i int64) error {
				if i <= 0 {
					return errors.New("buffer must be positive")
				}
				n.buffer = int(i)
				return nil
			}),
			propDuration("flushInterval", "accepted; tickrun writes when the buffer is full and at the end of the input", func(*influxDBOutNode, time.Duration) error { return nil }),
			propNone("create", "create the database (and retention policy) before the first write", func(n *influxDBOutNode) { n.create = true }),
		},
	})
}

func (n *influxDBOutNode) validate() error {
	if n.db == "" {
		return errors.New("influxDBOut needs a database: .database('name')")
	}
	if n.url != "" {
		if u, err := url.Parse(n.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("url: want an http:// or https:// URL, got %q", n.url)
		}
	}
	return nil
}

// target returns the configuration the node writes with: .url(), else
// the [[influxdb]] section (.cluster() or the default), else
// localhost:8086 when no InfluxDB is configured at all.
func (n *influxDBOutNode) target(t *Task) (influx.Config, error) {
	if n.url != "" {
		return influx.Config{Name: "url", URLs: []string{n.url}, Timeout: 10 * time.Second}, nil
	}
	if t.opts.Config != nil && t.opts.Config.Lenient && t.opts.InfluxDB == nil {
		// tickrun check without a kapacitor.conf: any cluster will do.
		return influx.Config{Name: "default", URLs: []string{"http://localhost:8086"}}, nil
	}
	cfg, err := n.clients.config(n.cluster)
	switch {
	case errors.Is(err, errNoInfluxDB) && n.cluster == "":
		return influx.Config{Name: "default", URLs: []string{"http://localhost:8086"}, Timeout: 10 * time.Second}, nil
	case err != nil:
		return influx.Config{}, err
	}
	return *cfg, nil
}

// precisionParam is the precision sent with the writes: ns unless the
// script says.
func (n *influxDBOutNode) precisionParam() string {
	if n.precision == "" || n.precision == "n" {
		return "ns"
	}
	return n.precision
}

func (n *influxDBOutNode) start(t *Task) error {
	cfg, err := n.target(t)
	if err != nil {
		return err
	}
	req := influx.WriteRequest{Database: n.db, RetentionPolicy: n.rp, Precision: n.precisionParam(), Consistency: n.consistency}
	target := strings.TrimSuffix(cfg.URLs[0], "/") + "/write?" + url.Values{"db": {n.db}, "rp": {n.rp},
		"precision": {req.Precision}, "consistency": {n.consistency}}.Encode()
	if t.opts.Deliver.Capture != nil {
		n.out = &deliver.Capture{Kind: "influxDBOut", Target: target, Fn: t.opts.Deliver.Capture}
		t.outputs = append(t.outputs, output{c: n.out})
		return nil
	}
	client, err := influx.New(cfg)
	if err != nil {
		return err
	}
	created := !n.create
	try := func(ctx context.Context, body []byte) error {
		if !created {
			created = true
			stmt := "CREATE DATABASE " + influx.QuoteIdent(n.db)
			if n.rp != "" {
				stmt += " WITH NAME " + influx.QuoteIdent(n.rp)
			}
			if _, err := client.Query(ctx, influx.QueryRequest{Command: stmt}); err != nil {
				t.logf("%s: failed to create database %q: %v task=%s", n.name, n.db, err, t.name)
			}
		}
		w := req
		w.Body = body
		err := client.Write(ctx, w)
		var ie *influx.Error
		if errors.As(err, &ie) && ie.Status != 0 && ie.Status != http.StatusTooManyRequests && ie.Status < 500 {
			return deliver.Permanent(err) // the same body would get the same answer
		}
		return err
	}
	n.out = deliver.NewQueue("influxDBOut "+target, "", t.opts.Deliver, t.logf, try).Start()
	t.outputs = append(t.outputs, output{c: n.out})
	return nil
}

func (n *influxDBOutNode) point(p *Point) {
	n.add(p)
	n.emit(p)
}

func (n *influxDBOutNode) batch(b *Batch) {
	for _, p := range b.Points {
		n.add(p)
	}
	n.emitBatch(b)
}

// add appends p as a line and writes the buffer when it is full.
func (n *influxDBOutNode) add(p *Point) {
	name := p.Name
	if n.measurement != "" {
		name = n.measurement
	}
	tags := p.Tags
	if len(n.tags) > 0 {
		q := &Point{}
		q.CopyFrom(p)
		for _, t := range n.tags {
			q.SetTag(t.Key, t.Value)
		}
		tags = q.Tags
	}
	line, ok := lineproto.AppendLine(n.lines, name, tags, p.Fields, p.Timestamp/lineproto.Precision(n.precision).Multiplier())
	if !ok {
		n.fail("cannot write", fmt.Errorf("point %s has no field line protocol can hold (NaN or Inf)", name))
		return
	}
	n.lines = line
	if n.count++; n.count >= n.buffer {
		n.flush()
	}
}

func (n *influxDBOutNode) flush() {
	if n.count == 0 {
		return
	}
	n.out.Deliver(n.name, 0, n.lines)
	n.lines, n.count = n.lines[:0], 0
}

// finish writes what is buffered at the end of the input.
func (n *influxDBOutNode) finish() { n.flush() }

var (
	_ batchNode = (*influxDBOutNode)(nil)
	_ finisher  = (*influxDBOutNode)(nil)
)
