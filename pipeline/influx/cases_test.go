package influx_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/internal/influxtest"
	"github.com/tickrun/tickrun/pipeline/influx"
)

// casesDir holds the batch cases recorded from Kapacitor 1.8.3 replaying
// batch tasks against InfluxDB 1.6.7, copied verbatim from shared/.
const casesDir = "../../testdata/batch-cases"

// recorded is one line of a case's queries.jsonl or writes.jsonl.
type recorded struct {
	Method   string `json:"method"`
	Path     string `json:"path"`
	Q        string `json:"q"`
	DB       string `json:"db"`
	Status   int    `json:"status"`
	Response string `json:"response"`
	Body     string `json:"body"`
}

type batchCase struct {
	name, dir   string
	script      string
	start, stop time.Time
	queries     []recorded
	replayErr   string // "running replay: X" → X, when the replay failed
}

func loadCases(t *testing.T) []batchCase {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(casesDir, "*", "script.tick"))
	require.NoError(t, err)
	require.Greater(t, len(dirs), 0, "no batch case found under %s", casesDir)
	var cases []batchCase
	for _, script := range dirs {
		dir := filepath.Dir(script)
		c := batchCase{name: filepath.Base(dir), dir: dir}
		src, err := os.ReadFile(script)
		require.NoError(t, err)
		c.script = string(src)
		rng, err := os.ReadFile(filepath.Join(dir, "range"))
		require.NoError(t, err)
		f := strings.Fields(string(rng))
		require.Len(t, f, 2, "%s/range", c.name)
		c.start, err = time.Parse(time.RFC3339, f[0])
		require.NoError(t, err)
		c.stop, err = time.Parse(time.RFC3339, f[1])
		require.NoError(t, err)
		c.queries = readJSONL(t, filepath.Join(dir, "queries.jsonl"))
		if b, err := os.ReadFile(filepath.Join(dir, "replay.txt")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if msg, ok := strings.CutPrefix(line, "Error: running replay: "); ok {
					c.replayErr = msg
				}
			}
			require.NotEmpty(t, c.replayErr, "%s/replay.txt has no error line", c.name)
		}
		cases = append(cases, c)
	}
	return cases
}

func readJSONL(t *testing.T, path string) []recorded {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []recorded
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var r recorded
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), path)
		out = append(out, r)
	}
	require.NoError(t, sc.Err())
	return out
}

// plannedNode is one query node of a case with its rendered queries.
type plannedNode struct {
	node    *queryNode
	query   *influx.Query
	windows []influx.Window
	texts   []string
}

// plan builds each query node of the case and renders its queries over the
// case's range as replay-live does. The cases were recorded with TZ=UTC.
func plan(t *testing.T, c batchCase) []plannedNode {
	t.Helper()
	nodes := scriptQueries(t, c.name+"/script.tick", c.script)
	require.NotEmpty(t, nodes, "%s has no query()", c.name)
	var out []plannedNode
	for _, n := range nodes {
		q, err := influx.NewQuery(n.text, n.query)
		require.NoError(t, err, c.name)
		opts := n.schedule
		opts.Location = time.UTC
		s, err := influx.NewSchedule(opts)
		require.NoError(t, err, c.name)
		p := plannedNode{node: n, query: q, windows: s.Windows(c.start, c.stop, time.Time{})}
		for _, w := range p.windows {
			p.texts = append(p.texts, q.RenderReplay(w.Start, w.Stop))
		}
		out = append(out, p)
	}
	return out
}

