package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/internal/testsink"
)

func TestScriptHandlers(t *testing.T) {
	dir := t.TempDir()
	logPath, execOut := filepath.Join(dir, "a.log"), filepath.Join(dir, "exec.out")
	srv, reqs := testsink.HTTP(t, func(int) int { return 204 })
	script := fmt.Sprintf(`stream|from().measurement('cpu')
	|alert().id('{{ .Name }}').message('m').details('').crit(lambda: "v" > 1)
		.log('%s').mode(0640)
		.post('%s/x').header('X-Token', 'tok').timeout(2s)
		.exec('/bin/sh', '-c', 'cat >> %s')
`, logPath, srv.URL, execOut)
	task, err := Compile("t", "t.tick", script, Options{Deliver: fastDelivery})
	require.NoError(t, err)
	require.NoError(t, task.Write("telegraf", "autogen", "cpu", nil, map[string]any{"v": 2.0}, time.Unix(1, 0)))
	require.NoError(t, task.Close(context.Background()))
	want := `{"id":"cpu","message":"m","details":"","time":"1970-01-01T00:00:01Z","duration":0,"level":"CRITICAL","data":{"series":[{"name":"cpu","columns":["time","v"],"values":[["1970-01-01T00:00:01Z",2]]}]},"previousLevel":"OK","recoverable":true}`
	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	assert.Equal(t, want+"\n", string(b))
	fi, err := os.Stat(logPath)
	require.NoError(t, err)
	umask := syscall.Umask(0)
	syscall.Umask(umask)
	assert.Equal(t, os.FileMode(0o640&^umask), fi.Mode().Perm())
	b, err = os.ReadFile(execOut)
	require.NoError(t, err)
	assert.Equal(t, want+"\n", string(b))
	assert.Equal(t, []testsink.Request{{Method: "POST", Path: "/x", ContentType: "application/json", Token: "tok", Body: want}}, reqs())
	var names []string
	for _, s := range task.HandlerStats() {
		names = append(names, s.Name)
		assert.Equal(t, int64(1), s.Sent, s.Name)
	}
	assert.Equal(t, []string{"log " + logPath, "post " + srv.URL + "/x", "exec /bin/sh -c cat >> " + execOut}, names)
}

func TestScriptHandlerErrors(t *testing.T) {
	for _, tc := range []struct{ script, want string }{
		{`stream|from()|alert().log('rel.log')`, "1:27: .log(): path: log path must be absolute, got \"rel.log\""},
		{`stream|from()|alert().mode(0644)`, "1:23: .mode() applies to the last .log(); there is none before it"},
		{`stream|from()|alert().tcp('h:1').header('a', 'b')`, "1:34: .header() applies to the last .post(); there is none before it"},
		{`stream|from()|alert().post('ftp://x')`, "1:28: .post(): url: want an http:// or https:// URL, got \"ftp://x\""},
		{`stream|from()|alert().log('/tmp/x').mode(01777)`, "1:42: .mode(): mode: want file permissions such as 0600, got 01777"},
	} {
		_, err := Compile("t", "t.tick", tc.script, Options{})
		require.Error(t, err, tc.script)
		assert.Contains(t, err.Error(), tc.want, tc.script)
	}
}
