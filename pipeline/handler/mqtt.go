package handler

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	pahomqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/deliver"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// The mqtt kind publishes each event's message to an MQTT broker as
// Kapacitor's mqtt service does: to a topic that is a template over the
// event (.ID .Message .Level .Time .Duration .Name .TaskName .Group .Tags
// .Fields), with the handler's QoS (0, 1 or 2) and retained flag, through
// the [[mqtt]] broker named by broker-name (else the default one). The
// client speaks MQTT 3.1.1 with a clean session, its id the section's
// client-id, else its name; handlers of one broker share one connection,
// as Kapacitor's one client per broker, since a broker allows a client id
// only once. A publish counts as sent when the client library reports it
// done: written for QoS 0, acknowledged by the broker for 1 and 2; a
// publish that fails or times out is retried.
func init() {
	register(&Kind{
		Name: "mqtt", Doc: "publishes each event's message to an MQTT topic",
		Property: &Property{Name: "mqtt", Args: []string{"topic"}},
		Options: []Option{
			{Name: "broker-name", Type: String, Doc: "the [[mqtt]] broker of kapacitor.conf", Default: "the default broker", Prop: "brokerName"},
			{Name: "topic", Type: String, Doc: "the topic (a template)"},
			{Name: "qos", Type: Int, Doc: "the quality of service: 0 at most once, 1 at least once, 2 exactly once", Default: "0", Prop: "qos"},
			{Name: "retained", Type: Bool, Doc: "the broker keeps the message for future subscribers", Default: "false", Prop: "retained"},
		},
		Section: "mqtt",
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "name": kapconf.String, "default": kapconf.Bool,
			"url": kapconf.String, "ssl-ca": kapconf.String, "ssl-cert": kapconf.String, "ssl-key": kapconf.String, "insecure-skip-verify": kapconf.Bool,
			"client-id": kapconf.String, "username": kapconf.String, "password": kapconf.Secret},
			Defaults: map[string]any{"name": "default"}, Multi: true, NameKey: "name",
			Lenient: map[string]any{"url": "tcp://127.0.0.1:1883"}},
		check: func(o opts) error {
			if _, err := o.string("topic", true); err != nil {
				return err
			}
			if _, err := o.templates(&eventData{}, "topic"); err != nil {
				return err
			}
			if q, _ := o.int("qos", 0); q < 0 || q > 2 {
				return errorf("qos", "want 0, 1 or 2, got %d", q)
			}
			return nil
		},
		open: openMQTT,
	})
}

func openMQTT(o opts, env *Env) (*endpoint, error) {
	broker, _ := o.string("broker-name", false)
	c, err := env.Config.Section("mqtt", broker)
	if err != nil {
		return nil, err
	}
	raw := c.String("url")
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("[mqtt] %s: url: want tcp://, ssl:// or ws:// and host:port", c.String("name"))
	}
	switch u.Scheme {
	case "tcp", "ssl", "tls", "ws", "wss", "mqtt", "mqtts":
	default:
		return nil, fmt.Errorf("[mqtt] %s: url: unknown scheme %q: want tcp, ssl or ws", c.String("name"), u.Scheme)
	}
	tlsConf, err := tlsConfig(c.String("ssl-ca"), c.String("ssl-cert"), c.String("ssl-key"), c.Bool("insecure-skip-verify"))
	if err != nil {
		return nil, fmt.Errorf("[mqtt] %s: %v", c.String("name"), err)
	}
	id := c.String("client-id")
	if id == "" {
		id = c.String("name")
	}
	d := deliveryOptions(env, o)
	key := strings.Join([]string{raw, id, c.String("username"), c.String("password"), c.String("ssl-ca"), c.String("ssl-cert"), c.String("ssl-key")}, "\x00")
	opts := pahomqtt.NewClientOptions().AddBroker(raw).SetClientID(id).SetUsername(c.String("username")).SetPassword(c.String("password")).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectTimeout(d.DialTimeout).SetWriteTimeout(d.WriteTimeout)
	if tlsConf != nil {
		opts.SetTLSConfig(tlsConf)
	}
	m := &mqttPublisher{key: key, opts: opts, timeout: d}
	ts, _ := o.templates(&eventData{}, "topic")
	q, _ := o.int("qos", 0)
	m.qos = byte(q)
	m.retained, _ = o.bool("retained")
	return &endpoint{target: u.Scheme + "://" + u.Host, try: m.try, finish: m.finish,
		body: func(ev *alert.Event, _ []byte) ([]byte, error) {
			topic, err := ts["topic"].render(newEventData(ev))
			if err != nil {
				return nil, err
			}
			if topic == "" || strings.ContainsAny(topic, "#+\x00") {
				return nil, fmt.Errorf("topic: %q is not a topic to publish to", topic)
			}
			return append(append([]byte(topic), 0), ev.Message...), nil
		}}, nil
}

