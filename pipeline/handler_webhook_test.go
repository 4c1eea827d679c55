package pipeline

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/internal/testsink"
	"github.com/tickrun/tickrun/pipeline/deliver"
	"github.com/tickrun/tickrun/pipeline/handler"
	"github.com/tickrun/tickrun/pipeline/kapconf"
	"github.com/tickrun/tickrun/pipeline/lineproto"
)

// hookRequest is one request a test webhook server saw.
type hookRequest struct {
	Method, Path, ContentType, Accept, Body string
	Auth                                    string // the Authorization header
}

// String renders a request as the golden files hold it.
func (r hookRequest) String() string {
	s := r.Method + " " + r.Path + "\nContent-Type: " + r.ContentType + "\n"
	if r.Accept != "" {
		s += "Accept: " + r.Accept + "\n"
	}
	if r.Auth != "" {
		s += "Authorization: " + r.Auth + "\n"
	}
	s += "\n" + r.Body
	if !strings.HasSuffix(r.Body, "\n") {
		s += "\n\\ no newline at end of body\n"
	}
	return s + "---\n"
}

// hookServer records requests on 127.0.0.1; status gives the answer to
// the n-th request (from 0).
func hookServer(t *testing.T, status func(n int) int) (*httptest.Server, func() []hookRequest) {
	t.Helper()
	var mu sync.Mutex
	var reqs []hookRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		n := len(reqs)
		reqs = append(reqs, hookRequest{r.Method, r.URL.RequestURI(), r.Header.Get("Content-Type"), r.Header.Get("Accept"), string(b), r.Header.Get("Authorization")})
		mu.Unlock()
		w.WriteHeader(status(n))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []hookRequest { mu.Lock(); defer mu.Unlock(); return append([]hookRequest(nil), reqs...) }
}

func always(code int) func(int) int { return func(int) int { return code } }

// runWithConfig compiles script with conf (its $SERVER replaced by url),
// writes the cpu points v=values at seconds 1, 2, ... and closes the task.
func runWithConfig(t *testing.T, script, conf, url string, values ...float64) (*Task, *testsink.Buffer) {
	t.Helper()
	c, err := kapconf.Parse("kapacitor.conf", []byte(strings.ReplaceAll(conf, "$SERVER", url)))
	require.NoError(t, err)
	log := &testsink.Buffer{}
	task, err := Compile("cpu_alert", "t.tick", script, Options{Config: c, Deliver: fastDelivery, Log: log, Server: ServerInfo{Hostname: "localhost"}})
	require.NoError(t, err)
	for i, v := range values {
		require.NoError(t, task.Write("telegraf", "autogen", "cpu", map[string]string{"host": "h1"}, map[string]any{"v": v}, time.Unix(int64(i+1), 0)))
	}
	require.NoError(t, task.Close(context.Background()))
	return task, log
}

const alertScript = `stream|from().measurement('cpu')
	|alert().id('{{ .Name }}/{{ index .Tags "host" }}').message('{{ .ID }} is {{ .Level }}').details('').crit(lambda: "v" > 1)
`

func TestSlackHandler(t *testing.T) {
	srv, reqs := hookServer(t, always(200))
	conf := "[slack]\n  enabled = true\n  url = \"$SERVER/services/T0/B0/SECRET\"\n  channel = \"#alerts\"\n"
	task, _ := runWithConfig(t, alertScript+"\t\t.slack().channel('#ops').iconEmoji(':fire:')\n", conf, srv.URL, 2, 0)
	want := []hookRequest{
		{"POST", "/services/T0/B0/SECRET", "application/json", "", `{"as_user":false,"attachments":[{"fallback":"cpu/h1 is CRITICAL","color":"danger","text":"cpu/h1 is CRITICAL","mrkdwn_in":["text"]}],"channel":"#ops","icon_emoji":":fire:","text":"","username":"kapacitor"}` + "\n", ""},
		{"POST", "/services/T0/B0/SECRET", "application/json", "", `{"as_user":false,"attachments":[{"fallback":"cpu/h1 is OK","color":"good","text":"cpu/h1 is OK","mrkdwn_in":["text"]}],"channel":"#ops","icon_emoji":":fire:","text":"","username":"kapacitor"}` + "\n", ""},
	}
	assert.Equal(t, want, reqs())
	st := task.HandlerStats()
	require.Len(t, st, 1)
	assert.NotContains(t, st[0].Name, "SECRET")
	assert.Equal(t, int64(2), st[0].Sent)
}

