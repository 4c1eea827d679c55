package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

var errTooLarge = errors.New("request body too large")

// readLimited reads r whole, failing with errTooLarge past limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	return readInto(&buf, r, limit)
}

// readInto reads r whole into buf, failing with errTooLarge past limit
// bytes; the result is buf's bytes.
func readInto(buf *bytes.Buffer, r io.Reader, limit int64) ([]byte, error) {
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, errTooLarge
	}
	return buf.Bytes(), nil
}

// Pools of the write path: a write body is decoded within the request
// (the engine copies what it keeps), so its buffer and gzip reader serve
// the next write. A Telegraf batch of 5,000 lines is about 1 MB: without
// the pools each write allocates that and a gzip window again.
var (
	bodyPool sync.Pool // *bytes.Buffer
	gzipPool sync.Pool // *gzip.Reader
)

// maxPooledBody is the largest body buffer kept for reuse, so that one
// huge write does not pin its memory.
const maxPooledBody = 8 << 20

func getBody() *bytes.Buffer {
	if b, ok := bodyPool.Get().(*bytes.Buffer); ok {
		b.Reset()
		return b
	}
	return new(bytes.Buffer)
}

func putBody(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBody {
		bodyPool.Put(b)
	}
}

// getGzip returns a gzip reader of r, reused when one is free.
func getGzip(r io.Reader) (*gzip.Reader, error) {
	if gz, ok := gzipPool.Get().(*gzip.Reader); ok {
		if err := gz.Reset(r); err != nil {
			return nil, err
		}
		return gz, nil
	}
	return gzip.NewReader(r)
}

func (a *API) ping(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// write serves POST /write and /kapacitor/v1/write.
func (a *API) write(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	q := r.URL.Query()
	a.writeLines(w, r, q.Get("db"), q.Get("rp"), q.Get("precision"))
}

// writeV2 serves InfluxDB 2's POST /api/v2/write for Telegraf's
// outputs.influxdb_v2: the bucket names "db/rp" (or just "db", which
// takes the default retention policy); org is ignored.
func (a *API) writeV2(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	q := r.URL.Query()
	db, rp, _ := strings.Cut(q.Get("bucket"), "/")
	if db == "" {
		writeInfluxError(w, http.StatusBadRequest, "bucket is required")
		return
	}
	precision := q.Get("precision")
	switch precision { // v2 names: ns, us, ms, s
	case "ns":
		precision = "n"
	case "us":
		precision = "u"
	}
	a.writeLines(w, r, db, rp, precision)
}

// writeLines decodes and routes a body of line protocol.
//
// Bad lines: Kapacitor rejects the whole body with a plain-text 400 when
// one line is bad, and Telegraf retries a batch whose error body is not
// JSON: one bad line then blocks a Telegraf output forever, resending
// the batch each flush. We answer as InfluxDB 1.x does instead: the good
// lines are written, and a JSON 400 `{"error":"partial write: unable to
// parse '<line>': <reason> dropped=N"}` names the bad ones; when no line
// is good it is `{"error":"unable to parse ..."}`. Telegraf drops a batch
// answered with such a JSON body, so nothing good is lost and nothing
// bad is retried.
func (a *API) writeLines(rw http.ResponseWriter, r *http.Request, db, rp, precision string) {
	a.writes.Add(1)
	defer a.writes.Done()
	w := &statusWriter{ResponseWriter: rw, status: http.StatusOK}
	defer func() {
		if w.status < 300 {
			a.counts.accepted.Add(1)
		} else {
			a.counts.rejected.Add(1)
		}
	}()
	if a.draining.Load() {
		w.Header().Set("Retry-After", "10")
		writeInfluxError(w, http.StatusServiceUnavailable, "the server is shutting down")
		return
	}
	if db == "" {
		// Kapacitor's answer, kept as it is: plain text although the
		// content type says JSON.
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "database is required\n")
		return
	}
	if rp == "" {
		rp = a.opts.DefaultRP
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		gz, err := getGzip(r.Body)
		if err != nil {
			writeInfluxError(w, http.StatusBadRequest, "invalid gzip body: "+err.Error())
			return
		}
		defer func() {
			if gz.Close() == nil {
				gzipPool.Put(gz)
			}
		}()
		body = gz
	}
	// The body is read whole before a point is routed, so that a body
	// over the limit (413, which Telegraf answers by splitting the batch)
	// has written nothing.
	buf := getBody()
	defer putBody(buf)
	data, err := readInto(buf, body, a.opts.MaxBodySize)
	if err == errTooLarge {
		writeInfluxError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body too large: the limit is %d bytes", a.opts.MaxBodySize))
		return
	}
	if err != nil {
		writeInfluxError(w, http.StatusBadRequest, "failed to read request body: "+err.Error())
		return
	}
	res := a.opts.Engine.Write(WriteRequest{DB: db, RP: rp, Precision: precision, Body: data, Now: a.opts.Now(),
		AllOrNothing: a.opts.RejectPartialWrites})
	a.counts.bytes.Add(int64(len(data)))
	a.counts.points.Add(int64(res.Points))
	a.counts.badLines.Add(int64(len(res.Bad)))
	if len(res.Bad) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	lines := make([]string, len(res.Bad))
	for i, b := range res.Bad {
		lines[i] = fmt.Sprintf("unable to parse '%s': %s", b.Text, b.Reason)
	}
	msg := strings.Join(lines, "\n")
	if a.opts.RejectPartialWrites {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, msg+"\n")
		return
	}
	if res.Points > 0 {
		msg = fmt.Sprintf("partial write: %s dropped=%d", msg, len(res.Bad))
	}
	writeInfluxError(w, http.StatusBadRequest, msg)
}

