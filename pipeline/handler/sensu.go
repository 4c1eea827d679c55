package handler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"time"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/deliver"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// The sensu kind sends each event to a Sensu client's socket as
// Kapacitor's sensu service does: a connection per event carrying the
// JSON {handlers, name (the id), output (the message), source, status (0
// for OK and INFO, 1 WARNING, 2 CRITICAL), and the metadata} and a
// newline; the client answers "ok" and closes. The source is a template
// over the event. An id Sensu does not accept as a check name (letters,
// digits, '_', '.', '-') drops the event, as does an answer other than
// "ok"; a connection that fails is retried.
func init() {
	register(&Kind{
		Name: "sensu", Doc: "sends each event as a check result to a Sensu client socket",
		Property: &Property{Name: "sensu"},
		Options: []Option{
			{Name: "source", Type: String, Doc: "the check's source (a template)", Default: "source of [sensu]", Prop: "source"},
			{Name: "handlers", Type: Strings, Doc: "the Sensu handlers", Default: "handlers of [sensu]", Prop: "handlers"},
			{Name: "metadata", Type: Values, Doc: "further keys of the check result", Prop: "metadata"},
		},
		Section: "sensu",
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "addr": kapconf.String, "source": kapconf.String, "handlers": kapconf.Strings},
			Defaults: map[string]any{"source": "Kapacitor"}, Lenient: map[string]any{"addr": "127.0.0.1:3030"}},
		check: func(o opts) error {
			_, err := o.templates(&eventData{}, "source")
			return err
		},
		open: func(o opts, env *Env) (*endpoint, error) {
			c, err := env.Config.Section("sensu", "")
			if err != nil {
				return nil, err
			}
			addr := c.String("addr")
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return nil, fmt.Errorf("[sensu] addr: want host:port, got %q", addr)
			}
			ts, _ := o.templates(&eventData{}, "source")
			source := c.String("source")
			handlers, _ := o.strings("handlers")
			if len(handlers) == 0 {
				handlers = c.Strings("handlers")
			}
			metadata, _ := o.values("metadata")
			s := &sensuSocket{addr: addr, timeout: deliveryOptions(env, o)}
			return &endpoint{target: addr, try: s.try, body: func(ev *alert.Event, _ []byte) ([]byte, error) {
				if !sensuName.MatchString(ev.ID) {
					return nil, fmt.Errorf("invalid name %q for sensu alert. Must match %v", ev.ID, sensuName)
				}
				src := source
				if t := ts["source"]; t != nil {
					s, err := t.render(newEventData(ev))
					if err != nil {
						return nil, err
					}
					if s != "" {
						src = s
					}
				}
				status := map[alert.Level]int{alert.OK: 0, alert.Info: 0, alert.Warning: 1, alert.Critical: 2}[ev.Level]
				m := map[string]any{"name": ev.ID, "source": src, "output": ev.Message, "status": status, "handlers": handlers}
				for k, v := range metadata {
					if _, taken := m[k]; !taken {
						m[k] = v
					}
				}
				return encodeJSON(m, true)
			}}, nil
		},
	})
}

// sensuName is what Sensu accepts as a check name.
var sensuName = regexp.MustCompile(`^[\w\.-]+$`)

// sensuSocket sends one check result per connection.
type sensuSocket struct {
	addr    string
	timeout deliver.Options
}

func (s *sensuSocket) try(ctx context.Context, payload []byte) error {
	d := net.Dialer{Timeout: s.timeout.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := conn.SetDeadline(time.Now().Add(s.timeout.WriteTimeout)); err != nil {
		return err
	}
	if _, err := conn.Write(payload); err != nil {
		return err
	}
	resp, err := io.ReadAll(io.LimitReader(conn, 4096))
	if err != nil {
		return fmt.Errorf("no answer from the sensu client: %w", err)
	}
	if string(resp) != "ok" {
		return deliver.Permanent(errors.New("sensu socket error: " + string(resp)))
	}
	return nil
}
