package influx

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/influxdata/influxql"
)

// Client is an InfluxDB 1.x HTTP client configured from one [[influxdb]]
// section. It is safe for concurrent use.
type Client struct {
	cfg  Config
	urls []*url.URL
	next atomic.Uint32 // round-robin index into urls
	http *http.Client
}

// New returns a client for cfg. It checks the URLs (at least one, http or
// https) but not the name, so a client can be made from a bare URL.
func New(cfg Config) (*Client, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New(msgNoURL)
	}
	c := &Client{cfg: cfg}
	for _, s := range cfg.URLs {
		u, err := parseURL(s)
		if err != nil {
			return nil, fmt.Errorf("invalid URLs: %w", err)
		}
		c.urls = append(c.urls, u)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.InsecureSkipVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // #nosec G402 -- the user asked for it in kapacitor.conf
	}
	tr.DisableCompression = cfg.Uncompressed
	c.http = &http.Client{Timeout: cfg.Timeout, Transport: tr}
	if c.cfg.UserAgent == "" {
		c.cfg.UserAgent = "tickrun"
	}
	return c, nil
}

// Config returns the configuration the client was made from.
func (c *Client) Config() Config { return c.cfg }

// Close releases the client's idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Error is a request to InfluxDB that failed: no answer (network error,
// timeout), an answer with an error status, an answer that is not JSON,
// or, for a query, InfluxDB's error for the statement (which comes with
// status 200).
type Error struct {
	Op     string // "ping", "query" or "write"
	URL    string // the server the request went to, without credentials
	Query  string // Op "query": the InfluxQL sent
	DB     string // Op "write": the database written to
	Status int    // the HTTP status; 0 when no answer came
	// Msg is what went wrong: InfluxDB's own message when it sent one
	// ("retention policy not found: nope"), else a description.
	Msg string
	Err error // the network or decoding error underneath, or nil
}

