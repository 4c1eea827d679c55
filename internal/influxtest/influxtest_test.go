package influxtest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/internal/influxtest"
)

func TestServer(t *testing.T) {
	s := influxtest.Start(t, influxtest.Options{})
	assert.True(t, strings.HasPrefix(s.URL, "http://127.0.0.1:"), s.URL)
	s.ResetDatabase(t, "telegraf")
	s.Write(t, "telegraf", []byte("cpu,host=a v=1i 1700000000000000000\n"))
	body := s.Query(t, `SELECT v FROM "telegraf"."autogen"."cpu"`)
	assert.Equal(t, `{"results":[{"statement_id":0,"series":[{"name":"cpu","columns":["time","v"],"values":[["2023-11-14T22:13:20Z",1]]}]}]}`+"\n", string(body))
	s.ResetDatabase(t, "telegraf")
	body = s.Query(t, `SELECT v FROM "telegraf"."autogen"."cpu"`)
	assert.Equal(t, `{"results":[{"statement_id":0}]}`+"\n", string(body), "reset empties the database")

	rec := s.Recorder(t)
	resp, err := http.Post(rec.URL+"/query?db=&q=SHOW+DATABASES", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	reqs := rec.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "POST", reqs[0].Method)
	assert.Equal(t, "/query?db=&q=SHOW DATABASES", reqs[0].Path)
	assert.Equal(t, 200, reqs[0].Status)
	assert.Contains(t, string(reqs[0].Response), `"name":"databases"`)
	rec.Reset()
	assert.Empty(t, rec.Requests())

	s.Stop()
	_, err = http.Get(s.URL + "/ping")
	assert.Error(t, err, "stopped")
}

func TestAuth(t *testing.T) {
	s := influxtest.Start(t, influxtest.Options{Auth: true, Username: "admin", Password: "it's"})
	s.ResetDatabase(t, "x") // as the admin
	resp, err := http.Post(s.URL+"/query?q=SHOW+DATABASES", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 401, resp.StatusCode, "without credentials")
}
