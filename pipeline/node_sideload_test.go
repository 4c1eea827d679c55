package pipeline_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

const sideloadScript = `stream
    |from()
        .measurement('cpu')
        .groupBy('host')
    |sideload()
        .source('%s')
        .order('hosts/{{.host}}', 'default')
        .field('threshold', 0)
        .field('ratio', 0.5)
        .tag('team', 'none')
    |alert()
        .crit(lambda: TRUE)
        .message('{{ index .Tags "host" }} {{ index .Tags "team" }} {{ index .Fields "threshold" }} {{ index .Fields "ratio" }}')
`

// An HTTP source: one JSON document of order path → values, fetched once
// when the task starts (with the [[httppost]] endpoint's headers when the
// source names one); values are converted to the defaults' types, and one
// that cannot be is logged and replaced by the default.
func TestSideloadHTTP(t *testing.T) {
	var gets int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets++
		if r.URL.Path == "/secret" && r.Header.Get("Authorization") != "Bearer t0k" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		fmt.Fprint(w, `{"hosts/a": {"threshold": 10, "team": 5, "ratio": "0.25"}, "default": {"threshold": "x", "team": true}}`)
	}))
	defer srv.Close()
	conf, err := kapconf.Parse("kapacitor.conf", []byte(fmt.Sprintf("[[httppost]]\nendpoint = 'side'\nurl = '%s/secret'\nheaders = { Authorization = 'Bearer t0k' }\n", srv.URL)))
	require.NoError(t, err)
	for _, source := range []string{srv.URL + "/doc", "side"} {
		t.Run(source, func(t *testing.T) {
			ev, log := &events{}, &syncBuffer{}
			task, err := pipeline.Compile("script", "script.tick", fmt.Sprintf(sideloadScript, source),
				pipeline.Options{OnEvent: ev.on, Log: log, Config: conf})
			require.NoError(t, err, "%s", task.ErrorText(err))
			writeLines(t, task, "cpu,host=a v=1 1000000000", "cpu,host=b v=1 1000000000")
			require.NoError(t, task.Close(context.Background()))
			assert.Equal(t, []string{"a 5 10 0.25", "b true 0 0.5"}, ev.messages())
			assert.Contains(t, log.String(), `sideload2: failed to load key: cannot convert string to int64: strconv.Atoi: parsing "x": invalid syntax key=threshold expected=int64 got=string`)
		})
	}
	assert.Equal(t, 2, gets)
}

// A directory source is read again on ReloadSideloads; sources that
// cannot be read are errors when the task starts.
func TestSideloadReloadAndErrors(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "hosts"), 0o755))
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	write("default", "") // no extension: read as no values
	write("hosts/a", "")
	write("hosts/a.json", `{"threshold": 3}`)
	ev := &events{}
	task, err := pipeline.Compile("script", "script.tick",
		`stream|from().measurement('cpu')|sideload().source('file://`+dir+`').order('hosts/{{.host}}.json').field('threshold', 0)|alert().crit(lambda: TRUE).message('{{ index .Fields "threshold" }}')`,
		pipeline.Options{OnEvent: ev.on})
	require.NoError(t, err, "%s", task.ErrorText(err))
	writeLines(t, task, "cpu,host=a v=1 1000000000")
	write("hosts/a.json", `{"threshold": 4}`)
	writeLines(t, task, "cpu,host=a v=1 2000000000")
	require.NoError(t, task.ReloadSideloads())
	writeLines(t, task, "cpu,host=a v=1 3000000000")
	write("hosts/a.json", `{not json`)
	assert.ErrorContains(t, task.ReloadSideloads(), "failed to unmarshal json values")
	writeLines(t, task, "cpu,host=a v=1 4000000000")
	require.NoError(t, task.Close(context.Background()))
	assert.Equal(t, []string{"3", "3", "4", "4"}, ev.messages())

	for src, want := range map[string]string{
		"ftp://host/dir":            `unsupported source scheme "ftp", must be 'file', 'http', or 'https'`,
		"nope":                      `endpoint "nope" is not defined`,
		"file://" + dir + "/absent": "failed to update sideload cache for source file",
	} {
		_, err := pipeline.Compile("t", "t.tick", "stream|from()|sideload().source('"+src+"').field('x', 1)", pipeline.Options{Config: &kapconf.Config{File: "kapacitor.conf"}})
		require.Error(t, err, src)
		assert.Contains(t, err.Error(), want, src)
	}
	_, err = pipeline.Compile("t", "t.tick", "stream|from()|sideload().order('{{.host')", pipeline.Options{})
	assert.ErrorContains(t, err, "1:32: template: order:1: unclosed action")
}
