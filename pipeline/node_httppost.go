package pipeline

import (
	"errors"
	"time"

	"github.com/tickrun/tickrun/ast"
)

// httpPostNode posts every point or batch it sees as a JSON row
// (`{"name":…,"tags":…,"columns":["time",…],"values":[[…]]}`) to each of
// its URLs, or to an [[httppost]] endpoint of kapacitor.conf, and passes
// the data on unchanged. Delivery rides on the post handler: a queue per
// URL beside the pipeline, retries, counters in the run's summary.
//
// Kapacitor's .codeField() adds the HTTP status to the forwarded point,
// which would make the pipeline wait for the server; tickrun rejects it.
type httpPostNode struct {
	nodeBase
	urls     []string
	endpoint string
	headers  map[string]any
	timeout  time.Duration
	capture  bool
	posts    []handler
	buf      []byte
}

func init() {
	register(&Spec{
		Method: "httpPost", Kind: "http_post", Doc: "posts each point or batch as JSON to URLs and passes it on",
		Variadic: argString, Wants: anyEdge, Provides: anyEdge,
		New: func(_ *binder, _ *ast.Chain, args []value) (node, error) {
			n := &httpPostNode{headers: map[string]any{}}
			for _, a := range args {
				n.urls = append(n.urls, a.scalar.Str())
			}
			return n, nil
		},
		Props: []*Prop{
			propString("endpoint", "an [[httppost]] endpoint of kapacitor.conf (--config)", func(n *httpPostNode, s string) error { n.endpoint = s; return nil }),
			{Name: "header", Doc: "a request header", Args: []argKind{argString, argString},
				set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
					x.(*httpPostNode).headers[a[0].scalar.Str()] = a[1].scalar.Str()
					return nil
				}},
			propDuration("timeout", "timeout of one request (default 10s)", func(n *httpPostNode, d time.Duration) error { n.timeout = d; return nil }),
			propNone("captureResponse", "log the body of a failed answer", func(n *httpPostNode) { n.capture = true }),
			propString("codeField", "not supported by tickrun", func(*httpPostNode, string) error {
				return errors.New("property \"codeField\" of httpPost is not supported by tickrun: it would make the pipeline wait for the server")
			}),
		},
	})
}

func (n *httpPostNode) validate() error {
	if len(n.urls) == 0 && n.endpoint == "" {
		return errors.New("httpPost needs a URL, httpPost('http://...'), or .endpoint('name') of kapacitor.conf")
	}
	return nil
}

// start creates one post handler per URL (or the endpoint), drained and
// counted with the alert handlers.
func (n *httpPostNode) start(t *Task) error {
	targets := n.urls
	if n.endpoint != "" {
		targets = append(targets, "")
	}
	for _, u := range targets {
		opts := map[string]any{"headers": n.headers, "capture-response": n.capture}
		if u == "" {
			opts["endpoint"] = n.endpoint
		} else {
			opts["url"] = u
		}
		if n.timeout > 0 {
			opts["timeout"] = n.timeout.String()
		}
		h, err := newHandler("post", opts, t, n.name)
		if err != nil {
			return &ast.Error{Pos: n.pos, Msg: err.Error()}
		}
		n.posts = append(n.posts, h)
		t.topics.handlers = append(t.topics.handlers, h)
	}
	return nil
}

func (n *httpPostNode) send(s Series) {
	b, err := appendSeriesJSON(n.buf[:0], &s)
	n.buf = b
	if err != nil {
		n.fail("cannot post", err)
		return
	}
	ev := &Event{ID: n.name}
	for _, h := range n.posts {
		h.deliver(ev, b)
	}
}

func (n *httpPostNode) point(p *Point) {
	n.send(pointSeries(p))
	n.emit(p)
}

func (n *httpPostNode) batch(b *Batch) {
	n.send(batchSeries(b))
	n.emitBatch(b)
}

var _ batchNode = (*httpPostNode)(nil)
