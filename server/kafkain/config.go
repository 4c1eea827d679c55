package kafkain

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Defaults of the [kafka-input] section.
const (
	DefaultBroker             = "127.0.0.1:9092"
	DefaultTopic              = "telegraf"
	DefaultGroup              = "tickrun"
	DefaultDB                 = "telegraf"
	DefaultRP                 = "autogen"
	DefaultCheckpointInterval = time.Second
	// DefaultSessionTimeout is below Kafka's own lower bound: brokers
	// refuse a session timeout under group.min.session.timeout.ms, 6s
	// unless set (kfake has the same default). 3s is what gives a
	// failover under 5s; run the brokers with
	// group.min.session.timeout.ms=3000 (or less), or set
	// session-timeout = "6s" and accept about 7s.
	DefaultSessionTimeout    = 3 * time.Second
	DefaultHeartbeatInterval = 500 * time.Millisecond
	// checkpointTopicSuffix names the default checkpoint topic after the
	// topic: "telegraf-tickrun-checkpoints".
	checkpointTopicSuffix = "-tickrun-checkpoints"
)

// Duration is a duration written as a string ("3s"), as kapacitor.conf
// writes them.
type Duration time.Duration

// UnmarshalText parses "3s", "500ms", "1m0s" and the like.
func (d *Duration) UnmarshalText(b []byte) error {
	x, err := time.ParseDuration(string(b))
	if err != nil {
		return errors.New("want a duration such as \"3s\"")
	}
	*d = Duration(x)
	return nil
}

// MarshalText writes the duration as UnmarshalText reads it.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).String()), nil
}

// String returns the duration as time.Duration writes it.
func (d Duration) String() string { return time.Duration(d).String() }

// Config is the [kafka-input] section of kapacitor.conf. Call WithDefaults
// to fill what the file left out, then Validate.
type Config struct {
	// Enabled turns the input on; the server starts it only if set.
	Enabled bool `toml:"enabled"`
	// Brokers are the seed brokers, "host:port" (the port defaults to
	// 9092); default ["127.0.0.1:9092"].
	Brokers []string `toml:"brokers"`
	// Topic is where Telegraf writes line protocol; default "telegraf".
	Topic string `toml:"topic"`
	// Group is the consumer group the instances share; default "tickrun".
	Group string `toml:"group"`
	// DB is the database the lines belong to, as if written to
	// /write?db=DB; default "telegraf". The input does not read it; the
	// server does.
	DB string `toml:"db"`
	// RP is the retention policy of the lines, as /write?rp=RP; default
	// "autogen".
	RP string `toml:"rp"`
	// CheckpointTopic holds the checkpoints, compacted; default
	// "<topic>-tickrun-checkpoints". It is created if missing.
	CheckpointTopic string `toml:"checkpoint-topic"`
	// CheckpointInterval is how often the shards are cut, stored and
	// committed; default 1s. Events wait up to this long for delivery.
	CheckpointInterval Duration `toml:"checkpoint-interval"`
	// SessionTimeout is how long the group waits for a silent instance
	// before its partitions go to others; default 3s, which the brokers
	// must allow (see DefaultSessionTimeout).
	SessionTimeout Duration `toml:"session-timeout"`
	// HeartbeatInterval is how often an instance tells the group it is
	// alive, and so how soon it learns of a rebalance; default 500ms.
	HeartbeatInterval Duration `toml:"heartbeat-interval"`
	// Instance names this instance in checkpoints and as the Kafka
	// client id; default hostname-pid. The server sets its server id.
	Instance string `toml:"instance"`

	// SASLUsername and SASLPassword authenticate with SASLMechanism:
	// PLAIN (the default when a username is set), SCRAM-SHA-256 or
	// SCRAM-SHA-512.
	SASLUsername  string `toml:"sasl-username"`
	SASLPassword  string `toml:"sasl-password"`
	SASLMechanism string `toml:"sasl-mechanism"`
	// EnableTLS dials the brokers with TLS and the system's roots, as
	// Telegraf's enable_tls; setting any of the TLS keys below implies it.
	EnableTLS bool `toml:"enable-tls"`
	// TLSCA is a PEM file of the roots to verify the brokers with.
	TLSCA string `toml:"tls-ca"`
	// TLSCert and TLSKey are PEM files of a client certificate and its key.
	TLSCert string `toml:"tls-cert"`
	TLSKey  string `toml:"tls-key"`
	// InsecureSkipVerify accepts any broker certificate.
	InsecureSkipVerify bool `toml:"insecure-skip-verify"`

	// Log, if set, receives what the input has to say: retried broker
	// errors, a hand-off that could not store its checkpoint, bad
	// checkpoints. It must be safe for concurrent use.
	Log func(format string, args ...any) `toml:"-"`
}

// WithDefaults returns c with the keys left out filled with their defaults.
func (c Config) WithDefaults() Config {
	if len(c.Brokers) == 0 {
		c.Brokers = []string{DefaultBroker}
	}
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	if c.DB == "" {
		c.DB = DefaultDB
	}
	if c.RP == "" {
		c.RP = DefaultRP
	}
	if c.CheckpointTopic == "" {
		c.CheckpointTopic = c.Topic + checkpointTopicSuffix
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = Duration(DefaultCheckpointInterval)
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = Duration(DefaultSessionTimeout)
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = Duration(DefaultHeartbeatInterval)
	}
	if c.Instance == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "tickrun"
		}
		c.Instance = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if c.SASLUsername != "" && c.SASLMechanism == "" {
		c.SASLMechanism = "PLAIN"
	}
	return c
}

