package api

import (
	"compress/gzip"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickrun/tickrun/server/store"
)

// Version is the Kapacitor version the API answers as, in
// X-Kapacitor-Version and /debug/vars: clients (Chronograf) decide what
// they may use from it, so it names the Kapacitor release whose API this
// one reproduces.
const Version = "1.8.3"

// Paths.
const (
	basePath        = "/kapacitor/v1"
	previewBasePath = "/kapacitor/v1preview"
)

// Options configure the API.
type Options struct {
	Store     *store.Store
	Engine    Engine
	Hostname  string
	ClusterID string
	ServerID  string
	// DefaultRP is the retention policy of writes that name none
	// (default-retention-policy; "" as in kapacitord).
	DefaultRP   string
	MaxBodySize int64 // bytes; larger bodies get 413
	// MaxScriptSize bounds a task's or template's script, in bytes
	// (0: 1 MiB); a larger one gets 400.
	MaxScriptSize int64
	// RejectPartialWrites answers a body with a bad line as Kapacitor
	// does: nothing of it is written, and the 400 is plain text. The
	// default is InfluxDB's answer (see writeLines).
	RejectPartialWrites bool
	AuthEnabled         bool
	LogEnabled          bool
	Logger              *slog.Logger // nil: slog.Default()
	Cmdline             []string     // shown by /debug/vars
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Metrics, if set, serves GET /metrics (Prometheus' text format).
	Metrics http.Handler
	// LogLevel, if set, is changed by POST /kapacitor/v1/loglevel
	// (`kapacitor level`).
	LogLevel *slog.LevelVar
}

// API is Kapacitor's HTTP API over a store and an engine.
type API struct {
	opts     Options
	mux      *http.ServeMux
	draining atomic.Bool
	taskMu   sync.Mutex // serialises task and template changes
	writes   sync.WaitGroup
	counts   writeCounts
}

// writeCounts count what the write endpoints answered.
type writeCounts struct {
	accepted, rejected, points, badLines, bytes atomic.Int64
}

// WriteStats counts the writes the API answered, for /metrics.
type WriteStats struct {
	Accepted int64 // requests answered 2xx
	Rejected int64 // requests answered 4xx or 5xx (bad lines, too large, draining, no db)
	Points   int64 // points decoded and routed
	BadLines int64 // lines rejected
	Bytes    int64 // bodies, after gzip
}

// WriteStats returns the write counters.
func (a *API) WriteStats() WriteStats {
	c := &a.counts
	return WriteStats{Accepted: c.accepted.Load(), Rejected: c.rejected.Load(), Points: c.points.Load(),
		BadLines: c.badLines.Load(), Bytes: c.bytes.Load()}
}

// New returns the API.
func New(opts Options) *API {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &API{opts: opts, mux: http.NewServeMux()}
	a.routes()
	return a
}

// Drain makes writes answer 503 from now on, so that Telegraf keeps its
// batches for later, and waits for the writes in progress to finish.
func (a *API) Drain() {
	a.draining.Store(true)
	a.writes.Wait()
}

func (a *API) routes() {
	m := a.mux
	m.HandleFunc(basePath+"/ping", a.ping)
	m.HandleFunc(basePath+"/write", a.write)
	m.HandleFunc("/write", a.write)
	m.HandleFunc("/api/v2/write", a.writeV2)
	m.HandleFunc("/query", a.query)
	m.HandleFunc(basePath+"/debug/vars", a.debugVars)
	m.HandleFunc(basePath+"/tasks", a.tasks)
	m.HandleFunc(basePath+"/tasks/", a.task)
	m.HandleFunc(basePath+"/templates", a.templates)
	m.HandleFunc(basePath+"/templates/", a.template)
	m.HandleFunc(basePath+"/alerts/topics", a.listTopics)
	m.HandleFunc(basePath+"/alerts/topics/", a.topicRoute)
	m.HandleFunc(basePath+"/users", a.users)
	m.HandleFunc(basePath+"/users/", a.user)
	m.HandleFunc(basePath+"/loglevel", a.logLevel)
	if a.opts.Metrics != nil {
		m.Handle("GET /metrics", a.opts.Metrics)
	}
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not found")
	})
}

