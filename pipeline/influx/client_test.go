package influx_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/internal/influxtest"
	"github.com/tickrun/tickrun/pipeline/influx"
)

func newClient(t *testing.T, cfg influx.Config) *influx.Client {
	t.Helper()
	c, err := influx.New(cfg)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func asError(t *testing.T, err error) *influx.Error {
	t.Helper()
	var e *influx.Error
	require.True(t, errors.As(err, &e), "want an *influx.Error, got %T %v", err, err)
	return e
}

// TestClientInfluxDB runs the client against a real InfluxDB 1.6.7.
func TestClientInfluxDB(t *testing.T) {
	srv := influxtest.Start(t, influxtest.Options{})
	c := newClient(t, influx.Config{Name: "local", URLs: []string{srv.URL}, Timeout: 10 * time.Second})
	ctx := context.Background()

	version, err := c.Ping(ctx)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(version, "1.6"), "version %q", version)

	require.NoError(t, c.CreateDatabase(ctx, "db one")) // a name InfluxQL must quote
	require.NoError(t, c.CreateDatabase(ctx, "db one"), "again: InfluxDB accepts it")
	lp := "m,host=a i=5i,f=1.5,s=\"x y\",b=true 1700000000000000000\n" +
		"m,host=b i=7i 1700000060000000000\n"
	require.NoError(t, c.Write(ctx, influx.WriteRequest{Database: "db one", Body: []byte(lp)}))

	t.Run("types as Kapacitor sees them", func(t *testing.T) {
		resp, err := c.Query(ctx, influx.QueryRequest{Command: `SELECT * FROM "db one"."autogen"."m"`})
		require.NoError(t, err)
		require.Len(t, resp.Results, 1)
		require.Len(t, resp.Results[0].Series, 1)
		s := resp.Results[0].Series[0]
		assert.Equal(t, []string{"time", "b", "f", "host", "i", "s"}, s.Columns)
		assert.Equal(t, [][]influx.Value{
			{influx.StringValue("2023-11-14T22:13:20Z"), influx.BoolValue(true), influx.FloatValue(1.5),
				influx.StringValue("a"), influx.FloatValue(5), influx.StringValue("x y")},
			// The integer field is a float64 (#1338); absent fields are null.
			{influx.StringValue("2023-11-14T22:14:20Z"), {}, {}, influx.StringValue("b"), influx.FloatValue(7), {}},
		}, s.Values)
	})
	t.Run("group by tag and aggregate", func(t *testing.T) {
		resp, err := c.Query(ctx, influx.QueryRequest{Command: `SELECT mean(i) FROM "db one"."autogen"."m" GROUP BY host`})
		require.NoError(t, err)
		ss := resp.Results[0].Series
		require.Len(t, ss, 2)
		assert.Equal(t, []influx.Tag{{Key: "host", Value: "a"}}, ss[0].Tags)
		assert.Equal(t, []influx.Tag{{Key: "host", Value: "b"}}, ss[1].Tags)
		assert.Equal(t, influx.FloatValue(7), ss[1].Values[0][1])
	})
	t.Run("db, rp, epoch and params are sent", func(t *testing.T) {
		resp, err := c.Query(ctx, influx.QueryRequest{
			Command: `SELECT i FROM m WHERE host = $h`, Database: "db one", RetentionPolicy: "autogen",
			Epoch: "s", Params: map[string]any{"h": "b"},
		})
		require.NoError(t, err)
		ss := resp.Results[0].Series
		require.Len(t, ss, 1)
		assert.Equal(t, [][]influx.Value{{influx.FloatValue(1700000060), influx.FloatValue(7)}}, ss[0].Values)
	})
	t.Run("an empty answer", func(t *testing.T) {
		resp, err := c.Query(ctx, influx.QueryRequest{Command: `SELECT i FROM "db one"."autogen"."m" WHERE time < '2000-01-01T00:00:00Z'`})
		require.NoError(t, err)
		require.Len(t, resp.Results, 1)
		assert.Empty(t, resp.Results[0].Series)
	})
	t.Run("statement error", func(t *testing.T) {
		q := `SELECT mean(i), i FROM "db one"."autogen"."m"`
		_, err := c.Query(ctx, influx.QueryRequest{Command: q})
		e := asError(t, err)
		assert.Equal(t, 200, e.Status)
		assert.Equal(t, "mixing aggregate and non-aggregate queries is not supported", e.Msg)
		assert.Equal(t, `influxdb query "SELECT mean(i), i FROM \"db one\".\"autogen\".\"m\"": mixing aggregate and non-aggregate queries is not supported`, err.Error())
	})
	t.Run("query that does not parse: 400", func(t *testing.T) {
		_, err := c.Query(ctx, influx.QueryRequest{Command: `SELEC 1`})
		e := asError(t, err)
		assert.Equal(t, 400, e.Status)
		assert.Equal(t, "error parsing query: found SELEC, expected SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL at line 1, char 1", e.Msg)
	})
	t.Run("bad line protocol: 400", func(t *testing.T) {
		err := c.Write(ctx, influx.WriteRequest{Database: "db one", Body: []byte("m,host=a\n")})
		e := asError(t, err)
		assert.Equal(t, "write", e.Op)
		assert.Equal(t, 400, e.Status)
		assert.Contains(t, e.Msg, "unable to parse 'm,host=a'")
		assert.True(t, strings.HasPrefix(err.Error(), `influxdb write to database "db one": unable to parse`), err.Error())
	})
	t.Run("unknown database: 404", func(t *testing.T) {
		err := c.Write(ctx, influx.WriteRequest{Database: "nope", Body: []byte("m v=1\n")})
		e := asError(t, err)
		assert.Equal(t, 404, e.Status)
		assert.Equal(t, `database not found: "nope"`, e.Msg)
	})
	t.Run("precision", func(t *testing.T) {
		require.NoError(t, c.Write(ctx, influx.WriteRequest{Database: "db one", Precision: "s", Body: []byte("p v=1 1700000000\n")}))
		resp, err := c.Query(ctx, influx.QueryRequest{Command: `SELECT v FROM "db one"."autogen"."p"`})
		require.NoError(t, err)
		assert.Equal(t, influx.StringValue("2023-11-14T22:13:20Z"), resp.Results[0].Series[0].Values[0][0])
	})

	t.Run("InfluxDB down", func(t *testing.T) {
		srv.Stop()
		// A connection pooled before the stop would fail as reset, not
		// refused: this checks a client that connects anew.
		c.Close()
		_, err := c.Query(ctx, influx.QueryRequest{Command: "SELECT 1"})
		e := asError(t, err)
		assert.Equal(t, 0, e.Status)
		assert.True(t, errors.Is(err, syscall.ECONNREFUSED), "%v", err)
		assert.Contains(t, err.Error(), srv.URL)
		assert.Contains(t, err.Error(), "connection refused")
		_, err = c.Ping(ctx)
		assert.True(t, errors.Is(err, syscall.ECONNREFUSED), "%v", err)
		err = c.Write(ctx, influx.WriteRequest{Database: "x", Body: []byte("m v=1\n")})
		assert.True(t, errors.Is(err, syscall.ECONNREFUSED), "%v", err)
	})
}