// checkOrder checks that the recorded queries are the planned ones: for
// each node, the recorded queries of that node are its planned queries in
// order (the nodes of batch_join run concurrently in Kapacitor, so their
// queries interleave in either order), and nothing else was recorded.
// When the replay failed, each node's list is a prefix of its plan.
func checkOrder(t *testing.T, c batchCase, nodes []plannedNode, got []string) {
	t.Helper()
	owner := map[string]int{}
	for i, n := range nodes {
		for _, q := range n.texts {
			_, dup := owner[q]
			require.False(t, dup, "%s: query %q planned twice", c.name, q)
			owner[q] = i
		}
	}
	perNode := make([][]string, len(nodes))
	for _, q := range got {
		i, ok := owner[q]
		if !assert.True(t, ok, "%s: unexpected query %q", c.name, q) {
			continue
		}
		perNode[i] = append(perNode[i], q)
	}
	for i, n := range nodes {
		want := n.texts
		if c.replayErr != "" {
			require.LessOrEqual(t, len(perNode[i]), len(want), c.name)
			want = want[:len(perNode[i])]
		}
		assert.Equal(t, want, perNode[i], "%s: queries of node %d", c.name, i)
	}
}

// TestCasesQueries checks the schedule and the query text of every batch
// case against the queries Kapacitor sent.
func TestCasesQueries(t *testing.T) {
	for _, c := range loadCases(t) {
		t.Run(c.name, func(t *testing.T) {
			nodes := plan(t, c)
			var got []string
			for _, r := range c.queries {
				assert.Equal(t, "POST", r.Method)
				assert.Equal(t, "", r.DB)
				assert.Equal(t, "/query?db=&q="+r.Q, r.Path)
				got = append(got, r.Q)
			}
			checkOrder(t, c, nodes, got)
			if c.replayErr != "" {
				// The replay stops at the first query, which fails.
				require.Len(t, c.queries, 1)
			} else {
				total := 0
				for _, n := range nodes {
					total += len(n.texts)
				}
				assert.Equal(t, total, len(c.queries))
			}
		})
	}
}

// TestCasesAgainstInfluxDB writes each case's input into a real InfluxDB
// 1.6.7, runs the planned queries through Client (behind a logging proxy,
// as the cases were recorded), and checks the requests, InfluxDB's answers
// and their decoding against the recording.
func TestCasesAgainstInfluxDB(t *testing.T) {
	srv := influxtest.Start(t, influxtest.Options{})
	rec := srv.Recorder(t)
	client, err := influx.New(influx.Config{Name: "test", URLs: []string{rec.URL}, Timeout: 30 * time.Second})
	require.NoError(t, err)
	defer client.Close()
	ctx := context.Background()
	for _, c := range loadCases(t) {
		t.Run(c.name, func(t *testing.T) {
			srv.ResetDatabase(t, "telegraf")
			if b, err := os.ReadFile(filepath.Join(c.dir, "dbs")); err == nil {
				for _, db := range strings.Fields(string(b)) {
					srv.ResetDatabase(t, db)
				}
			}
			input, err := os.ReadFile(filepath.Join(c.dir, "input.lp"))
			require.NoError(t, err)
			srv.Write(t, "telegraf", input)
			rec.Reset()

			nodes := plan(t, c)
			var queryErr error
		run:
			for _, n := range nodes {
				for _, text := range n.texts {
					resp, err := client.Query(ctx, influx.QueryRequest{Command: text})
					if err != nil {
						// replay-live stops at the first failed query.
						queryErr = err
						break run
					}
					require.NotNil(t, resp)
				}
			}
			reqs := rec.Requests()
			var got []string
			for _, r := range reqs {
				got = append(got, r.Params.Get("q"))
			}
			checkOrder(t, c, nodes, got)
			require.Equal(t, len(c.queries), len(reqs), "number of queries sent")

			byQuery := map[string]recorded{}
			for _, r := range c.queries {
				byQuery[r.Q] = r
			}
			for _, r := range reqs {
				want, ok := byQuery[r.Params.Get("q")]
				require.True(t, ok)
				// The request, as the logging proxy saw Kapacitor's.
				assert.Equal(t, want.Method, r.Method)
				assert.Equal(t, want.Path, r.Path)
				assert.Equal(t, want.DB, r.Params.Get("db"))
				assert.Equal(t, []string{"db", "q"}, sortedKeys(r.Params), "only db and q are sent")
				assert.Empty(t, r.Body)
				// InfluxDB answers byte for byte as it answered Kapacitor.
				assert.Equal(t, want.Status, r.Status)
				assert.Equal(t, want.Response, string(r.Response), "answer to %s", want.Q)
				// And Client decodes it as Kapacitor does.
				wantResp, err := referenceDecode([]byte(want.Response))
				require.NoError(t, err)
				gotResp, err := influx.DecodeResponse(r.Response)
				require.NoError(t, err)
				assert.Equal(t, dumpResponse(wantResp), dumpResponse(gotResp), "decoded answer to %s", want.Q)
			}

			if c.replayErr != "" {
				var e *influx.Error
				require.True(t, errors.As(queryErr, &e), "want an *influx.Error, got %v", queryErr)
				assert.Equal(t, c.replayErr, e.Msg, "InfluxDB's message, as replay-live printed it")
				assert.Equal(t, "query", e.Op)
				assert.Equal(t, c.queries[0].Q, e.Query)
				assert.Equal(t, 200, e.Status)
				assert.Equal(t, fmt.Sprintf("influxdb query %q: %s", c.queries[0].Q, c.replayErr), e.Error())
			} else {
				require.NoError(t, queryErr)
			}
			checkWrites(t, ctx, srv, rec, client, c)
		})
	}
}

