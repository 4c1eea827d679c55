package natsin

import (
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigDefaults(t *testing.T) {
	c := Config{}.WithDefaults()
	assert.Equal(t, []string{"nats://127.0.0.1:4222"}, c.URLs)
	assert.Equal(t, "telegraf", c.Stream)
	assert.Equal(t, []string{"telegraf.>"}, c.Subjects)
	assert.Equal(t, 6, c.Partitions)
	assert.Equal(t, 1, c.PartitionToken)
	assert.Equal(t, "telegraf", c.DB)
	assert.Equal(t, "autogen", c.RP)
	assert.Equal(t, "tickrun", c.Bucket)
	assert.Equal(t, Duration(3*time.Second), c.LeaseTTL)
	assert.Equal(t, Duration(time.Second), c.CheckpointInterval)
	assert.NotEmpty(t, c.Instance)
	require.NotNil(t, c.CreateStream)
	assert.True(t, *c.CreateStream)
	assert.False(t, c.Enabled)
	require.NoError(t, c.Validate())
}

func TestConfigTOML(t *testing.T) {
	var file struct {
		NATS Config `toml:"nats-input"`
	}
	err := toml.Unmarshal([]byte(`
[nats-input]
  enabled = true
  urls = ["nats://a:4222", "tls://b:4222"]
  stream = "metrics"
  subjects = ["metrics.>"]
  partitions = 12
  partition-token = 2
  db = "db1"
  rp = "rp1"
  bucket = "tr"
  lease-ttl = "6s"
  checkpoint-interval = "500ms"
  instance = "server-1"
  create-stream = false
`), &file)
	require.NoError(t, err)
	c := file.NATS.WithDefaults()
	no := false
	assert.Equal(t, Config{
		Enabled: true, URLs: []string{"nats://a:4222", "tls://b:4222"}, Stream: "metrics",
		Subjects: []string{"metrics.>"}, Partitions: 12, PartitionToken: 2, DB: "db1", RP: "rp1",
		Bucket: "tr", LeaseTTL: Duration(6 * time.Second), CheckpointInterval: Duration(500 * time.Millisecond),
		Instance: "server-1", CreateStream: &no,
	}, c)
	require.NoError(t, c.Validate())

	err = toml.Unmarshal([]byte("[nats-input]\nlease-ttl = \"3 seconds\"\n"), &file)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `want a duration such as "3s"`)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"host port url", func(c *Config) { c.URLs = []string{"127.0.0.1:4222"} }, ""},
		{"websocket url", func(c *Config) { c.URLs = []string{"wss://nats.example.com"} }, ""},
		{"two subjects", func(c *Config) { c.Subjects = []string{"telegraf.>", "metrics.>"} }, ""},
		{"key not last", func(c *Config) { c.Subjects = []string{"telegraf.*.*"} }, ""},
		{"key last", func(c *Config) { c.Subjects = []string{"telegraf.*"} }, ""},
		{"one partition", func(c *Config) { c.Partitions = 1 }, ""},
		{"bad url scheme", func(c *Config) { c.URLs = []string{"http://a:4222"} },
			`[nats-input] urls: "http://a:4222": scheme "http": want nats, tls, ws or wss`},
		{"comma in url", func(c *Config) { c.URLs = []string{"nats://a,nats://b"} },
			`[nats-input] urls: "nats://a,nats://b": want one URL such as nats://127.0.0.1:4222`},
		{"empty url", func(c *Config) { c.URLs = []string{""} },
			`[nats-input] urls: "": want one URL such as nats://127.0.0.1:4222`},
		{"stream with dot", func(c *Config) { c.Stream = "tele.graf" },
			`[nats-input] stream: "tele.graf": want letters, digits, '-' and '_' only`},
		{"negative partitions", func(c *Config) { c.Partitions = -1 },
			`[nats-input] partitions: want 1 to 1024, not -1`},
		{"too many partitions", func(c *Config) { c.Partitions = 5000 },
			`[nats-input] partitions: want 1 to 1024, not 5000`},
		{"negative token", func(c *Config) { c.PartitionToken = -2 },
			`[nats-input] partition-token: want a token number from 1, not -2`},
		{"token beyond subject", func(c *Config) { c.Subjects = []string{"telegraf.*"}; c.PartitionToken = 2 },
			`[nats-input] subjects: "telegraf.*": partition-token 2: the subject has only 1 wildcard tokens`},
		{"no wildcard", func(c *Config) { c.Subjects = []string{"telegraf"} },
			`[nats-input] subjects: "telegraf": partition-token 1: the subject has only 0 wildcard tokens`},
		{"gt not last", func(c *Config) { c.Subjects = []string{"a.>.b"} },
			`[nats-input] subjects: "a.>.b": '>' must be the last token`},
		{"empty token", func(c *Config) { c.Subjects = []string{"a..>"} },
			`[nats-input] subjects: "a..>": empty token`},
		{"key at different places", func(c *Config) { c.Subjects = []string{"telegraf.>", "a.b.>"} },
			`[nats-input] subjects: "a.b.>" puts partition-token 1 at another place than "telegraf.>": the stream has one transform, so every subject must carry the key at the same token`},
		{"empty db", func(c *Config) { c.DB = "" }, `[nats-input] db: want a database name`},
		{"empty rp", func(c *Config) { c.RP = "" }, `[nats-input] rp: want a retention policy name`},
		{"bucket with dot", func(c *Config) { c.Bucket = "a.b" },
			`[nats-input] bucket: "a.b": want letters, digits, '-' and '_' only`},
		{"short lease", func(c *Config) { c.LeaseTTL = Duration(time.Millisecond) },
			`[nats-input] lease-ttl: want at least 100ms, not 1ms`},
		{"negative interval", func(c *Config) { c.CheckpointInterval = Duration(-time.Second) },
			`[nats-input] checkpoint-interval: want at least 10ms, not -1s`},
		{"blank instance", func(c *Config) { c.Instance = " " },
			`[nats-input] instance: want a name unique to this instance`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{}.WithDefaults()
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				_, err := New(c)
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			assert.True(t, strings.HasPrefix(err.Error(), "[nats-input] "))
			// New fills the defaults in again: an empty db is fine there.
			if c.WithDefaults().Validate() != nil {
				_, err = New(c)
				assert.EqualError(t, err, tc.want)
			}
		})
	}
}