// writeInfluxError answers as InfluxDB's write endpoint does: compact
// JSON {"error": ...} and the X-Influxdb-Error header.
func writeInfluxError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("X-Influxdb-Error", headerSafe(firstLine(msg)))
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// headerSafe escapes what may not appear in a header value (a bad line
// may hold any byte).
func headerSafe(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			fmt.Fprintf(&b, "\\x%02x", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// query answers Telegraf's CREATE DATABASE probe with InfluxDB's 200,
// so that outputs.influxdb stops warning each flush (Kapacitor answers
// 404); any other statement is refused: this server holds no data.
func (a *API) query(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	if q == "" && r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, a.opts.MaxBodySize)
		r.ParseForm()
		q = r.PostForm.Get("q")
	}
	if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(q)), "CREATE DATABASE") {
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"results":[{"statement_id":0}]}`+"\n")
		return
	}
	writeInfluxError(w, http.StatusBadRequest, "tickrun serve accepts only CREATE DATABASE on /query: it stores no data")
}

// logLevel serves POST /kapacitor/v1/loglevel (`kapacitor level`):
// {"level": "debug"} sets the least level logged from now on.
func (a *API) logLevel(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	var b struct {
		Level string `json:"level"`
	}
	if !a.decodeBody(w, r, &b, "invalid JSON") {
		return
	}
	var l slog.Level
	switch strings.ToUpper(b.Level) {
	case "DEBUG":
		l = slog.LevelDebug
	case "INFO":
		l = slog.LevelInfo
	case "WARN", "WARNING":
		l = slog.LevelWarn
	case "ERROR":
		l = slog.LevelError
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid log level %q: want debug, info, warn or error", b.Level))
		return
	}
	if a.opts.LogLevel == nil {
		writeError(w, http.StatusBadRequest, "the log level of this server cannot be changed")
		return
	}
	a.opts.LogLevel.Set(l)
	a.opts.Logger.Info("log level changed", "level", l.String())
	w.WriteHeader(http.StatusNoContent)
}

// redactedURI is the request's path and query with credentials
// replaced, for the request log (kapacitord hides p= likewise).
func redactedURI(r *http.Request) string {
	u := *r.URL
	if q := u.Query(); q.Has("p") || q.Has("token") {
		for _, k := range []string{"p", "token"} {
			if q.Has(k) {
				q.Set(k, "[REDACTED]")
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.RequestURI()
}
