package server_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/server/config"
)

// TestAuth: with [http] auth-enabled, requests need a user's
// credentials (Basic or u/p), and a normal user only what its
// permissions grant. Users are created while auth is off, as with
// kapacitord.
func TestAuth(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, nil)
	for _, u := range []string{
		`{"name":"admin","password":"pw1","type":"admin"}`,
		`{"name":"telegraf","password":"pw2","type":"normal","permissions":["write_points"]}`,
	} {
		status, _, body := ts.do("POST", "/kapacitor/v1/users", nil, []byte(u))
		require.Equal(t, http.StatusCreated, status, body)
		assert.NotContains(t, body, "pw")
	}
	ts.stop()
	ts = startServer(t, dir, func(c *config.Config) { c.HTTP.AuthEnabled = true })
	basic := func(u, p string) [][2]string {
		return [][2]string{{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p))}}
	}
	line := []byte("cpu a=1 1\n")
	for _, tc := range []struct {
		name, method, path string
		headers            [][2]string
		body               []byte
		status             int
	}{
		{"ping needs nothing", "GET", "/kapacitor/v1/ping", nil, nil, 204},
		{"no credentials", "GET", "/kapacitor/v1/tasks", nil, nil, 401},
		{"wrong password", "GET", "/kapacitor/v1/tasks", basic("admin", "nope"), nil, 401},
		{"unknown user", "GET", "/kapacitor/v1/tasks", basic("eve", "pw1"), nil, 401},
		{"admin basic", "GET", "/kapacitor/v1/tasks", basic("admin", "pw1"), nil, 200},
		{"admin u/p", "GET", "/kapacitor/v1/tasks?u=admin&p=pw1", nil, nil, 200},
		{"writer writes", "POST", "/write?db=telegraf&rp=autogen&u=telegraf&p=pw2", nil, line, 204},
		{"writer writes basic", "POST", "/write?db=telegraf&rp=autogen", basic("telegraf", "pw2"), line, 204},
		{"writer may not read tasks", "GET", "/kapacitor/v1/tasks", basic("telegraf", "pw2"), nil, 403},
		{"writer may not add users", "POST", "/kapacitor/v1/users", basic("telegraf", "pw2"), []byte(`{"name":"x","password":"y"}`), 403},
	} {
		status, _, body := ts.do(tc.method, tc.path, tc.headers, tc.body)
		assert.Equal(t, tc.status, status, "%s: %s", tc.name, body)
	}
}

// TestTopicHandlers: PUT replaces a handler, PATCH applies an RFC 6902
// JSON Patch, a bad patch changes nothing, DELETE removes it.
func TestTopicHandlers(t *testing.T) {
	ts := startServer(t, t.TempDir(), nil)
	path := "/kapacitor/v1/alerts/topics/cpu/handlers"
	status, _, body := ts.do("POST", path, nil, []byte(`{"id":"h","kind":"log","options":{"path":"/tmp/a.log"}}`))
	require.Equal(t, http.StatusOK, status, body)
	status, _, body = ts.do("POST", path, nil, []byte(`{"id":"h","kind":"log","options":{"path":"/tmp/a.log"}}`))
	assert.Equal(t, http.StatusBadRequest, status, body)

	status, _, body = ts.do("PUT", path+"/h", nil, []byte(`{"id":"h","kind":"tcp","options":{"address":"127.0.0.1:1"},"match":"level() == CRITICAL"}`))
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "{\n    \"link\": {\n        \"rel\": \"self\",\n        \"href\": \"/kapacitor/v1/alerts/topics/cpu/handlers/h\"\n    },\n    \"id\": \"h\",\n    \"kind\": \"tcp\",\n    \"options\": {\n        \"address\": \"127.0.0.1:1\"\n    },\n    \"match\": \"level() == CRITICAL\"\n}", body)

	status, _, body = ts.do("PATCH", path+"/h", nil, []byte(`[{"op":"replace","path":"/options/address","value":"127.0.0.1:2"},{"op":"remove","path":"/match"}]`))
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `"address": "127.0.0.1:2"`)
	assert.Contains(t, body, `"match": ""`)

	status, _, body = ts.do("PATCH", path+"/h", nil, []byte(`[{"op":"replace","path":"/kind","value":"carrier-pigeon"}]`))
	assert.Equal(t, http.StatusBadRequest, status, body)
	status, _, body = ts.do("PATCH", path+"/h", nil, []byte(`{"op":"replace"}`))
	assert.Equal(t, http.StatusBadRequest, status, body)
	assert.Contains(t, body, "invalid patch json: ")
	_, _, body = ts.do("GET", path+"/h", nil, nil)
	assert.Contains(t, body, `"kind": "tcp"`, "a rejected patch changes nothing")

	status, _, _ = ts.do("DELETE", path+"/h", nil, nil)
	assert.Equal(t, http.StatusNoContent, status)
	status, _, _ = ts.do("GET", path+"/h", nil, nil)
	assert.Equal(t, http.StatusNotFound, status)
}

