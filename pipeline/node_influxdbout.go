package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/pipeline/deliver"
	"github.com/tickrun/tickrun/pipeline/lineproto"
)

// influxDBOutNode writes the points it sees to InfluxDB's HTTP write API
// as line protocol, buffering `buffer` points per request, and passes them
// on. Kapacitor names a cluster from its configuration; tickrun, having
// none, takes the server's URL in the script: `.url('http://host:8086')`
// (default http://localhost:8086). Writes go through a queue beside the
// pipeline with retries and counters, like alert handlers. flushInterval
// is accepted, but tickrun's clock is the data's: the buffer is written
// when full and at the end of the input.
type influxDBOutNode struct {
	nodeBase
	url, db, rp, measurement string
	precision, consistency   string
	tags                     []Tag
	buffer                   int
	create                   bool
	lines                    []byte
	count                    int
	out                      deliver.Sink
}

func init() {
	str := func(name, doc string, set func(n *influxDBOutNode, s string)) *Prop {
		return propString(name, doc, func(n *influxDBOutNode, s string) error { set(n, s); return nil })
	}
	register(&Spec{
		Method: "influxDBOut", Kind: "influxdb_out", Doc: "writes points to InfluxDB's HTTP API and passes them on",
		Wants: anyEdge, Provides: anyEdge,
		New: func(*binder, *ast.Chain, []value) (node, error) {
			return &influxDBOutNode{url: "http://localhost:8086", precision: "n", buffer: 1000}, nil
		},
		Props: []*Prop{
			str("url", "the InfluxDB server (tickrun; Kapacitor takes it from its configuration)", func(n *influxDBOutNode, s string) { n.url = s }),
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
			propNone("create", "create the database before the first write", func(n *influxDBOutNode) { n.create = true }),
			propString("cluster", "not supported by tickrun", func(*influxDBOutNode, string) error {
				return errors.New("property \"cluster\" of influxDBOut is not supported by tickrun: give the server with .url('http://host:8086')")
			}),
		},
	})
}

func (n *influxDBOutNode) validate() error {
	if n.db == "" {
		return errors.New("influxDBOut needs a database: .database('name')")
	}
	if u, err := url.Parse(n.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url: want an http:// or https:// URL, got %q", n.url)
	}
	return nil
}

// writeURL is the /write endpoint with the node's query parameters.
func (n *influxDBOutNode) writeURL() string {
	q := url.Values{"db": {n.db}, "precision": {n.precision}}
	if n.rp != "" {
		q.Set("rp", n.rp)
	}
	if n.consistency != "" {
		q.Set("consistency", n.consistency)
	}
	return strings.TrimSuffix(n.url, "/") + "/write?" + q.Encode()
}

func (n *influxDBOutNode) start(t *Task) error {
	target := n.writeURL()
	if t.opts.Deliver.Capture != nil {
		n.out = &deliver.Capture{Kind: "influxDBOut", Target: target, Fn: t.opts.Deliver.Capture}
	} else {
		client := &http.Client{Timeout: 10 * time.Second}
		created := !n.create
		try := func(ctx context.Context, body []byte) error {
			if !created {
				if err := influxPost(ctx, client, strings.TrimSuffix(n.url, "/")+"/query?"+url.Values{"q": {"CREATE DATABASE " + strconv.Quote(n.db)}}.Encode(), nil); err != nil {
					return err
				}
				created = true
			}
			return influxPost(ctx, client, target, body)
		}
		n.out = deliver.NewQueue("influxDBOut "+target, "", t.opts.Deliver, t.logf, try).Start()
	}
	t.outputs = append(t.outputs, output{c: n.out})
	return nil
}

// influxPost sends one request; 5xx, 429 and network errors are retried.
func influxPost(ctx context.Context, client *http.Client, u string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return deliver.Permanent(err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("HTTP %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return err
	}
	return deliver.Permanent(err)
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
