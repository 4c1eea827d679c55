package pipeline_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/pipeline"
)

func TestHTTPOut(t *testing.T) {
	task, err := pipeline.Compile("cpu_task", "script.tick", `
var data = stream
    |from()
        .measurement('cpu')
        .groupBy('host')
data
    |httpOut('latest')
data
    |window()
        .period(2s)
        .every(2s)
    |httpOut('windows')
`, pipeline.Options{})
	require.NoError(t, err)
	require.Equal(t, []string{"latest", "windows"}, task.HTTPOutEndpoints())

	got, ok := task.HTTPOut("latest")
	require.True(t, ok)
	require.Equal(t, `{"series":null}`, string(got))
	_, ok = task.HTTPOut("nope")
	require.False(t, ok)

	in := `cpu,host=a,dc=x v=1 1700000000000000000
cpu,host=b v=2i,s="q" 1700000000500000000
cpu,host=a,dc=x v=3 1700000001000000000
cpu,host=a,dc=x v=4 1700000002000000000
`
	_, err = task.WriteLineProtocol(strings.NewReader(in), "telegraf", "autogen", "", nil)
	require.NoError(t, err)
	require.NoError(t, task.Close(context.Background()))

	got, _ = task.HTTPOut("latest")
	require.Equal(t, `{"series":[`+
		`{"name":"cpu","tags":{"dc":"x","host":"a"},"columns":["time","v"],"values":[["2023-11-14T22:13:22Z",4]]},`+
		`{"name":"cpu","tags":{"host":"b"},"columns":["time","s","v"],"values":[["2023-11-14T22:13:20.5Z","q",2]]}]}`, string(got))
	got, _ = task.HTTPOut("windows")
	require.Equal(t, `{"series":[{"name":"cpu","tags":{"host":"a"},"columns":["time","dc","v"],"values":[["2023-11-14T22:13:20Z","x",1],["2023-11-14T22:13:21Z","x",3]]}]}`, string(got))

	srv := httptest.NewServer(task.HTTPHandler())
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	code, body := get("/kapacitor/v1/tasks/cpu_task/windows")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, string(got), body)
	code, body = get("/kapacitor/v1/tasks/cpu_task/nope")
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, body, `"error":`)
	code, _ = get("/kapacitor/v1/tasks/other/latest")
	require.Equal(t, http.StatusNotFound, code)
	resp, err := http.Post(srv.URL+"/kapacitor/v1/tasks/cpu_task/latest", "text/plain", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}