// A webhook that fails twice then recovers: the event arrives once, the
// failures are counted as retries, and no log line shows the token.
func TestWebhookFailingThenRecovering(t *testing.T) {
	srv, reqs := hookServer(t, func(n int) int {
		if n < 2 {
			return 503
		}
		return 200
	})
	conf := "[teams]\n  enabled = true\n  channel-url = \"$SERVER/webhook/SECRET\"\n"
	task, log := runWithConfig(t, alertScript+"\t\t.teams()\n", conf, srv.URL, 2)
	got := reqs()
	require.Len(t, got, 3)
	assert.Equal(t, got[0], got[2])
	st := task.HandlerStats()
	assert.Equal(t, int64(1), st[0].Sent)
	assert.Equal(t, int64(2), st[0].Retried)
	assert.NotContains(t, log.String(), "SECRET")

	// A server that is down: errors name the host, never the token.
	srv.Close()
	task, log = runWithConfig(t, alertScript+"\t\t.teams()\n", conf, srv.URL, 2)
	assert.Equal(t, int64(1), task.HandlerStats()[0].Dropped)
	assert.Contains(t, log.String(), "127.0.0.1")
	assert.NotContains(t, log.String(), "SECRET")
}

func TestWebhookHandlerFile(t *testing.T) {
	srv, reqs := hookServer(t, always(200))
	spec, err := handler.ParseFile("h.yaml", []byte("id: tg\ntopic: cpu\nkind: telegram\noptions:\n  chat-id: '-42'\n  parse-mode: HTML\n  disable-notification: true\n"))
	require.NoError(t, err)
	c, err := kapconf.Parse("k.conf", []byte("[telegram]\nenabled = true\nurl = \""+srv.URL+"/bot\"\ntoken = \"123:SECRET\"\n"))
	require.NoError(t, err)
	task, err := Compile("t", "t.tick", `stream|from()|alert().id('x').message('hi <b>').crit(lambda: TRUE).topic('cpu')`,
		Options{Config: c, Handlers: []*handler.Spec{spec}, Deliver: fastDelivery})
	require.NoError(t, err)
	require.NoError(t, task.Write("telegraf", "autogen", "cpu", nil, map[string]any{"v": 1.0}, time.Unix(1, 0)))
	require.NoError(t, task.Close(context.Background()))
	assert.Equal(t, []hookRequest{{"POST", "/bot123:SECRET/sendMessage", "application/json", "",
		`{"chat_id":"-42","disable_notification":true,"parse_mode":"HTML","text":"hi \u003cb\u003e"}` + "\n", ""}}, reqs())
}

func TestWebhookConfigErrors(t *testing.T) {
	for _, tc := range []struct{ conf, script, want string }{
		{"[slack]\nenabled = false\nurl = \"https://hooks.slack.com/x\"\n", `stream|from()|alert().slack()`, "slack is disabled in kapacitor.conf"},
		{"", `stream|from()|alert().victorOps()`, "kapacitor.conf has no [victorops] section"},
		{"[[slack]]\nenabled = true\nworkspace = \"a\"\nurl = \"https://x/\"\n", `stream|from()|alert().slack().workspace('b')`, `workspace "b" is not defined`},
		{"[telegram]\nenabled = true\nparse-mode = \"Text\"\n", `stream|from()|alert().telegram()`, "parse-mode: want Markdown or HTML"},
	} {
		c, err := kapconf.Parse("kapacitor.conf", []byte(tc.conf))
		require.NoError(t, err)
		_, err = Compile("t", "t.tick", tc.script, Options{Config: c})
		require.Error(t, err, tc.script)
		assert.Contains(t, err.Error(), tc.want, tc.script)
	}
	_, err := Compile("t", "t.tick", `stream|from()|alert().slack()`, Options{})
	assert.ErrorContains(t, err, "slack needs the [slack] section of kapacitor.conf")
	_, err = Compile("t", "t.tick", `stream|from()|alert().channel('#x')`, Options{})
	assert.ErrorContains(t, err, ".channel() applies to the last .slack(); there is none before it")
	_, err = Compile("t", "t.tick", `stream|from()|alert().slack().chanel('#x')`, Options{Config: &kapconf.Config{Lenient: true}})
	assert.ErrorContains(t, err, `1:31: no method or property "chanel" on alert (did you mean "channel"?)`)
	_, err = Compile("t", "t.tick", `stream|from()|alert().slack().channel('#x')`, Options{Config: &kapconf.Config{Lenient: true}})
	assert.NoError(t, err)
}

