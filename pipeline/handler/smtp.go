package handler

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

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/deliver"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// The smtp kind (script property .email()) mails each event as Kapacitor's
// smtp service does: subject the event's message, an HTML body of its
// details, from and default recipients from [smtp] of kapacitor.conf. One
// connection per event; STARTTLS when the server offers it (no-verify
// skips the certificate check); PLAIN auth when a username is set. A 4xx
// answer or a network error is retried, a 5xx answer is not.
func init() {
	register(&Kind{
		Name: "smtp", Doc: "mails each event: subject the message, body the details as HTML",
		Property: &Property{Name: "email", Variadic: "to"},
		Options: []Option{
			{Name: "to", Type: Strings, Doc: "recipients", Default: "to of [smtp]", Prop: "to"},
		},
		Section: "smtp", Global: true,
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "global": kapconf.Bool, "state-changes-only": kapconf.Bool, "host": kapconf.String, "port": kapconf.Int,
			"username": kapconf.String, "password": kapconf.Secret, "no-verify": kapconf.Bool, "from": kapconf.String, "to": kapconf.Strings, "idle-timeout": kapconf.Any},
			Defaults: map[string]any{"host": "localhost", "port": int64(25)}},
		open: func(o opts, env *Env) (*endpoint, error) {
			m, err := newMailer(o, env)
			if err != nil {
				return nil, err
			}
			return &endpoint{target: m.addr, try: m.try, body: func(ev *alert.Event, _ []byte) ([]byte, error) { return m.message(ev), nil }}, nil
		},
	})
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

func newMailer(o opts, env *Env) (*mailer, error) {
	c, err := env.Config.Section("smtp", "")
	if err != nil {
		return nil, err
	}
	to, _ := o.strings("to")
	if len(to) == 0 {
		to = c.Strings("to")
	}
	if len(to) == 0 && !env.Config.Lenient {
		return nil, errors.New("email has no recipients: give them with .email('a@example.com') or .to(), or set to in [smtp] of kapacitor.conf")
	}
	m := &mailer{host: c.String("host"), from: c.String("from"), to: to, noVerify: c.Bool("no-verify"), timeout: deliveryOptions(env, o).WriteTimeout}
	m.addr = net.JoinHostPort(m.host, strconv.FormatInt(c.Int("port"), 10))
	if u := c.String("username"); u != "" {
		m.auth = smtp.PlainAuth("", u, c.String("password"), m.host)
	}
	return m, nil
}

// message renders an event as an RFC 5322 message: the subject is the
// message, the body the details as quoted-printable HTML. The Date is the
// event's time, so that a mail says when the alert happened.
func (m *mailer) message(ev *alert.Event) []byte {
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
		return deliver.Permanent(err)
	}
	return err
}
