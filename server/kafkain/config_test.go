package kafkain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// file is the part of kapacitor.conf the tests read.
type file struct {
	KafkaInput Config `toml:"kafka-input"`
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.WithDefaults()
	assert.Equal(t, []string{"127.0.0.1:9092"}, c.Brokers)
	assert.Equal(t, "telegraf", c.Topic)
	assert.Equal(t, "tickrun", c.Group)
	assert.Equal(t, "telegraf", c.DB)
	assert.Equal(t, "autogen", c.RP)
	assert.Equal(t, "telegraf-tickrun-checkpoints", c.CheckpointTopic)
	assert.Equal(t, Duration(time.Second), c.CheckpointInterval)
	assert.Equal(t, Duration(3*time.Second), c.SessionTimeout)
	assert.Equal(t, Duration(500*time.Millisecond), c.HeartbeatInterval)
	host, _ := os.Hostname()
	assert.True(t, strings.HasPrefix(c.Instance, host+"-"), "instance %q is hostname-pid", c.Instance)
	assert.Empty(t, c.SASLMechanism)
	assert.False(t, c.Enabled)
	c.Enabled = true
	assert.NoError(t, c.Validate())

	// The checkpoint topic follows the topic; a username brings PLAIN.
	c = Config{Topic: "metrics", SASLUsername: "u"}.WithDefaults()
	assert.Equal(t, "metrics-tickrun-checkpoints", c.CheckpointTopic)
	assert.Equal(t, "PLAIN", c.SASLMechanism)
}

func TestConfigFile(t *testing.T) {
	const conf = `
[kafka-input]
  enabled = true
  brokers = ["k1:9092", "k2:9093"]
  topic = "metrics"
  group = "tickrun-prod"
  db = "telegraf"
  rp = "two_weeks"
  checkpoint-topic = "metrics-state"
  checkpoint-interval = "2s"
  session-timeout = "6s"
  heartbeat-interval = "1s"
  instance = "node-7"
  sasl-username = "tickrun"
  sasl-password = "secret"
  sasl-mechanism = "SCRAM-SHA-512"
  enable-tls = true
  tls-ca = "/etc/ssl/ca.pem"
  tls-cert = "/etc/ssl/cert.pem"
  tls-key = "/etc/ssl/key.pem"
  insecure-skip-verify = true
`
	var f file
	require.NoError(t, toml.Unmarshal([]byte(conf), &f))
	want := Config{
		Enabled: true, Brokers: []string{"k1:9092", "k2:9093"}, Topic: "metrics", Group: "tickrun-prod",
		DB: "telegraf", RP: "two_weeks", CheckpointTopic: "metrics-state",
		CheckpointInterval: Duration(2 * time.Second), SessionTimeout: Duration(6 * time.Second), HeartbeatInterval: Duration(time.Second),
		Instance: "node-7", SASLUsername: "tickrun", SASLPassword: "secret", SASLMechanism: "SCRAM-SHA-512",
		EnableTLS: true, TLSCA: "/etc/ssl/ca.pem", TLSCert: "/etc/ssl/cert.pem", TLSKey: "/etc/ssl/key.pem", InsecureSkipVerify: true,
	}
	assert.Equal(t, want, f.KafkaInput)
	assert.Equal(t, want, f.KafkaInput.WithDefaults(), "nothing to fill")
	assert.NoError(t, f.KafkaInput.Validate())

	// A duration that is not one names what it wants.
	err := toml.Unmarshal([]byte("[kafka-input]\nsession-timeout = \"3 seconds\"\n"), &f)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `want a duration such as "3s"`)

	// Durations write back as they are read.
	b, err := toml.Marshal(file{Config{SessionTimeout: Duration(3 * time.Second)}})
	require.NoError(t, err)
	assert.Contains(t, string(b), "session-timeout = '3s'")
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string // "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"disabled is not checked", func(c *Config) { c.Enabled = false; c.Topic = "bad topic" }, ""},
		{"no brokers", func(c *Config) { c.Brokers = []string{} }, "[kafka-input] brokers: want at least one broker"},
		{"empty broker", func(c *Config) { c.Brokers = []string{"k1:9092", ""} }, "[kafka-input] brokers[1]: want an address"},
		{"broker with a URL", func(c *Config) { c.Brokers = []string{"kafka://k1:9092"} }, "[kafka-input] brokers[0]: want an address"},
		{"broker with a port of letters", func(c *Config) { c.Brokers = []string{"k1:kafka"} }, "[kafka-input] brokers[0]: want a numeric port"},
		{"broker without a port", func(c *Config) { c.Brokers = []string{"k1"} }, ""},
		{"IPv6 broker", func(c *Config) { c.Brokers = []string{"[::1]:9092"} }, ""},
		{"topic with a space", func(c *Config) { c.Topic = "my topic" }, `[kafka-input] topic: want letters, digits, '.', '_' and '-' only, found ' '`},
		{"topic too long", func(c *Config) { c.Topic = strings.Repeat("t", 250) }, "[kafka-input] topic: want a topic name of at most 249 characters"},
		{"topic dot", func(c *Config) { c.Topic = "." }, "[kafka-input] topic: want a topic name other than"},
		{"checkpoint topic is the topic", func(c *Config) { c.CheckpointTopic = c.Topic }, "[kafka-input] checkpoint-topic: want a topic of its own"},
		{"checkpoint topic bad", func(c *Config) { c.CheckpointTopic = "a/b" }, "[kafka-input] checkpoint-topic: want letters"},
		{"blank group", func(c *Config) { c.Group = " " }, "[kafka-input] group: want a consumer group name"},
		{"negative interval", func(c *Config) { c.CheckpointInterval = Duration(-time.Second) }, "[kafka-input] checkpoint-interval: want a positive duration"},
		{"negative session timeout", func(c *Config) { c.SessionTimeout = -1 }, "[kafka-input] session-timeout: want a positive duration"},
		{"negative heartbeat", func(c *Config) { c.HeartbeatInterval = -1 }, "[kafka-input] heartbeat-interval: want a positive duration"},
		{"heartbeat not under session", func(c *Config) { c.HeartbeatInterval = c.SessionTimeout },
			"[kafka-input] heartbeat-interval: want less than session-timeout (3s)"},
		{"blank instance", func(c *Config) { c.Instance = "  " }, "[kafka-input] instance: want a name"},
		{"password without user", func(c *Config) { c.SASLPassword = "p" }, "[kafka-input] sasl-username: want a username"},
		{"mechanism unknown", func(c *Config) { c.SASLUsername = "u"; c.SASLMechanism = "GSSAPI" },
			"[kafka-input] sasl-mechanism: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"},
		{"mechanism any case", func(c *Config) { c.SASLUsername = "u"; c.SASLMechanism = "scram-sha-256" }, ""},
		{"cert without key", func(c *Config) { c.TLSCert = "c.pem" }, "[kafka-input] tls-cert, tls-key: want both or neither"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Enabled: true}.WithDefaults()
			tc.mod(&c)
			err := c.Validate()
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "secret")
		})
	}
}