// checkWrites replays the case's recorded /write bodies through
// Client.Write and compares the request and what InfluxDB then holds with
// the recording (batch_influxdbout).
func checkWrites(t *testing.T, ctx context.Context, srv *influxtest.Server, rec *influxtest.Recorder, client *influx.Client, c batchCase) {
	path := filepath.Join(c.dir, "writes.jsonl")
	if _, err := os.Stat(path); err != nil {
		return
	}
	writes := readJSONL(t, path)
	require.NotEmpty(t, writes)
	rec.Reset()
	for _, w := range writes {
		require.Equal(t, "POST", w.Method)
		db := strings.TrimPrefix(w.Path[strings.Index(w.Path, "db="):], "db=")
		db = db[:strings.IndexByte(db, '&')]
		require.NoError(t, client.Write(ctx, influx.WriteRequest{Database: db, Body: []byte(w.Body)}))
	}
	reqs := rec.Requests()
	require.Len(t, reqs, len(writes))
	for i, r := range reqs {
		assert.Equal(t, writes[i].Path, r.Path)
		assert.Equal(t, writes[i].Body, string(r.Body))
		assert.Equal(t, 204, r.Status)
	}
	q, err := os.ReadFile(filepath.Join(c.dir, "after_query"))
	require.NoError(t, err)
	var after struct {
		Response json.RawMessage `json:"response"`
	}
	b, err := os.ReadFile(filepath.Join(c.dir, "influx_after.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &after))
	resp, err := client.Query(ctx, influx.QueryRequest{Command: strings.TrimSpace(string(q))})
	require.NoError(t, err)
	want, err := referenceDecode(after.Response)
	require.NoError(t, err)
	assert.Equal(t, dumpResponse(want), dumpResponse(resp))
}

func sortedKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// dumpResponse prints a response canonically: kinds and exact float
// values, with nil and empty lists alike.
func dumpResponse(r *influx.Response) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "error %q\n", r.Err)
	for i, res := range r.Results {
		fmt.Fprintf(&b, "result %d error %q\n", i, res.Err)
		for _, m := range res.Messages {
			fmt.Fprintf(&b, "  message %q %q\n", m.Level, m.Text)
		}
		for _, s := range res.Series {
			fmt.Fprintf(&b, "  series %q partial %v tags", s.Name, s.Partial)
			for _, tg := range s.Tags {
				fmt.Fprintf(&b, " %q=%q", tg.Key, tg.Value)
			}
			fmt.Fprintf(&b, "\n    columns %q\n", s.Columns)
			for _, row := range s.Values {
				if row == nil {
					b.WriteString("    nil row\n")
					continue
				}
				b.WriteString("    row")
				for _, v := range row {
					fmt.Fprintf(&b, " %s:%s", v.Kind, v)
				}
				b.WriteString("\n")
			}
		}
	}
	return b.String()
}
