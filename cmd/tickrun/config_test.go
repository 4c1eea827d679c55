package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tickrun run --config: the slack section configures .slack(), the other
// sections are named in one notice line, and no secret is printed.
func TestRunConfig(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, r.URL.Path+" "+string(b))
		mu.Unlock()
	}))
	defer srv.Close()
	dir := t.TempDir()
	script := filepath.Join(dir, "cpu.tick")
	require.NoError(t, os.WriteFile(script, []byte(`stream|from().measurement('cpu')|alert().id('x').message('m').crit(lambda: "v" > 1).slack()`), 0o644))
	conf := filepath.Join(dir, "kapacitor.conf")
	require.NoError(t, os.WriteFile(conf, []byte("[http]\nbind-address = \":9092\"\n[[influxdb]]\nenabled = true\n[slack]\nenabled = true\nurl = \""+srv.URL+"/services/SECRET\"\n"), 0o644))
	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "--config", conf, script}, strings.NewReader("cpu v=2 1\n"), &stdout, &stderr)
	assert.Equal(t, exitOK, code, stderr.String())
	assert.Contains(t, stderr.String(), "tickrun: kapacitor.conf: ignoring sections [http] (not used by tickrun)\n")
	assert.NotContains(t, stderr.String(), "SECRET")
	assert.Contains(t, stderr.String(), "handler slack http://127.0.0.1:")
	require.Len(t, bodies, 1)
	assert.Contains(t, bodies[0], `/services/SECRET {"as_user":false,`)

	// A bad value: file, line and key; check reads the config too.
	require.NoError(t, os.WriteFile(conf, []byte("[slack]\nenabled = true\nurl = 42\n"), 0o644))
	stderr.Reset()
	assert.Equal(t, exitScript, run([]string{"check", "--config", conf, script}, nil, &stdout, &stderr))
	assert.Equal(t, "tickrun: "+conf+":3: [slack] url: want a URL string, got a number\n", stderr.String())

	// Disabled: a positioned error at compile time.
	require.NoError(t, os.WriteFile(conf, []byte("[slack]\nenabled = false\nurl = \"https://hooks.slack.com/SECRET\"\n"), 0o644))
	stderr.Reset()
	assert.Equal(t, exitScript, run([]string{"check", "--config", conf, script}, nil, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "slack is disabled in kapacitor.conf")
	assert.NotContains(t, stderr.String(), "SECRET")

	// check without --config accepts the handler.
	stderr.Reset()
	assert.Equal(t, exitOK, run([]string{"check", script}, nil, &stdout, &stderr), stderr.String())
}