// New reads the TLS files and says which key is wrong.
func TestConfigTLSFiles(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"missing CA", func(c *Config) { c.TLSCA = filepath.Join(dir, "none.pem") }, "[kafka-input] tls-ca: open "},
		{"CA not PEM", func(c *Config) { c.TLSCA = notPEM }, "[kafka-input] tls-ca: no PEM certificate in "},
		{"missing cert", func(c *Config) { c.TLSCert = notPEM; c.TLSKey = filepath.Join(dir, "key.pem") }, "[kafka-input] tls-cert, tls-key: "},
		{"bad config", func(c *Config) { c.Topic = "a b" }, "[kafka-input] topic: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{}
			tc.mod(&c)
			_, err := New(c)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// TLS and SASL are applied: a config with both makes an input.
	in, err := New(Config{EnableTLS: true, InsecureSkipVerify: true, SASLUsername: "u", SASLPassword: "p", SASLMechanism: "SCRAM-SHA-256"})
	require.NoError(t, err)
	assert.NotNil(t, in.dial.tls)
	assert.True(t, in.dial.tls.InsecureSkipVerify)
	assert.Equal(t, "SCRAM-SHA-256", in.sasl.Name())
	in, err = New(Config{})
	require.NoError(t, err)
	assert.Nil(t, in.dial.tls)
	assert.Nil(t, in.sasl)
}

func TestShardKeys(t *testing.T) {
	for shard, key := range map[int32]string{-1: "global", 0: "p.0", 17: "p.17"} {
		assert.Equal(t, key, shardKey(shard))
	}
}
