package pipeline

import (
	"context"
	"io"
	"mime"
	"net"
	"net/mail"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/internal/testsink"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// mailMsg is one message the test SMTP server accepted.
type mailMsg struct {
	From string
	To   []string
	Data string
}

// mailBackend is a go-smtp backend on 127.0.0.1 that refuses the first
// refuse MAIL commands with a temporary 451.
type mailBackend struct {
	mu     sync.Mutex
	refuse int
	tries  int
	msgs   []mailMsg
}

func (b *mailBackend) NewSession(*gosmtp.Conn) (gosmtp.Session, error) {
	return &mailSession{b: b}, nil
}

func (b *mailBackend) received() []mailMsg {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]mailMsg(nil), b.msgs...)
}

type mailSession struct {
	b   *mailBackend
	cur mailMsg
}

func (s *mailSession) Reset()        { s.cur = mailMsg{} }
func (s *mailSession) Logout() error { return nil }
func (s *mailSession) Mail(from string, _ *gosmtp.MailOptions) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.tries++
	if s.b.tries <= s.b.refuse {
		return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.cur.From = from
	return nil
}
func (s *mailSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = string(b)
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	return nil
}

func startSMTP(t *testing.T, refuse int) (*mailBackend, string, string) {
	t.Helper()
	be := &mailBackend{refuse: refuse}
	srv := gosmtp.NewServer(be)
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	return be, host, port
}

func emailTask(t *testing.T, script, conf string) (*Task, *testsink.Buffer) {
	t.Helper()
	c, err := kapconf.Parse("kapacitor.conf", []byte(conf))
	require.NoError(t, err)
	log := &testsink.Buffer{}
	task, err := Compile("cpu_alert", "t.tick", script, Options{Config: c, Deliver: fastDelivery, Log: log})
	require.NoError(t, err)
	require.NoError(t, task.Write("telegraf", "autogen", "cpu", map[string]string{"host": "h1"}, map[string]any{"v": 2.0}, time.Unix(1, 0)))
	require.NoError(t, task.Close(context.Background()))
	return task, log
}

func TestEmailHandler(t *testing.T) {
	be, host, port := startSMTP(t, 0)
	conf := "[smtp]\nenabled = true\nhost = \"" + host + "\"\nport = " + port + "\nfrom = \"kapacitor@example.com\"\nto = [\"default@example.com\"]\n"
	script := `stream|from().measurement('cpu')
	|alert().id('{{ .Name }}/{{ index .Tags "host" }}').message('{{ .ID }} is {{ .Level }} – über').details('<b>{{ .ID }}</b> = {{ index .Fields "v" }}').crit(lambda: "v" > 1)
		.email('ops@example.com').to('oncall@example.com')
		.email()
`
	_, _ = emailTask(t, script, conf)
	msgs := be.received()
	require.Len(t, msgs, 2)
	// The two handlers deliver in their own goroutines: order by recipient.
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].To[0] > msgs[j].To[0] })
	assert.Equal(t, "kapacitor@example.com", msgs[0].From)
	assert.Equal(t, []string{"ops@example.com", "oncall@example.com"}, msgs[0].To)
	assert.Equal(t, []string{"default@example.com"}, msgs[1].To)
	m, err := mail.ReadMessage(strings.NewReader(msgs[0].Data))
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	require.NoError(t, err)
	assert.Equal(t, "cpu/h1 is CRITICAL – über", subject)
	assert.Equal(t, "text/html; charset=UTF-8", m.Header.Get("Content-Type"))
	assert.Equal(t, "ops@example.com, oncall@example.com", m.Header.Get("To"))
	body, _ := io.ReadAll(m.Body)
	assert.Equal(t, "<b>cpu/h1</b> =3D 2\r\n", string(body)) // quoted-printable
}

// A server that answers 451 twice, then accepts: the mail arrives once.
func TestEmailFailingThenRecovering(t *testing.T) {
	be, host, port := startSMTP(t, 2)
	conf := "[smtp]\nenabled = true\nhost = \"" + host + "\"\nport = " + port + "\nfrom = \"k@example.com\"\nusername = \"\"\npassword = \"SECRET\"\n"
	task, log := emailTask(t, `stream|from()|alert().id('x').message('m').crit(lambda: TRUE).email('a@example.com')`, conf)
	require.Len(t, be.received(), 1)
	st := task.HandlerStats()
	assert.Equal(t, int64(1), st[0].Sent)
	assert.Equal(t, int64(2), st[0].Retried)
	assert.NotContains(t, log.String(), "SECRET")
}

func TestEmailErrors(t *testing.T) {
	c, err := kapconf.Parse("k.conf", []byte("[smtp]\nenabled = true\n"))
	require.NoError(t, err)
	_, err = Compile("t", "t.tick", `stream|from()|alert().email()`, Options{Config: c})
	assert.ErrorContains(t, err, "email has no recipients")
	_, err = Compile("t", "t.tick", `stream|from()|alert().to('a@b')`, Options{Config: c})
	assert.ErrorContains(t, err, "1:23: .to() applies to the last .email(); there is none before it")
}