// Error names the request and says what went wrong:
// `influxdb query "SELECT ...": retention policy not found: nope`.
func (e *Error) Error() string {
	switch e.Op {
	case "query":
		return fmt.Sprintf("influxdb query %q: %s", e.Query, e.Msg)
	case "write":
		return fmt.Sprintf("influxdb write to database %q: %s", e.DB, e.Msg)
	}
	return fmt.Sprintf("influxdb %s %s: %s", e.Op, e.URL, e.Msg)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// QueryRequest is a /query request.
type QueryRequest struct {
	Command  string // the InfluxQL (q)
	Database string // db: always sent, empty as Kapacitor's batch queries send it
	// RetentionPolicy (rp), Epoch (epoch: "ns", "s", ...) and Params
	// (params, bound parameters as JSON) are sent only when set; Kapacitor
	// sends none of them for batch queries.
	RetentionPolicy string
	Epoch           string
	Params          map[string]any
}

// Query sends q as Kapacitor does (POST /query with the parameters in the
// URL and no body) and decodes the answer. An error of any statement in
// the answer is returned as an *Error naming the query, as are network
// errors, non-2xx answers and bodies that are not InfluxDB's JSON.
func (c *Client) Query(ctx context.Context, q QueryRequest) (*Response, error) {
	v := url.Values{}
	v.Set("q", q.Command)
	v.Set("db", q.Database)
	if q.RetentionPolicy != "" {
		v.Set("rp", q.RetentionPolicy)
	}
	if q.Epoch != "" {
		v.Set("epoch", q.Epoch)
	}
	if len(q.Params) > 0 {
		p, err := json.Marshal(q.Params)
		if err != nil {
			return nil, &Error{Op: "query", Query: q.Command, Msg: "encoding params: " + err.Error(), Err: err}
		}
		v.Set("params", string(p))
	}
	a, err := c.do(ctx, http.MethodPost, "query", v, nil, "")
	fail := func(msg string, err error) error {
		return &Error{Op: "query", URL: a.base, Query: q.Command, Status: a.status, Msg: msg, Err: err}
	}
	if err != nil {
		return nil, fail(err.Error(), err)
	}
	if a.status != http.StatusOK {
		return nil, fail(statusMessage(a.status, a.body), nil)
	}
	resp, err := DecodeResponse(a.body)
	if err != nil {
		return nil, fail(msgDecode+err.Error(), err)
	}
	if msg := resp.FirstError(); msg != "" {
		return nil, fail(msg, nil)
	}
	return resp, nil
}

// WriteRequest is a /write request: line protocol for one database.
type WriteRequest struct {
	Database        string // db
	RetentionPolicy string // rp; "" is the database's default
	Precision       string // precision of the timestamps; "" means "ns"
	Consistency     string // consistency (clusters only); "" for none
	Body            []byte // line protocol, one point a line
}

// Write posts w.Body to /write. As Kapacitor does, it always sends db, rp,
// precision and consistency, empty or not (`/write?consistency=&db=out&precision=ns&rp=`).
func (c *Client) Write(ctx context.Context, w WriteRequest) error {
	precision := w.Precision
	if precision == "" {
		precision = "ns"
	}
	v := url.Values{}
	v.Set("db", w.Database)
	v.Set("rp", w.RetentionPolicy)
	v.Set("precision", precision)
	v.Set("consistency", w.Consistency)
	a, err := c.do(ctx, http.MethodPost, "write", v, w.Body, "application/octet-stream")
	fail := func(msg string, err error) error {
		return &Error{Op: "write", URL: a.base, DB: w.Database, Status: a.status, Msg: msg, Err: err}
	}
	if err != nil {
		return fail(err.Error(), err)
	}
	if a.status != http.StatusNoContent && a.status != http.StatusOK {
		return fail(statusMessage(a.status, a.body), nil)
	}
	return nil
}

// QuoteIdent quotes an InfluxQL identifier where it needs quotes, as
// Kapacitor writes the names in the statements it makes.
func QuoteIdent(name string) string { return influxql.QuoteIdent(name) }

// CreateDatabase runs CREATE DATABASE for name (quoted as InfluxQL needs);
// InfluxDB accepts it when the database already exists.
func (c *Client) CreateDatabase(ctx context.Context, name string) error {
	_, err := c.Query(ctx, QueryRequest{Command: "CREATE DATABASE " + influxql.QuoteIdent(name)})
	return err
}

// Ping checks that the server answers /ping and returns its version (the
// X-Influxdb-Version header). InfluxDB 1.x answers 204; 200 is accepted
// too (InfluxDB 3 answers it with the version in a JSON body).
func (c *Client) Ping(ctx context.Context) (version string, err error) {
	a, err := c.do(ctx, http.MethodGet, "ping", nil, nil, "")
	fail := func(msg string, err error) error {
		return &Error{Op: "ping", URL: a.base, Status: a.status, Msg: msg, Err: err}
	}
	if err != nil {
		return "", fail(err.Error(), err)
	}
	if a.status != http.StatusNoContent && a.status != http.StatusOK {
		return "", fail(statusMessage(a.status, a.body), nil)
	}
	version = a.header.Get("X-Influxdb-Version")
	if version == "" && a.status == http.StatusOK {
		var v struct {
			Version string `json:"version"`
		}
		if json.Unmarshal(a.body, &v) == nil {
			version = v.Version
		}
	}
	return version, nil
}

// answer is what do read back.
type answer struct {
	base   string // the server, without credentials
	status int
	header http.Header
	body   []byte
}

// do sends one request to the next URL and reads the whole answer. The
// error is set when no complete answer came.
func (c *Client) do(ctx context.Context, method, endpoint string, params url.Values, body []byte, contentType string) (answer, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	u := *c.urls[int(c.next.Add(1)-1)%len(c.urls)]
	a := answer{base: u.Redacted()}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + endpoint
	u.RawPath = ""
	u.RawQuery = ""
	if params != nil {
		u.RawQuery = params.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return a, err
	}
	switch {
	case c.cfg.Token != "":
		req.Header.Set("Authorization", "Token "+c.cfg.Token)
	case c.cfg.Username != "":
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// The url.Error repeats the whole URL, query string included.
			err = fmt.Errorf("%s: %w", a.base, ue.Err)
		}
		return a, err
	}
	defer resp.Body.Close()
	a.status, a.header = resp.StatusCode, resp.Header
	a.body, err = io.ReadAll(resp.Body)
	if err != nil {
		return a, fmt.Errorf("%s: reading the answer: %w", a.base, err)
	}
	return a, nil
}

// statusMessage describes an error status: InfluxDB's JSON {"error": ...}
// message when the body has one, else Kapacitor's "invalid response: code
// N: body: ..." with the body cut to 1 KiB.
func statusMessage(status int, body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	const max = 1024
	b := string(bytes.TrimSpace(body))
	if len(b) > max {
		b = b[:max] + "..."
	}
	return fmt.Sprintf(msgInvalidResponse, status, b)
}