func TestGlobalHandlers(t *testing.T) {
	srv, reqs := hookServer(t, always(200))
	conf := "[slack]\n  enabled = true\n  global = true\n  state-changes-only = true\n  url = \"$SERVER/hook\"\n"
	runWithConfig(t, alertScript, conf, srv.URL, 2, 3, 4, 0)
	// stateChangesOnly: CRITICAL once, then OK.
	got := reqs()
	require.Len(t, got, 2)
	assert.Contains(t, got[0].Body, `"color":"danger"`)
	assert.Contains(t, got[1].Body, `"color":"good"`)
}

// TestHandlerGolden runs testdata/handlers/<kind>: script.tick over
// input.lp with kapacitor.conf ($SERVER is the test server's URL, $SENSU,
// $MQTT, $KAFKA and $SNMP the other receivers') and the handler files
// *.yaml, and compares what the receivers got with expected.txt (-update
// rewrites it).
func TestHandlerGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/handlers/*")
	require.NoError(t, err)
	sort.Strings(dirs)
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var handlers []*handler.Spec
			files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
			sort.Strings(files)
			for _, f := range files {
				spec, err := handler.LoadFile(f)
				require.NoError(t, err)
				handlers = append(handlers, spec)
			}
			got := runGolden(t, dir, readFile(t, dir, "script.tick"), handlers)
			if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "expected.txt"), []byte(got), 0o644))
				return
			}
			assert.Equal(t, readFile(t, dir, "expected.txt"), got)
		})
	}
}

// TestHandlerFilesMatchScripts: the handler file equivalent-handler.yml of
// a golden case, subscribed to the topic cpu of the case's script whose
// handler property is replaced by .topic('cpu'), sends exactly what the
// script sends.
func TestHandlerFilesMatchScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/handlers/*/equivalent-handler.yml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			spec, err := handler.LoadFile(f)
			require.NoError(t, err)
			k, ok := handler.Lookup(spec.Kind)
			require.True(t, ok)
			script := readFile(t, dir, "script.tick")
			at := strings.Index(script, "\n        ."+k.Property.Name+"(")
			require.Positive(t, at, "the script has no .%s()", k.Property.Name)
			script = script[:at] + "\n        .topic('cpu')\n"
			assert.Equal(t, readFile(t, dir, "expected.txt"), runGolden(t, dir, script, []*handler.Spec{spec}))
		})
	}
}

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	return string(b)
}

// runGolden runs script over the case's input with its kapacitor.conf and
// handlers, and renders what the receivers got.
func runGolden(t *testing.T, dir, script string, handlers []*handler.Spec) string {
	t.Helper()
	srv, reqs := hookServer(t, always(200))
	mails, smtpHost, smtpPort := startSMTP(t, 0)
	raw := readFile(t, dir, "kapacitor.conf")
	r := goldenReceivers(t, raw)
	conf := strings.NewReplacer("$SERVER", srv.URL, "$SMTP_HOST", smtpHost, "$SMTP_PORT", smtpPort,
		"$SENSU", r.sensuAddr(), "$MQTT", r.mqttURL(), "$KAFKA", r.kafkaBrokers(), "$SNMP", r.snmpAddr()).Replace(raw)
	c, err := kapconf.Parse("kapacitor.conf", []byte(conf))
	require.NoError(t, err)
	task, err := Compile("cpu_alert", "script.tick", script, Options{Config: c, Deliver: fastDelivery, Server: ServerInfo{Hostname: "localhost"}, Handlers: handlers})
	require.NoError(t, err)
	dec := lineproto.NewDecoder(strings.NewReader(readFile(t, dir, "input.lp")))
	dec.Database, dec.RP = "telegraf", "autogen"
	for {
		p, err := dec.Next()
		require.NoError(t, err)
		if p == nil {
			break
		}
		require.NoError(t, task.WritePoint(p))
	}
	require.NoError(t, task.Close(context.Background()))
	var got strings.Builder
	for _, st := range task.HandlerStats() {
		if st.Dropped > 0 { // golden: the events a kind does not send
			fmt.Fprintf(&got, "DROPPED by %s: %d\n---\n", strings.SplitN(st.Name, " ", 2)[0], st.Dropped)
		}
	}
	for _, r := range reqs() {
		got.WriteString(r.String())
	}
	for _, m := range mails.received() {
		got.WriteString("MAIL FROM:<" + m.From + "> RCPT TO:<" + strings.Join(m.To, ">,<") + ">\n\n" + strings.ReplaceAll(m.Data, "\r\n", "\n") + "---\n")
	}
	got.WriteString(r.golden(t, task))
	return got.String()
}

