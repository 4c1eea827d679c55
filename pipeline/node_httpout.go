package pipeline

import (
	"net/http"
	"strings"
	"sync"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/pipeline/models"
)

// httpOutNode passes points and batches through and keeps, per group, the
// latest one as a result row (nodes.md §14). Task.HTTPOut reads the rows
// and Task.HTTPHandler serves them as Kapacitor does at
// GET /kapacitor/v1/tasks/<task>/<endpoint>. Rows are read from other
// goroutines, so they are guarded by a mutex.
type httpOutNode struct {
	nodeBase
	endpoint string
	mu       sync.Mutex
	rows     map[string]*httpOutRow
	order    []*httpOutRow // groups in order of their first message, as Kapacitor lists them
}

// httpOutRow is the latest message of one group: a point, or a batch.
type httpOutRow struct {
	p     Point
	b     *Batch
	batch bool
}

func init() {
	register(&Spec{
		Method: "httpOut", Kind: "http_out", Doc: "keeps the latest point or batch of each group for the HTTP API",
		Args: []argKind{argString}, Wants: anyEdge, Provides: anyEdge,
		New: func(_ *binder, _ *ast.Chain, args []value) (node, error) {
			return &httpOutNode{endpoint: args[0].scalar.Str(), rows: map[string]*httpOutRow{}}, nil
		},
	})
}

func (n *httpOutNode) row(group string) *httpOutRow {
	r := n.rows[group]
	if r == nil {
		r = &httpOutRow{}
		n.rows[group] = r
		n.order = append(n.order, r)
	}
	return r
}

func (n *httpOutNode) point(p *Point) {
	n.mu.Lock()
	r := n.row(p.Group)
	r.p.CopyFrom(p)
	r.batch = false
	n.mu.Unlock()
	n.emit(p)
}

func (n *httpOutNode) batch(b *Batch) {
	c := cloneBatch(b)
	n.mu.Lock()
	r := n.row(b.Group)
	r.b, r.batch = c, true
	n.mu.Unlock()
	n.emitBatch(b)
}

// result renders the rows as Kapacitor's models.Result JSON:
// {"series":[...]}, or {"series":null} before the first message.
func (n *httpOutNode) result() ([]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.order) == 0 {
		return []byte(`{"series":null}`), nil
	}
	b := []byte(`{"series":[`)
	for i, r := range n.order {
		if i > 0 {
			b = append(b, ',')
		}
		s := models.PointSeries(&r.p)
		if r.batch {
			s = models.BatchSeries(r.b)
		}
		var err error
		if b, err = models.AppendSeriesJSON(b, &s); err != nil {
			return nil, err
		}
	}
	return append(b, "]}"...), nil
}

// HTTPOut returns the current result of the task's httpOut node for
// endpoint as Kapacitor's JSON ({"series":[{"name":…,"tags":…,"columns":
// ["time",…],"values":[[…]]},…]}, one series per group, the latest point
// or batch of each), and false if the task has no such endpoint. It may be
// called from any goroutine while points are written. A result holding NaN
// or ±Inf cannot be encoded and yields an {"error":…} object.
func (t *Task) HTTPOut(endpoint string) ([]byte, bool) {
	n := t.httpOutNode(endpoint)
	if n == nil {
		return nil, false
	}
	b, err := n.result()
	if err != nil {
		return append(models.AppendJSONString([]byte(`{"error":`), err.Error()), '}'), true
	}
	return b, true
}

// HTTPOutEndpoints returns the endpoints of the task's httpOut nodes in
// script order.
func (t *Task) HTTPOutEndpoints() []string {
	var out []string
	for _, n := range t.nodes {
		if h, ok := n.(*httpOutNode); ok {
			out = append(out, h.endpoint)
		}
	}
	return out
}

func (t *Task) httpOutNode(endpoint string) *httpOutNode {
	for _, n := range t.nodes {
		if h, ok := n.(*httpOutNode); ok && h.endpoint == endpoint {
			return h
		}
	}
	return nil
}

// HTTPHandler serves the task's httpOut endpoints as Kapacitor does:
// GET /kapacitor/v1/tasks/<task>/<endpoint> answers the endpoint's result
// (see HTTPOut); an unknown path is 404 and another method 405, each with
// an {"error":…} body.
func (t *Task) HTTPHandler() http.Handler {
	prefix := "/kapacitor/v1/tasks/" + t.name + "/"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fail := func(code int, msg string) {
			w.WriteHeader(code)
			w.Write(append(models.AppendJSONString([]byte(`{"error":`), msg), "}\n"...))
		}
		endpoint, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			fail(http.StatusNotFound, "not found")
			return
		}
		n := t.httpOutNode(endpoint)
		if n == nil {
			fail(http.StatusNotFound, "no httpOut endpoint "+endpoint+" in task "+t.name)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET")
			fail(http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		b, err := n.result()
		if err != nil {
			fail(http.StatusInternalServerError, err.Error())
			return
		}
		w.Write(b)
	})
}

var _ batchNode = (*httpOutNode)(nil)