// tlsConfig builds the TLS configuration of ssl-ca, ssl-cert and ssl-key
// (nil when none is set and verification is not skipped).
func tlsConfig(ca, cert, key string, skipVerify bool) (*tls.Config, error) {
	if ca == "" && cert == "" && key == "" && !skipVerify {
		return nil, nil
	}
	c := &tls.Config{InsecureSkipVerify: skipVerify}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("ssl-ca: %v", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ssl-ca: %s holds no PEM certificate", ca)
		}
	}
	if cert != "" || key != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("ssl-cert, ssl-key: %v", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// mqttPublisher publishes a handler's events through a shared
// connection, taken on first use (the delivery goroutine's).
type mqttPublisher struct {
	key      string
	opts     *pahomqtt.ClientOptions
	timeout  deliver.Options
	qos      byte
	retained bool
	mu       sync.Mutex
	conn     *mqttConn
}

func (m *mqttPublisher) try(ctx context.Context, payload []byte) error {
	topic, msg, _ := bytes.Cut(payload, []byte{0})
	write := m.timeout.WriteTimeout
	m.mu.Lock()
	if m.conn == nil {
		m.conn = acquireMQTT(m.key, m.opts)
	}
	conn := m.conn
	m.mu.Unlock()
	cl, err := conn.connected(ctx, m.timeout.DialTimeout)
	if err != nil {
		return err
	}
	tok := cl.Publish(string(topic), m.qos, m.retained, msg)
	select {
	case <-tok.Done():
	case <-time.After(write):
		return fmt.Errorf("publish not done after %v", write)
	case <-ctx.Done():
		return ctx.Err()
	}
	return tok.Error()
}

func (m *mqttPublisher) finish(context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conn != nil {
		m.conn.release()
		m.conn = nil
	}
}

// mqttConn is one client connection, shared by the handlers of a broker
// (same URL, client id and credentials) and closed with the last of them.
type mqttConn struct {
	key  string
	cl   pahomqtt.Client
	mu   sync.Mutex // guards connecting
	refs int        // guarded by mqttConns.mu
}

var mqttConns = struct {
	mu sync.Mutex
	m  map[string]*mqttConn
}{m: map[string]*mqttConn{}}

func acquireMQTT(key string, opts *pahomqtt.ClientOptions) *mqttConn {
	mqttConns.mu.Lock()
	defer mqttConns.mu.Unlock()
	c := mqttConns.m[key]
	if c == nil {
		c = &mqttConn{key: key, cl: pahomqtt.NewClient(opts)}
		mqttConns.m[key] = c
	}
	c.refs++
	return c
}

// release drops a reference; the last one disconnects, letting the
// client finish what it is sending for up to 250ms, as Kapacitor does.
func (c *mqttConn) release() {
	mqttConns.mu.Lock()
	c.refs--
	last := c.refs == 0
	if last {
		delete(mqttConns.m, c.key)
	}
	mqttConns.mu.Unlock()
	if last && c.cl.IsConnected() {
		c.cl.Disconnect(250)
	}
}

// connected returns the client, connecting it first if it never was or
// lost its connection for good (the client reconnects by itself once it
// has been connected).
func (c *mqttConn) connected(ctx context.Context, timeout time.Duration) (pahomqtt.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cl.IsConnected() {
		return c.cl, nil
	}
	tok := c.cl.Connect()
	select {
	case <-tok.Done():
	case <-time.After(timeout + time.Second):
		return nil, errors.New("connect timed out")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return c.cl, nil
}
