package pipeline

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/pipeline/models"
)

// logNode passes points and batches through unchanged and writes each one
// to the task's log (nodes.md §13). The line format follows Kapacitor's
// structured log (msg=point prefix=P name=cpu db=… rp=… group=…
// dimension_0=… tag_k=v field_k=v time=…) but is not part of any contract.
//
// |log() is this node; an alert's .log('/path') is a handler (alert.md).
type logNode struct {
	nodeBase
	level  string // DEBUG, INFO, WARN or ERROR
	prefix string
	buf    []byte // reused line buffer
}

func init() {
	register(&Spec{
		Method: "log", Kind: "log", Doc: "logs every point or batch and passes it on",
		Wants: anyEdge, Provides: anyEdge,
		New: func(*binder, *ast.Chain, []value) (node, error) { return &logNode{level: "INFO"}, nil },
		Props: []*Prop{
			propString("level", "log level: DEBUG, INFO, WARN or ERROR", func(n *logNode, s string) error {
				switch l := strings.ToUpper(s); l {
				case "DEBUG", "INFO", "WARN", "ERROR":
					n.level = l
					return nil
				}
				return fmt.Errorf("invalid log level %q: want DEBUG, INFO, WARN or ERROR", s)
			}),
			propString("prefix", "text added to every line", func(n *logNode, s string) error { n.prefix = s; return nil }),
		},
	})
}

func (n *logNode) point(p *Point) {
	n.write("point", p.Name, p.Database, p.RP, p.Group, p.Dims, p.Tags, p.Fields, p.Timestamp)
	n.emit(p)
}

// batch writes one line for the batch and one per batch point.
func (n *logNode) batch(b *Batch) {
	if n.task.opts.Log != nil {
		n.start("batch")
		n.buf = appendLogPair(n.buf, "name", b.Name)
		n.buf = appendLogPair(n.buf, "group", b.Group)
		for i, d := range b.Dims.TagNames {
			n.buf = appendLogPair(n.buf, "dimension_"+strconv.Itoa(i), d)
		}
		for _, t := range b.Tags {
			n.buf = appendLogPair(n.buf, "tag_"+t.Key, t.Value)
		}
		n.buf = appendLogPair(n.buf, "tmax", time.Unix(0, b.TMax).UTC().Format(time.RFC3339Nano))
		n.buf = appendLogPair(n.buf, "points", strconv.Itoa(len(b.Points)))
		n.task.logf("%s", n.buf)
		for _, p := range b.Points {
			n.write("batch_point", b.Name, "", "", b.Group, Dimensions{}, p.Tags, p.Fields, p.Timestamp)
		}
	}
	n.emitBatch(b)
}

// start begins a line: node name, level, message and prefix.
func (n *logNode) start(msg string) {
	n.buf = append(n.buf[:0], n.name...)
	n.buf = append(n.buf, ' ')
	n.buf = append(n.buf, n.level...)
	n.buf = appendLogPair(n.buf, "msg", msg)
	n.buf = appendLogPair(n.buf, "prefix", n.prefix)
}

func (n *logNode) write(msg, name, db, rp, group string, dims Dimensions, tags []Tag, fields []Field, ts int64) {
	if n.task.opts.Log == nil {
		return
	}
	n.start(msg)
	n.buf = appendLogPair(n.buf, "name", name)
	if msg == "point" {
		n.buf = appendLogPair(n.buf, "db", db)
		n.buf = appendLogPair(n.buf, "rp", rp)
		n.buf = appendLogPair(n.buf, "group", group)
		for i, d := range dims.TagNames {
			n.buf = appendLogPair(n.buf, "dimension_"+strconv.Itoa(i), d)
		}
	}
	for _, t := range tags {
		n.buf = appendLogPair(n.buf, "tag_"+t.Key, t.Value)
	}
	for _, f := range fields {
		n.buf = appendLogPair(n.buf, "field_"+f.Key, models.FormatValue(f.Value))
	}
	n.buf = appendLogPair(n.buf, "time", time.Unix(0, ts).UTC().Format(time.RFC3339Nano))
	n.task.logf("%s", n.buf)
}

// appendLogPair appends " key=value", quoting the value when it is empty
// or holds a space, a quote or an equals sign, so lines stay parseable.
func appendLogPair(b []byte, key, val string) []byte {
	b = append(b, ' ')
	b = append(b, key...)
	b = append(b, '=')
	if val == "" || strings.ContainsAny(val, " \"=\n\t\\") {
		return strconv.AppendQuote(b, val)
	}
	return append(b, val...)
}

var _ batchNode = (*logNode)(nil)
