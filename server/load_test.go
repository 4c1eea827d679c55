package server_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/server/config"
	"github.com/tickrun/tickrun/server/load"
)

// writeFiles writes name -> content under dir, creating directories.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

// taskFields reads some fields of a task; ok is false on 404.
func taskFields(t *testing.T, ts *testServer, id string) (v struct {
	Status     string `json:"status"`
	Executing  bool   `json:"executing"`
	Type       string `json:"type"`
	TemplateID string `json:"template-id"`
	Script     string `json:"script"`
	DBRPs      []struct{ DB, RP string }
}, ok bool) {
	t.Helper()
	status, _, body := ts.do("GET", "/kapacitor/v1/tasks/"+id+"?script-format=raw", nil, nil)
	if status == http.StatusNotFound {
		return v, false
	}
	require.Equal(t, http.StatusOK, status, body)
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	return v, true
}

func errorFiles(res load.Result) []string {
	var out []string
	for _, e := range res.Errors {
		var fe *load.FileError
		if errors.As(e, &fe) {
			out = append(out, filepath.Base(fe.File))
		}
	}
	return out
}

// TestLoadDirectory: [load] at start and on reload, as kapacitord's
// load service: templates, tasks from TICKscripts (dbrp and type from the
// script) and from vars files, topic handlers; new items are created
// enabled; a bad file is logged and skipped while the others load; a
// reload updates what changed, leaves an unchanged task running with its
// state, deletes what lost its file, and never touches what the API
// defined.
func TestLoadDirectory(t *testing.T) {
	sink := newSink(t)
	loadDir := filepath.Join(t.TempDir(), "load")
	handler := strings.ReplaceAll(readFile(t, "testdata/api/inputs/tcp_cpu_handler.yaml"), recordedSinkAddr, sink.addr)
	writeFiles(t, loadDir, map[string]string{
		"templates/t.tick":     readFile(t, "testdata/api/inputs/template.tick"),
		"tasks/cpu_alert.tick": readFile(t, "testdata/api/inputs/cpu_alert_dbrp.tick"),
		"tasks/x.yaml":         "template-id: t\nvars:\n  measurement: {type: string, value: mem}\n  crit: {type: lambda, value: '\"used\" > 90'}\n  topic: {type: string, value: mem}\n",
		"tasks/y.json":         `{"template-id": "t", "vars": {"measurement": {"type": "string", "value": "disk"}, "crit": {"type": "lambda", "value": "\"used\" > 95"}}}`,
		"handlers/tcp.yaml":    handler,
		"tasks/bad.tick":       readFile(t, "testdata/errors/bad_duration_unit.tick"),
		"tasks/nodbrp.tick":    "stream|from().measurement('cpu')|log()",
		"tasks/novars.yaml":    "dbrps: [{db: telegraf, rp: autogen}]\n",
		"handlers/bad.yaml":    "id: [unclosed\n",
		"handlers/README.txt":  "not a handler: ignored",
		"tasks/sub/z.tick":     "dbrp \"a\".\"b\"\nstream|from()|log()", // subdirectories are ignored
	})
	ts := startServer(t, t.TempDir(), func(c *config.Config) {
		c.Load.Enabled, c.Load.Dir = true, loadDir
	})
	// What the start-up load did, seen through the API.
	for _, id := range []string{"cpu_alert", "x", "y"} {
		v, ok := taskFields(t, ts, id)
		require.True(t, ok, id)
		assert.Equal(t, "enabled", v.Status, id)
		assert.True(t, v.Executing, id)
		assert.Equal(t, "stream", v.Type, id)
		assert.Len(t, v.DBRPs, 1, id)
	}
	v, _ := taskFields(t, ts, "x")
	assert.Equal(t, "t", v.TemplateID)
	for _, id := range []string{"bad", "nodbrp", "novars", "z"} {
		_, ok := taskFields(t, ts, id)
		assert.False(t, ok, "%s should not exist", id)
	}
	status, _, body := ts.do("GET", "/kapacitor/v1/alerts/topics/cpu/handlers/tcp-cpu-alert", nil, nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, sink.addr)

	// The bad files are reported, each once, by a reload of the same
	// directory (the start-up load logged the same).
	res := ts.srv.Reload()
	assert.ElementsMatch(t, []string{"bad.tick", "nodbrp.tick", "novars.yaml", "bad.yaml"}, errorFiles(res), "%v", res.Errors)
	assert.Empty(t, res.Removed)

	// A task of the API is never touched by a load.
	status, _, body = ts.do("POST", "/kapacitor/v1/tasks", nil, []byte(`{"id":"api_task","script":"stream|from().measurement('cpu')|log()","dbrps":[{"db":"telegraf","rp":"autogen"}],"status":"enabled"}`))
	require.Equal(t, http.StatusOK, status, body)

	// Points reach the loaded task and the loaded handler.
	status, _, body = ts.do("POST", "/write?db=telegraf&rp=autogen", nil, []byte("cpu,host=a usage_idle=5 1700000000000000000\ncpu,host=a usage_idle=50 1700000010000000000\n"))
	require.Equal(t, http.StatusNoContent, status, body)
	require.Equal(t, int64(2), nodeStat(t, ts, "cpu_alert", "stream0", "collected"))

	// Change the files: x's vars file is gone, y's template var changes,
	// the handler file is gone, cpu_alert is unchanged, a new task comes.
	require.NoError(t, os.Remove(filepath.Join(loadDir, "tasks/x.yaml")))
	require.NoError(t, os.Remove(filepath.Join(loadDir, "handlers/tcp.yaml")))
	writeFiles(t, loadDir, map[string]string{
		"tasks/y.json":   `{"template-id": "t", "vars": {"measurement": {"type": "string", "value": "net"}, "crit": {"type": "lambda", "value": "\"used\" > 95"}}}`,
		"tasks/new.tick": "dbrp \"telegraf\".\"autogen\"\nstream|from().measurement('mem')|log()",
	})
	res = ts.srv.Reload()
	assert.ElementsMatch(t, []string{"tasks/x", "handlers/cpu/tcp-cpu-alert"}, res.Removed)
	_, ok := taskFields(t, ts, "x")
	assert.False(t, ok, "x lost its file")
	status, _, _ = ts.do("GET", "/kapacitor/v1/alerts/topics/cpu/handlers/tcp-cpu-alert", nil, nil)
	assert.Equal(t, http.StatusNotFound, status, "the handler lost its file")
	v, ok = taskFields(t, ts, "new")
	require.True(t, ok)
	assert.True(t, v.Executing)
	_, ok = taskFields(t, ts, "api_task")
	assert.True(t, ok, "the API's task stays")
	status, _, body = ts.do("GET", "/kapacitor/v1/tasks/y", nil, nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `"value": "net"`)
	// The unchanged task kept running: its counts were not reset.
	assert.Equal(t, int64(2), nodeStat(t, ts, "cpu_alert", "stream0", "collected"))

	// A file that loaded before and is now broken: it is reported and
	// its task keeps its last good definition, running.
	writeFiles(t, loadDir, map[string]string{"tasks/cpu_alert.tick": "dbrp \"telegraf\".\"autogen\"\nstream|from().measurement('cpu')|alert().crit(lambda: \"usage_idle\" < )"})
	res = ts.srv.Reload()
	assert.Contains(t, errorFiles(res), "cpu_alert.tick")
	assert.NotContains(t, res.Removed, "tasks/cpu_alert")
	v, ok = taskFields(t, ts, "cpu_alert")
	require.True(t, ok)
	assert.True(t, v.Executing)
	assert.Contains(t, v.Script, "Hey, check your CPU")

	// The whole directory gone: everything it defined goes too, as with
	// kapacitord; the API's task stays.
	require.NoError(t, os.RemoveAll(loadDir))
	res = ts.srv.Reload()
	assert.ElementsMatch(t, []string{"tasks/cpu_alert", "tasks/y", "tasks/new", "templates/t"}, res.Removed)
	assert.Empty(t, res.Errors)
	_, ok = taskFields(t, ts, "api_task")
	assert.True(t, ok)
}

// TestLoadAfterRestart: the list of loaded items survives a restart, so
// a file removed while the server was down is deleted at the next start.
func TestLoadAfterRestart(t *testing.T) {
	dataDir := t.TempDir()
	loadDir := filepath.Join(t.TempDir(), "load")
	writeFiles(t, loadDir, map[string]string{
		"tasks/a.tick": "dbrp \"telegraf\".\"autogen\"\nstream|from().measurement('a')|log()",
		"tasks/b.tick": "dbrp \"telegraf\".\"autogen\"\nstream|from().measurement('b')|log()",
	})
	enable := func(c *config.Config) { c.Load.Enabled, c.Load.Dir = true, loadDir }
	ts := startServer(t, dataDir, enable)
	_, ok := taskFields(t, ts, "b")
	require.True(t, ok)
	ts.stop()
	require.NoError(t, os.Remove(filepath.Join(loadDir, "tasks/b.tick")))
	ts = startServer(t, dataDir, enable)
	_, ok = taskFields(t, ts, "b")
	assert.False(t, ok, "b's file went while the server was down")
	v, ok := taskFields(t, ts, "a")
	require.True(t, ok)
	assert.True(t, v.Executing)
}