// [[httppost]] endpoints: .post().endpoint() and handler files with
// endpoint take the URL, headers and basic auth from kapacitor.conf.
func TestPostEndpoint(t *testing.T) {
	var mu sync.Mutex
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.URL.Path+" "+r.Header.Get("Authorization")+" "+r.Header.Get("X-Env"))
		mu.Unlock()
	}))
	defer srv.Close()
	conf := "[[httppost]]\nendpoint = \"ops\"\nurl = \"$SERVER/ops/SECRET\"\nheaders = { X-Env = \"prod\" }\n[httppost.basic-auth]\nusername = \"u\"\npassword = \"p\"\n"
	task, _ := runWithConfig(t, alertScript+"\t\t.post().endpoint('ops').header('X-Env', 'test')\n", conf, srv.URL, 2)
	assert.Equal(t, []string{"/ops/SECRET Basic dTpw test"}, auth)
	assert.Equal(t, "post endpoint ops", task.HandlerStats()[0].Name)

	spec, err := handler.ParseFile("h.yaml", []byte("id: p\ntopic: cpu\nkind: post\noptions:\n  endpoint: ops\n"))
	require.NoError(t, err)
	c, err := kapconf.Parse("k.conf", []byte(strings.ReplaceAll(conf, "$SERVER", srv.URL)))
	require.NoError(t, err)
	task, err = Compile("t", "t.tick", `stream|from()|alert().id('x').crit(lambda: TRUE).topic('cpu')`, Options{Config: c, Handlers: []*handler.Spec{spec}, Deliver: fastDelivery})
	require.NoError(t, err)
	require.NoError(t, task.Write("telegraf", "autogen", "cpu", nil, map[string]any{"v": 1.0}, time.Unix(1, 0)))
	require.NoError(t, task.Close(context.Background()))
	assert.Equal(t, []string{"/ops/SECRET Basic dTpw test", "/ops/SECRET Basic dTpw prod"}, auth)

	_, err = Compile("t", "t.tick", `stream|from()|alert().post().endpoint('dev')`, Options{Config: c})
	assert.ErrorContains(t, err, `endpoint "dev" is not defined by a [[httppost]] section of k.conf`)
	_, err = Compile("t", "t.tick", `stream|from()|alert().post()`, Options{Config: c})
	assert.ErrorContains(t, err, "url: missing")

	// A server that is down: the log names the endpoint, not the URL.
	srv.Close()
	log := &testsink.Buffer{}
	task, err = Compile("t", "t.tick", `stream|from()|alert().id('x').crit(lambda: TRUE).post().endpoint('ops')`, Options{Config: c, Log: log, Deliver: deliver.Options{Attempts: 1}})
	require.NoError(t, err)
	require.NoError(t, task.Write("telegraf", "autogen", "cpu", nil, map[string]any{"v": 1.0}, time.Unix(1, 0)))
	require.NoError(t, task.Close(context.Background()))
	assert.Contains(t, log.String(), "POST endpoint ops")
	assert.NotContains(t, log.String(), "SECRET")
}

func TestOpsGenie2AuthAndErrors(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization")+" "+r.URL.RequestURI())
		mu.Unlock()
	}))
	defer srv.Close()
	conf := "[opsgenie2]\nenabled = true\napi-key = \"KEY\"\nurl = \"$SERVER/v2/alerts\"\nteams = [\"default\"]\n"
	runWithConfig(t, alertScript+"\t\t.opsGenie2()\n", conf, srv.URL, 2, 0)
	assert.Equal(t, []string{"GenieKey KEY /v2/alerts", "GenieKey KEY /v2/alerts/Y3B1L2gx/notes?identifierType=alias"}, seen)

	for _, tc := range []struct{ script, want string }{
		{`stream|from()|alert().recipients('a')`, "1:23: .recipients() applies to the last .opsGenie() or .opsGenie2(); there is none before it"},
		{`stream|from()|alert().teams('a')`, "1:23: .teams() applies to the last .opsGenie() or .opsGenie2(); there is none before it"},
		{`stream|from()|alert().discord().embedTitle('{{ .ID }}')`, "1:44: .embedTitle(): embed-title: templates are not supported by tickrun"},
		{`stream|from()|alert().avatarURL('x')`, "1:23: .avatarURL() applies to the last .discord(); there is none before it"},
	} {
		_, err := Compile("t", "t.tick", tc.script, Options{Config: &kapconf.Config{Lenient: true}})
		require.Error(t, err, tc.script)
		assert.Contains(t, err.Error(), tc.want, tc.script)
	}
}