// Handler returns the API as an http.Handler.
func (a *API) Handler() http.Handler { return a.serve(true) }

// Local returns the API for the server's own use (the [load] directory):
// it asks for no credentials, as Kapacitor's in-process transport does
// not, and logs no requests.
func (a *API) Local() http.Handler { return a.serve(false) }

func (a *API) serve(external bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := a.opts.Now()
		uri := redactedURI(r) // before the path is rewritten
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Request-Id", newRequestID())
		h.Set("X-Kapacitor-Version", Version)
		if p, ok := strings.CutPrefix(r.URL.Path, previewBasePath); ok {
			r.URL.Path = basePath + p
		}
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		var out http.ResponseWriter = rec
		if acceptsGzip(r) && !isWrite(r.URL.Path) {
			gw := &gzipWriter{ResponseWriter: rec}
			defer gw.close()
			out = gw
			h.Set("Content-Encoding", "gzip")
			h.Add("Vary", "Accept-Encoding")
		}
		defer func() {
			// Bad input never takes the server down: a panic in a
			// handler is answered 500 and logged.
			if p := recover(); p != nil {
				a.opts.Logger.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
				if !rec.wrote {
					writeError(out, http.StatusInternalServerError, "internal error")
				}
			}
			if a.opts.LogEnabled && external {
				a.opts.Logger.Info("http request", "method", r.Method, "uri", uri, "proto", r.Proto, "status", rec.status,
					"bytes", rec.bytes, "duration", a.opts.Now().Sub(start).String(), "remote", r.RemoteAddr,
					"user_agent", r.UserAgent(), "request_id", h.Get("Request-Id"))
			}
		}()
		if r.Method == http.MethodOptions {
			// CORS preflight, as Kapacitor answers it.
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Access-Control-Allow-Methods", "DELETE, GET, OPTIONS, PATCH, POST, PUT")
			h.Set("Access-Control-Allow-Headers", "Accept, Authorization, Content-Type, Content-Length")
			out.WriteHeader(http.StatusNoContent)
			return
		}
		if external && a.opts.AuthEnabled && r.URL.Path != basePath+"/ping" {
			if !a.authorize(out, r) {
				return
			}
		}
		a.mux.ServeHTTP(out, r)
	})
}

func isWrite(path string) bool {
	return path == "/write" || path == basePath+"/write" || path == "/api/v2/write"
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if enc == "gzip" {
			return true
		}
	}
	return false
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	bytes  int64 // of the body, as sent (compressed if it was)
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// gzipWriter compresses a body; an answer without a body (204) stays
// empty, as Kapacitor's does.
type gzipWriter struct {
	http.ResponseWriter
	gz *gzip.Writer
}

func (w *gzipWriter) WriteHeader(code int) {
	w.Header().Del("Content-Length")
	w.ResponseWriter.WriteHeader(code)
}

func (w *gzipWriter) Write(b []byte) (int, error) {
	if w.gz == nil {
		w.Header().Del("Content-Length")
		w.gz = gzip.NewWriter(w.ResponseWriter)
	}
	return w.gz.Write(b)
}

func (w *gzipWriter) close() {
	if w.gz != nil {
		w.gz.Close()
	}
}

// marshal renders v as Kapacitor does: indented by 4 spaces, no
// trailing newline.
func marshal(v any) []byte {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		b, _ = json.MarshalIndent(apiError{Error: err.Error(), Message: err.Error()}, "", "    ")
	}
	return b
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	w.Write(marshal(v))
}

// apiError is Kapacitor's error body.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg, Message: msg})
}

// link is Kapacitor's {"rel", "href"}.
type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

func self(href string) link { return link{Rel: "self", Href: href} }

// newRequestID returns a random UUID for the Request-Id header.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// readBody reads a request body up to the size limit; ok is false when
// an error was answered.
func (a *API) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	data, err := readLimited(r.Body, a.opts.MaxBodySize)
	if err == errTooLarge {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body too large: the limit is %d bytes (--max-body-size)", a.opts.MaxBodySize))
		return nil, false
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "failed to read request body: "+err.Error())
		return nil, false
	}
	return data, true
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "method not allowed")
}
