package pipeline_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/pipeline/deliver"
)

// recorder is a local HTTP server that records requests; it answers 500
// to the first `fail` requests.
type recorder struct {
	mu    sync.Mutex
	reqs  []string
	fail  int
	calls int
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.calls <= r.fail {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	r.reqs = append(r.reqs, req.Method+" "+req.URL.RequestURI()+" "+req.Header.Get("Content-Type")+" "+req.Header.Get("X-Team")+"\n"+string(body))
}

func runScript(t *testing.T, script, input string) (*pipeline.Task, []deliver.Stats) {
	t.Helper()
	opts := pipeline.Options{}
	opts.Deliver.Backoff = 1
	task, err := pipeline.Compile("t", "t.tick", script, opts)
	require.NoError(t, err, "%v", err)
	_, err = task.WriteLineProtocol(strings.NewReader(input), "telegraf", "autogen", "", nil)
	require.NoError(t, err)
	require.NoError(t, task.Close(context.Background()))
	return task, task.HandlerStats()
}

func TestHTTPPostNode(t *testing.T) {
	rec := &recorder{fail: 1}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	_, stats := runScript(t, `stream|from().measurement('cpu')|httpPost('`+srv.URL+`/hook').header('X-Team', 'ops')`,
		"cpu,host=a v=1.5 1700000000000000000\ncpu,host=b v=2i 1700000001000000000\n")
	assert.Equal(t, []string{
		`POST /hook application/json ops` + "\n" + `{"name":"cpu","tags":{"host":"a"},"columns":["time","v"],"values":[["2023-11-14T22:13:20Z",1.5]]}`,
		`POST /hook application/json ops` + "\n" + `{"name":"cpu","tags":{"host":"b"},"columns":["time","v"],"values":[["2023-11-14T22:13:21Z",2]]}`,
	}, rec.reqs)
	require.Len(t, stats, 1)
	assert.Equal(t, int64(2), stats[0].Sent)
	assert.Equal(t, int64(1), stats[0].Retried)
	assert.Equal(t, int64(0), stats[0].Dropped)
}

func TestInfluxDBOutNode(t *testing.T) {
	rec := &recorder{fail: 1}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	_, stats := runScript(t, `stream|from().measurement('cpu')|influxDBOut().url('`+srv.URL+`').database('mydb').retentionPolicy('rp1').measurement('cpu copy').tag('src', 'tick run').precision('s').buffer(2)`,
		"cpu,host=a v=1.5,s=\"q\\\"x\" 1700000000000000000\ncpu,host=b v=2i,ok=true 1700000001000000000\ncpu,host=c v=3 1700000002000000000\n")
	assert.Equal(t, []string{
		"POST /write?consistency=&db=mydb&precision=s&rp=rp1 application/octet-stream \n" +
			`cpu\ copy,host=a,src=tick\ run s="q\"x",v=1.5 1700000000` + "\n" +
			`cpu\ copy,host=b,src=tick\ run ok=true,v=2i 1700000001` + "\n",
		"POST /write?consistency=&db=mydb&precision=s&rp=rp1 application/octet-stream \n" +
			`cpu\ copy,host=c,src=tick\ run v=3 1700000002` + "\n",
	}, rec.reqs)
	require.Len(t, stats, 1)
	assert.Equal(t, int64(2), stats[0].Sent)
	assert.Equal(t, int64(1), stats[0].Retried)
}

func TestOutputNodeErrors(t *testing.T) {
	for src, want := range map[string]string{
		`stream|from()|influxDBOut()`:                                 "influxDBOut needs a database",
		`stream|from()|influxDBOut().database('d').cluster('c')`:      `no InfluxDB is configured`,
		`stream|from()|httpPost()`:                                    "httpPost needs a URL",
		`stream|from()|httpPost('http://127.0.0.1:1').codeField('c')`: `property "codeField" of httpPost is not supported by tickrun`,
	} {
		_, err := pipeline.Compile("t", "t.tick", src, pipeline.Options{})
		if assert.Error(t, err, src) {
			assert.Contains(t, err.Error(), want, src)
		}
	}
}