// TestTaskList: pattern (a glob), fields, offset and limit, as the CLI
// pages through tasks.
func TestTaskList(t *testing.T) {
	ts := startServer(t, t.TempDir(), nil)
	for i := 0; i < 5; i++ {
		b := fmt.Sprintf(`{"id":"t%d","script":"stream|from().measurement('m%d')","dbrps":[{"db":"a","rp":"b"}]}`, i, i)
		status, _, body := ts.do("POST", "/kapacitor/v1/tasks", nil, []byte(b))
		require.Equal(t, http.StatusOK, status, body)
	}
	ids := func(path string) []string {
		status, _, body := ts.do("GET", path, nil, nil)
		require.Equal(t, http.StatusOK, status, body)
		var v struct{ Tasks []map[string]any }
		require.NoError(t, json.Unmarshal([]byte(body), &v))
		var out []string
		for _, m := range v.Tasks {
			out = append(out, m["id"].(string))
		}
		return out
	}
	assert.Equal(t, []string{"t0", "t1", "t2", "t3", "t4"}, ids("/kapacitor/v1/tasks"))
	assert.Equal(t, []string{"t1", "t2"}, ids("/kapacitor/v1/tasks?offset=1&limit=2&fields=link"))
	assert.Equal(t, []string{"t3"}, ids("/kapacitor/v1/tasks?pattern=t%5B3%5D"))
	assert.Empty(t, ids("/kapacitor/v1/tasks?pattern=x*"))
	_, _, body := ts.do("GET", "/kapacitor/v1/tasks?pattern=t0&fields=status", nil, nil)
	assert.Equal(t, "{\n    \"tasks\": [\n        {\n            \"id\": \"t0\",\n            \"link\": {\n                \"rel\": \"self\",\n                \"href\": \"/kapacitor/v1/tasks/t0\"\n            },\n            \"status\": \"disabled\"\n        }\n    ]\n}", body)
	status, _, body := ts.do("GET", "/kapacitor/v1/tasks?fields=nope", nil, nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, `unsupported field \"nope\"`)
}

// TestTemplateUpdate: changing a template reloads its tasks, all or
// nothing.
func TestTemplateUpdate(t *testing.T) {
	ts := startServer(t, t.TempDir(), nil)
	replayRecorded(t, ts, "20_define_template", "")
	replayRecorded(t, ts, "21_define_from_template", "")
	status, _, body := ts.do("PATCH", "/kapacitor/v1/tasks/x", nil, []byte(`{"status":"enabled"}`))
	require.Equal(t, http.StatusOK, status, body)
	// A script that task x cannot take (a new required var) is refused.
	status, _, body = ts.do("PATCH", "/kapacitor/v1/templates/t", nil, []byte(`{"script":"var measurement string\nvar crit lambda\nvar extra string\nstream|from().measurement(measurement).where(lambda: \"host\" == extra)|alert().crit(crit)"}`))
	assert.Equal(t, http.StatusBadRequest, status, body)
	assert.Contains(t, body, "error reloading associated task x")
	_, _, body = ts.do("GET", "/kapacitor/v1/templates/t?script-format=raw", nil, nil)
	assert.NotContains(t, body, "extra")
	// One it can take is applied to the task, which runs the new script.
	status, _, body = ts.do("PATCH", "/kapacitor/v1/templates/t", nil, []byte(`{"script":"dbrp \"telegraf\".\"autogen\"\nvar measurement string\nvar crit lambda\nstream|from().measurement(measurement)|alert().crit(crit).topic('mem')"}`))
	require.Equal(t, http.StatusOK, status, body)
	_, _, body = ts.do("GET", "/kapacitor/v1/tasks/x?script-format=raw", nil, nil)
	assert.Contains(t, body, `topic('mem')`)
	assert.Contains(t, body, `"executing": true`)
}

// TestHTTPOut serves an httpOut node at /kapacitor/v1/tasks/<task>/<endpoint>.
func TestHTTPOut(t *testing.T) {
	ts := startServer(t, t.TempDir(), nil)
	status, _, body := ts.do("POST", "/kapacitor/v1/tasks", nil, []byte(`{"id":"out","script":"stream|from().measurement('cpu')|httpOut('last')","dbrps":[{"db":"telegraf","rp":"autogen"}],"status":"enabled"}`))
	require.Equal(t, http.StatusOK, status, body)
	status, _, body = ts.do("POST", "/write?db=telegraf&rp=autogen", nil, []byte("cpu,host=a v=1 1700000000000000000\ncpu,host=a v=2 1700000001000000000\n"))
	require.Equal(t, http.StatusNoContent, status, body)
	status, _, body = ts.do("GET", "/kapacitor/v1/tasks/out/last", nil, nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.JSONEq(t, `{"series":[{"name":"cpu","tags":{"host":"a"},"columns":["time","v"],"values":[["2023-11-14T22:13:21Z",2]]}]}`, body)
	status, _, _ = ts.do("GET", "/kapacitor/v1/tasks/out/nope", nil, nil)
	assert.Equal(t, http.StatusNotFound, status)
	status, _, _ = ts.do("GET", "/kapacitor/v1/tasks/nope/last", nil, nil)
	assert.Equal(t, http.StatusNotFound, status)
	assert.False(t, strings.Contains(body, "\n\n"))
}
