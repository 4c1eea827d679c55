package influxtest

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
)

// Request is one request a Recorder passed on, with InfluxDB's answer, in
// the terms of the batch cases' queries.jsonl.
type Request struct {
	Method   string
	Path     string     // path and query string, URL-decoded: "/query?db=&q=SELECT ..."
	Params   url.Values // the query string's parameters
	Header   http.Header
	Body     []byte
	Status   int
	Response []byte
}

// Recorder is a logging proxy in front of a Server, as the batch cases
// were recorded through one: a client pointed at URL reaches InfluxDB, and
// every request is kept.
type Recorder struct {
	URL string // http://127.0.0.1:PORT

	target string
	mu     sync.Mutex
	reqs   []Request
}

// Recorder starts a logging proxy to s on a free 127.0.0.1 port, closed at
// the test's cleanup.
func (s *Server) Recorder(t testing.TB) *Recorder {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("influxtest: recorder: %v", err)
	}
	r := &Recorder{URL: "http://" + l.Addr().String(), target: s.URL}
	srv := &http.Server{Handler: r}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

// ServeHTTP forwards one request and records it.
func (r *Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out, err := http.NewRequestWithContext(req.Context(), req.Method, r.target+req.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = req.Header.Clone()
	// Let the transport ask for gzip and undo it, so the recorded answer
	// is InfluxDB's text; the client gets it uncompressed.
	out.Header.Del("Accept-Encoding")
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	path := req.URL.Path
	if req.URL.RawQuery != "" {
		q, err := url.QueryUnescape(req.URL.RawQuery)
		if err != nil {
			q = req.URL.RawQuery
		}
		path += "?" + q
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, Request{
		Method: req.Method, Path: path, Params: req.URL.Query(), Header: req.Header.Clone(),
		Body: body, Status: resp.StatusCode, Response: respBody,
	})
	r.mu.Unlock()
	for k, vs := range resp.Header {
		if k == "Content-Encoding" || k == "Content-Length" {
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(respBody)
}

// Requests returns what the recorder saw so far, in arrival order.
func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// Reset forgets the requests seen so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.reqs = nil
	r.mu.Unlock()
}
