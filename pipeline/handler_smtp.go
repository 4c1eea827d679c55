package pipeline

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/tickrun/tickrun/ast"
)

// The smtp kind (script property .email()) mails each event as Kapacitor's
// smtp service does: subject the event's message, an HTML body of its
// details, from and default recipients from [smtp] of kapacitor.conf. One
// connection per event; STARTTLS when the server offers it (no-verify
// skips the certificate check); PLAIN auth when a username is set. A 4xx
// answer or a network error is retried, a 5xx answer is not.
func init() {
	registerHandler("smtp", &handlerKind{
		options: []string{"to"},
		check: func(opts map[string]any) error {
			_, err := optStrings(opts, "to")
			return err
		},
		new: func(opts map[string]any, t *Task, id string) (handler, error) {
			m, err := newMailer(opts, t)
			if err != nil {
				return nil, err
			}
			q := newQueueHandler("smtp "+m.addr, "", deliveryOptions(t, opts), t, m.try).start()
			return &mailHandler{queueHandler: q, m: m}, nil
		},
		target: func(opts map[string]any) string { to, _ := optStrings(opts, "to"); return strings.Join(to, ",") },
	})
}

// emailProps are .email(to...) and .to(addr) of alert nodes.
func emailProps() []*Prop {
	return []*Prop{
		{Name: "email", Doc: "mail events to these addresses, or [smtp]'s to ([smtp] of kapacitor.conf)", Variadic: argString, MinArgs: -1,
			set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
				n := x.(*alertNode)
				to := []string{}
				for _, v := range a {
					to = append(to, v.scalar.Str())
				}
				n.handlers = append(n.handlers, &HandlerSpec{ID: n.name + " smtp", Kind: "smtp", Options: map[string]any{"to": to}})
				return nil
			}},
		{Name: "to", Doc: "add a recipient to the last .email()", Args: []argKind{argString},
			set: func(_ *binder, x node, at *ast.Chain, a []value) error {
				s := x.(*alertNode).lastHandler("smtp")
				if s == nil {
					return &ast.Error{Pos: at.Method.Pos, Msg: ".to() applies to the last .email(); there is none before it"}
				}
				to, _ := s.Options["to"].([]string)
				s.Options["to"] = append(to, a[0].scalar.Str())
				return nil
			}},
	}
}

// mailer sends one message per try.
type mailer struct {
	addr, host string
	from       string
	to         []string
	auth       smtp.Auth
	noVerify   bool
	timeout    time.Duration
}

func newMailer(opts map[string]any, t *Task) (*mailer, error) {
	c, err := taskConfig(t).Service("smtp", "")
	if err != nil {
		return nil, err
	}
	to, _ := optStrings(opts, "to")
	if len(to) == 0 {
		to = c.Strings("to")
	}
	if len(to) == 0 && !taskConfig(t).Lenient {
		return nil, errors.New("email has no recipients: give them with .email('a@example.com') or .to(), or set to in [smtp] of kapacitor.conf")
	}
	m := &mailer{host: c.String("host"), from: c.String("from"), to: to, noVerify: c.Bool("no-verify"), timeout: deliveryOptions(t, opts).WriteTimeout}
	m.addr = net.JoinHostPort(m.host, strconv.FormatInt(c.Int("port"), 10))
	if u := c.String("username"); u != "" {
		m.auth = smtp.PlainAuth("", u, c.String("password"), m.host)
	}
	return m, nil
}

// message renders an event as an RFC 5322 message: the subject is the
// message, the body the details as quoted-printable HTML. The Date is the
// event's time, so that a mail says when the alert happened.
func (m *mailer) message(ev *Event) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
		m.from, strings.Join(m.to, ", "), mime.QEncoding.Encode("UTF-8", ev.Message), time.Unix(0, ev.Time).UTC().Format(time.RFC1123Z))
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(ev.Details))
	w.Close()
	return b.Bytes()
}

func (m *mailer) try(ctx context.Context, msg []byte) error {
	d := net.Dialer{Timeout: m.timeout}
	conn, err := d.DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(m.timeout))
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		return smtpErr(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: m.host, InsecureSkipVerify: m.noVerify}); err != nil {
			return smtpErr(err)
		}
	}
	if m.auth != nil {
		if err := c.Auth(m.auth); err != nil {
			return smtpErr(err)
		}
	}
	if err := c.Mail(m.from); err != nil {
		return smtpErr(err)
	}
	for _, to := range m.to {
		if err := c.Rcpt(to); err != nil {
			return smtpErr(err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr(err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpErr(err)
	}
	if err := w.Close(); err != nil {
		return smtpErr(err)
	}
	return smtpErr(c.Quit())
}

// smtpErr marks 5xx answers permanent: the server refused for good.
func smtpErr(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return permanent(err)
	}
	return err
}

// mailHandler renders each event's message as it is queued.
type mailHandler struct {
	*queueHandler
	m *mailer
}

func (h *mailHandler) deliver(ev *Event, _ []byte) { h.queueHandler.deliver(ev, h.m.message(ev)) }

var _ handler = (*mailHandler)(nil)