// TestClientBasicAuth runs against a real InfluxDB with authentication on.
func TestClientBasicAuth(t *testing.T) {
	srv := influxtest.Start(t, influxtest.Options{Auth: true, Username: "admin", Password: "s3cret"})
	ctx := context.Background()
	q := influx.QueryRequest{Command: "SHOW DATABASES"}

	_, err := newClient(t, influx.Config{URLs: []string{srv.URL}}).Query(ctx, q)
	e := asError(t, err)
	assert.Equal(t, 401, e.Status)
	assert.Equal(t, "unable to parse authentication credentials", e.Msg)

	_, err = newClient(t, influx.Config{URLs: []string{srv.URL}, Username: "admin", Password: "wrong"}).Query(ctx, q)
	e = asError(t, err)
	assert.Equal(t, 401, e.Status)
	assert.Equal(t, "authorization failed", e.Msg)

	resp, err := newClient(t, influx.Config{URLs: []string{srv.URL}, Username: "admin", Password: "s3cret"}).Query(ctx, q)
	require.NoError(t, err)
	assert.Equal(t, "databases", resp.Results[0].Series[0].Name)
}

// server starts a real HTTP server on 127.0.0.1 with handler h.
func server(t *testing.T, h http.HandlerFunc) *httptest.Server {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func TestClientHeaders(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Clone(context.Background()))
		mu.Unlock()
		w.Header().Set("X-Influxdb-Version", "1.8.10")
		switch r.URL.Path {
		case "/ping":
			w.WriteHeader(204)
		case "/write":
			w.WriteHeader(204)
		default:
			fmt.Fprint(w, `{"results":[{"statement_id":0}]}`)
		}
	})
	ctx := context.Background()
	last := func() *http.Request {
		mu.Lock()
		defer mu.Unlock()
		return got[len(got)-1]
	}

	tok := newClient(t, influx.Config{URLs: []string{s.URL}, Token: "abc", Username: "u", Password: "p"})
	v, err := tok.Ping(ctx)
	require.NoError(t, err)
	assert.Equal(t, "1.8.10", v)
	r := last()
	assert.Equal(t, "Token abc", r.Header.Get("Authorization"), "the token wins over username")
	assert.Equal(t, "tickrun", r.Header.Get("User-Agent"))
	assert.Equal(t, "GET", r.Method)

	basic := newClient(t, influx.Config{URLs: []string{s.URL + "/prefix/"}, Username: "u", Password: "p", UserAgent: "kapacitor"})
	_, err = basic.Query(ctx, influx.QueryRequest{Command: "SELECT 1"})
	require.NoError(t, err)
	r = last()
	user, pass, ok := r.BasicAuth()
	assert.True(t, ok)
	assert.Equal(t, "u", user)
	assert.Equal(t, "p", pass)
	assert.Equal(t, "kapacitor", r.Header.Get("User-Agent"))
	assert.Equal(t, "/prefix/query", r.URL.Path, "a path in the URL is kept")
	assert.Equal(t, "db=&q=SELECT+1", r.URL.RawQuery)
	assert.Equal(t, "POST", r.Method)
	assert.Equal(t, int64(0), r.ContentLength, "no body")

	none := newClient(t, influx.Config{URLs: []string{s.URL}})
	require.NoError(t, none.Write(ctx, influx.WriteRequest{Database: "out", Body: []byte("m v=1\n")}))
	r = last()
	assert.Empty(t, r.Header.Get("Authorization"))
	assert.Equal(t, "consistency=&db=out&precision=ns&rp=", r.URL.RawQuery, "as Kapacitor writes")
	assert.Equal(t, "application/octet-stream", r.Header.Get("Content-Type"))
}