// Validate checks a section WithDefaults has filled. A section not enabled
// is not checked: the server does not start it.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	return c.validate()
}

func (c Config) validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("[kafka-input] brokers: want at least one broker such as \"127.0.0.1:9092\"")
	}
	for i, b := range c.Brokers {
		if err := checkBroker(b); err != nil {
			return fmt.Errorf("[kafka-input] brokers[%d]: %v", i, err)
		}
	}
	if err := checkTopic(c.Topic); err != nil {
		return fmt.Errorf("[kafka-input] topic: %v", err)
	}
	if err := checkTopic(c.CheckpointTopic); err != nil {
		return fmt.Errorf("[kafka-input] checkpoint-topic: %v", err)
	}
	if c.CheckpointTopic == c.Topic {
		return errors.New("[kafka-input] checkpoint-topic: want a topic of its own, not the one read (topic)")
	}
	if strings.TrimSpace(c.Group) == "" {
		return errors.New("[kafka-input] group: want a consumer group name")
	}
	if c.DB == "" {
		return errors.New("[kafka-input] db: want a database name")
	}
	if c.RP == "" {
		return errors.New("[kafka-input] rp: want a retention policy name")
	}
	if c.CheckpointInterval <= 0 {
		return errors.New("[kafka-input] checkpoint-interval: want a positive duration such as \"1s\"")
	}
	if c.SessionTimeout <= 0 {
		return errors.New("[kafka-input] session-timeout: want a positive duration such as \"3s\"")
	}
	if c.HeartbeatInterval <= 0 {
		return errors.New("[kafka-input] heartbeat-interval: want a positive duration such as \"500ms\"")
	}
	if c.HeartbeatInterval >= c.SessionTimeout {
		return fmt.Errorf("[kafka-input] heartbeat-interval: want less than session-timeout (%s), a third of it or less", c.SessionTimeout)
	}
	if strings.TrimSpace(c.Instance) == "" {
		return errors.New("[kafka-input] instance: want a name for this instance")
	}
	if c.SASLUsername == "" && (c.SASLPassword != "" || c.SASLMechanism != "") {
		return errors.New("[kafka-input] sasl-username: want a username with sasl-password or sasl-mechanism")
	}
	if c.SASLUsername != "" {
		switch strings.ToUpper(c.SASLMechanism) {
		case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		default:
			return errors.New("[kafka-input] sasl-mechanism: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("[kafka-input] tls-cert, tls-key: want both or neither")
	}
	return nil
}

// checkBroker accepts "host:port" and "host", as franz-go does.
func checkBroker(b string) error {
	if b == "" || strings.ContainsAny(b, " \t\r\n/") {
		return errors.New("want an address such as \"127.0.0.1:9092\"")
	}
	if !strings.Contains(b, ":") || (strings.HasPrefix(b, "[") && strings.HasSuffix(b, "]")) {
		return nil // no port: 9092
	}
	_, port, err := net.SplitHostPort(b)
	if err != nil || port == "" {
		return errors.New("want an address such as \"127.0.0.1:9092\"")
	}
	for _, r := range port {
		if r < '0' || r > '9' {
			return errors.New("want a numeric port, as in \"127.0.0.1:9092\"")
		}
	}
	return nil
}

// checkTopic applies Kafka's rules for topic names.
func checkTopic(t string) error {
	if t == "" {
		return errors.New("want a topic name")
	}
	if len(t) > 249 {
		return errors.New("want a topic name of at most 249 characters")
	}
	if t == "." || t == ".." {
		return errors.New("want a topic name other than \".\" and \"..\"")
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("want letters, digits, '.', '_' and '-' only, found %q", r)
		}
	}
	return nil
}

// tlsConfig returns the TLS configuration of the dialer, nil for none.
func (c Config) tlsConfig() (*tls.Config, error) {
	if !c.EnableTLS && c.TLSCA == "" && c.TLSCert == "" && c.TLSKey == "" && !c.InsecureSkipVerify {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // the user's choice
	if c.TLSCA != "" {
		pem, err := os.ReadFile(c.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("[kafka-input] tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("[kafka-input] tls-ca: no PEM certificate in %s", c.TLSCA)
		}
		cfg.RootCAs = pool
	}
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("[kafka-input] tls-cert, tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// saslMechanism returns the SASL mechanism, nil for none.
func (c Config) saslMechanism() sasl.Mechanism {
	if c.SASLUsername == "" {
		return nil
	}
	switch strings.ToUpper(c.SASLMechanism) {
	case "SCRAM-SHA-256":
		return scram.Auth{User: c.SASLUsername, Pass: c.SASLPassword}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		return scram.Auth{User: c.SASLUsername, Pass: c.SASLPassword}.AsSha512Mechanism()
	default:
		return plain.Auth{User: c.SASLUsername, Pass: c.SASLPassword}.AsMechanism()
	}
}
