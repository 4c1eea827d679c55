package pipeline

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/deliver"
	"github.com/tickrun/tickrun/pipeline/handler"
	"github.com/tickrun/tickrun/pipeline/models"
)

// httpPostNode posts every point or batch it sees as a JSON row
// (`{"name":…,"tags":…,"columns":["time",…],"values":[[…]]}`) to each of
// its URLs, or to an [[httppost]] endpoint of kapacitor.conf, and passes
// the data on unchanged. Delivery rides on the post handler: a queue per
// URL beside the pipeline, retries, counters in the run's summary.
//
// With .codeField(name), as in Kapacitor, the node posts in the pipeline
// and waits for the answer (one try, the node's timeout): the HTTP status
// goes into the field of the forwarded point (of every point of a batch),
// 0 when no answer came.
type httpPostNode struct {
	nodeBase
	urls      []string
	endpoint  string
	headers   map[string]string
	timeout   time.Duration
	capture   bool
	codeField string
	posts     []deliver.Sink
	direct    []*handler.Poster // with codeField: posted from the pipeline
	buf       []byte
}

func init() {
	register(&Spec{
		Method: "httpPost", Kind: "http_post", Doc: "posts each point or batch as JSON to URLs and passes it on",
		Variadic: argString, Wants: anyEdge, Provides: anyEdge,
		New: func(_ *binder, _ *ast.Chain, args []value) (node, error) {
			n := &httpPostNode{headers: map[string]string{}}
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
			propString("codeField", "field for the HTTP status of the post (the node then waits for the answer)", func(n *httpPostNode, s string) error { n.codeField = s; return nil }),
		},
	})
}

func (n *httpPostNode) validate() error {
	if len(n.urls) == 0 && n.endpoint == "" {
		return errors.New("httpPost needs a URL, httpPost('http://...'), or .endpoint('name') of kapacitor.conf")
	}
	return nil
}

// start creates one delivery queue per URL (or the endpoint), drained and
// counted with the alert handlers.
func (n *httpPostNode) start(t *Task) error {
	targets := n.urls
	if n.endpoint != "" {
		targets = append(targets, "")
	}
	var own [][2]string
	for k, v := range n.headers {
		own = append(own, [2]string{k, v})
	}
	sort.Slice(own, func(i, j int) bool { return own[i][0] < own[j][0] })
	for _, u := range targets {
		timeout := n.timeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		p := handler.NewPoster(u, own, timeout)
		p.CaptureResponse = n.capture
		target := u
		if u == "" {
			url, headers, err := handler.Endpoint(t.opts.Config, n.endpoint)
			if err != nil {
				return &ast.Error{Pos: n.pos, Msg: err.Error()}
			}
			target = "endpoint " + n.endpoint
			p.URL, p.Headers, p.Redact = url, append(headers, own...), target
		}
		if n.codeField != "" && t.opts.Deliver.Capture == nil {
			n.direct = append(n.direct, p)
			continue
		}
		var sink deliver.Sink
		if t.opts.Deliver.Capture != nil {
			sink = &deliver.Capture{Kind: "post", Target: target, Fn: t.opts.Deliver.Capture}
		} else {
			sink = deliver.NewQueue("post "+target, "", t.opts.Deliver, t.logf, p.Try).Start()
		}
		n.posts = append(n.posts, sink)
		t.outputs = append(t.outputs, output{c: sink})
	}
	return nil
}

// send posts the series and returns the status of the last direct post
// (codeField), 0 when there was none or no answer came.
func (n *httpPostNode) send(s Series) int64 {
	b, err := models.AppendSeriesJSON(n.buf[:0], &s)
	n.buf = b
	if err != nil {
		n.fail("cannot post", err)
		return 0
	}
	for _, sink := range n.posts {
		sink.Deliver(n.name, 0, b)
	}
	var code int64
	for _, p := range n.direct {
		code = n.postNow(p, b)
	}
	return code
}

// postNow makes one POST and returns its status, 0 on a failure.
func (n *httpPostNode) postNow(p *handler.Poster, body []byte) int64 {
	req, err := http.NewRequest(http.MethodPost, p.URL, bytes.NewReader(body))
	if err != nil {
		n.fail("failed to POST", err)
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	for _, h := range p.Headers {
		req.Header.Set(h[0], h[1])
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		if p.Redact != "" {
			err = errors.New("POST " + p.Redact + " failed")
		}
		n.fail("failed to POST", err)
		return 0
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return int64(resp.StatusCode)
}

func (n *httpPostNode) point(p *Point) {
	code := n.send(models.PointSeries(p))
	if n.codeField != "" {
		q := &n.scratch
		q.CopyFrom(p)
		q.SetField(n.codeField, eval.IntValue(code))
		n.emit(q)
		return
	}
	n.emit(p)
}

func (n *httpPostNode) batch(b *Batch) {
	code := n.send(models.BatchSeries(b))
	if n.codeField != "" {
		n.emitEach(b, func(_ int, p *Point) *Point {
			q := p.Clone()
			q.SetField(n.codeField, eval.IntValue(code))
			return q
		})
		return
	}
	n.emitBatch(b)
}

var _ batchNode = (*httpPostNode)(nil)