func TestClientBadAnswers(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		status  int
		body    string
		msg     string
		decode  bool
		version string
	}{
		{name: "not JSON", status: 200, body: "<html>hi</html>", decode: true,
			msg: `failed to decode JSON: invalid JSON at byte 0: expected an object for the response, found '<'`},
		{name: "cut JSON", status: 200, body: `{"results":[{"series":[{"name":"cpu","values":[[1,`, decode: true,
			msg: `failed to decode JSON: invalid JSON at byte 50: expected a value, found end of body`},
		{name: "top-level error", status: 200, body: `{"error":"shutting down"}`, msg: "shutting down"},
		{name: "second statement error", status: 200, body: `{"results":[{},{"error":"second failed"}]}`, msg: "second failed"},
		{name: "500 with JSON error", status: 500, body: `{"error":"timeout"}`, msg: "timeout"},
		{name: "500 text", status: 500, body: "oops\n", msg: "invalid response: code 500: body: oops"},
		{name: "502 empty", status: 502, body: "", msg: "invalid response: code 502: body: "},
		{name: "204 on query", status: 204, body: "", msg: "invalid response: code 204: body: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := server(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			})
			_, err := newClient(t, influx.Config{URLs: []string{s.URL}}).Query(ctx, influx.QueryRequest{Command: "SELECT 1"})
			e := asError(t, err)
			assert.Equal(t, tc.msg, e.Msg)
			assert.Equal(t, tc.status, e.Status)
			assert.Equal(t, "SELECT 1", e.Query)
			var de *influx.DecodeError
			assert.Equal(t, tc.decode, errors.As(err, &de))
		})
	}
	t.Run("answer cut short", func(t *testing.T) {
		s := server(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(200)
			fmt.Fprint(w, `{"results":[`)
		})
		_, err := newClient(t, influx.Config{URLs: []string{s.URL}}).Query(ctx, influx.QueryRequest{Command: "SELECT 1"})
		e := asError(t, err)
		assert.Contains(t, e.Msg, "reading the answer: unexpected EOF")
	})
	t.Run("ping 200 with a JSON version", func(t *testing.T) {
		s := server(t, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"version":"3.0.1","revision":"x"}`)
		})
		v, err := newClient(t, influx.Config{URLs: []string{s.URL}}).Ping(ctx)
		require.NoError(t, err)
		assert.Equal(t, "3.0.1", v)
	})
}

func TestClientTimeoutAndCancel(t *testing.T) {
	release := make(chan struct{})
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	_, err := newClient(t, influx.Config{URLs: []string{s.URL}, Timeout: 50 * time.Millisecond}).Query(context.Background(), influx.QueryRequest{Command: "SELECT 1"})
	e := asError(t, err)
	assert.Equal(t, 0, e.Status)
	var ne net.Error
	require.True(t, errors.As(err, &ne), "%v", err)
	assert.True(t, ne.Timeout())
	assert.Contains(t, err.Error(), "Client.Timeout exceeded")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = newClient(t, influx.Config{URLs: []string{s.URL}}).Query(ctx, influx.QueryRequest{Command: "SELECT 1"})
	assert.True(t, errors.Is(err, context.Canceled), "%v", err)
}

func TestClientTLS(t *testing.T) {
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer s.Close()
	_, err := newClient(t, influx.Config{URLs: []string{s.URL}}).Ping(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")
	_, err = newClient(t, influx.Config{URLs: []string{s.URL}, InsecureSkipVerify: true}).Ping(context.Background())
	assert.NoError(t, err)
}

func TestClientRoundRobin(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	h := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hits[name]++
			mu.Unlock()
			w.WriteHeader(204)
		}
	}
	a, b := server(t, h("a")), server(t, h("b"))
	c := newClient(t, influx.Config{URLs: []string{a.URL, b.URL}})
	for range 4 {
		_, err := c.Ping(context.Background())
		require.NoError(t, err)
	}
	assert.Equal(t, map[string]int{"a": 2, "b": 2}, hits)
}

func TestNewErrors(t *testing.T) {
	_, err := influx.New(influx.Config{})
	assert.EqualError(t, err, "must specify at least one InfluxDB URL")
	_, err = influx.New(influx.Config{URLs: []string{"udp://localhost:8089"}})
	assert.EqualError(t, err, "invalid URLs: Unsupported protocol scheme: udp, your address must start with http:// or https://")
	_, err = influx.New(influx.Config{URLs: []string{"http://[::1"}})
	assert.Error(t, err)
}

func TestConfig(t *testing.T) {
	for cfg, msg := range map[*influx.Config]string{
		{URLs: []string{"http://a"}}:              "influxdb cluster must be given a name",
		{Name: "a b", URLs: []string{"http://a"}}: "influxdb cluster name must contain only numbers, letters or '.', '-', and '_' characters",
		{Name: "a"}: "must specify at least one InfluxDB URL",
		{Name: "a", URLs: []string{"http://a", "tcp://b"}}:     "Unsupported protocol scheme: tcp, your address must start with http:// or https://",
		{Name: "prod-1.é_x", URLs: []string{"https://a:8086"}}: "",
	} {
		err := cfg.Validate()
		if msg == "" {
			assert.NoError(t, err)
		} else {
			assert.EqualError(t, err, msg)
		}
	}

	one := []influx.Config{{Name: "only"}}
	two := []influx.Config{{Name: "a"}, {Name: "b", Default: true}, {Name: "c", Disabled: true}}
	pick := func(cs []influx.Config, name string) string {
		c, err := influx.Pick(cs, name)
		if err != nil {
			return "error: " + err.Error()
		}
		return c.Name
	}
	assert.Equal(t, "only", pick(one, ""), "a single section is the default")
	assert.Equal(t, "b", pick(two, ""))
	assert.Equal(t, "a", pick(two, "a"))
	assert.Equal(t, "error: no such InfluxDB config c", pick(two, "c"), "disabled")
	assert.Equal(t, "error: no such InfluxDB config zz", pick(two, "zz"))
	assert.Equal(t, "error: no default InfluxDB config: mark one [[influxdb]] section default = true", pick([]influx.Config{{Name: "a"}, {Name: "b"}}, ""))
	assert.Equal(t, "error: more than one [[influxdb]] section is marked default", pick([]influx.Config{{Name: "a", Default: true}, {Name: "b", Default: true}}, ""))
	assert.Equal(t, "error: no default InfluxDB config: mark one [[influxdb]] section default = true", pick(nil, ""))
}
