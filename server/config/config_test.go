package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = `hostname = "kap1"
data_dir = "/var/lib/kapacitor"
default-retention-policy = "autogen"

[http]
  bind-address = ":9999"
  auth-enabled = true
  log-enabled = false
  shutdown-timeout = "5s"

[storage]
  boltdb = "/var/lib/kapacitor/kapacitor.db"

[load]
  enabled = true
  dir = "/etc/kapacitor/load"

[[influxdb]]
  enabled = true
  name = "localhost"
  urls = ["http://localhost:8086"]
  password = "s3cret"

[deadman]
  interval = "10s"
  threshold = 0.0

[slack]
  enabled = true
  url = "https://hooks.slack.com/services/x"
`

func TestParse(t *testing.T) {
	c, err := Parse("kapacitor.conf", []byte(sample))
	require.NoError(t, err)
	assert.Equal(t, "kap1", c.Hostname)
	assert.Equal(t, ":9999", c.HTTP.BindAddress)
	assert.True(t, c.HTTP.AuthEnabled)
	assert.False(t, c.HTTP.LogEnabled)
	assert.Equal(t, Duration(5*time.Second), c.HTTP.ShutdownTimeout)
	assert.Equal(t, "autogen", c.DefaultRetentionPolicy)
	assert.Equal(t, "/etc/kapacitor/load", c.Load.Dir)
	require.Len(t, c.InfluxDB, 1)
	assert.Equal(t, "localhost", c.InfluxDB[0].Name)
	assert.Equal(t, "s3cret", c.InfluxDB[0].Password)
	assert.Equal(t, Duration(10*time.Second), c.Deadman.Interval)
	assert.Equal(t, int64(DefaultMaxBodySize), c.HTTP.MaxBodySize, "an unset key keeps kapacitord's default")
	assert.Empty(t, c.Resolve(), "a file was given: no notice")
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"bool", "[http]\n  auth-enabled = \"yes\"\n", "kapacitor.conf:2: [http] auth-enabled: want true or false"},
		{"duration", "[http]\nshutdown-timeout = \"10x\"\n", "kapacitor.conf:2: [http] shutdown-timeout: want a duration such as \"10s\""},
		{"string", "hostname = 5\n", "kapacitor.conf:1: hostname: want a string"},
		{"secret", "[[influxdb]]\n  password = 123456\n", "kapacitor.conf:2: [influxdb] password: want a string"},
		{"array", "[[influxdb]]\nurls = \"http://x\"\n", "kapacitor.conf:2: [influxdb] urls: want an array of strings"},
		{"syntax", "[http]\nbind-address = \n", "kapacitor.conf:2: [http] *"},
		{"header", "[http\n", "kapacitor.conf:1: *"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("kapacitor.conf", []byte(tc.text))
			require.Error(t, err)
			if p, ok := cutStar(tc.want); ok {
				assert.Regexp(t, "^"+regexp.QuoteMeta(p), err.Error())
			} else {
				assert.Equal(t, tc.want, err.Error())
			}
			assert.NotContains(t, err.Error(), "123456", "a secret is never printed")
		})
	}
}

func cutStar(s string) (string, bool) {
	if len(s) > 0 && s[len(s)-1] == '*' {
		return s[:len(s)-1], true
	}
	return s, false
}

func TestEnv(t *testing.T) {
	c, err := Parse("kapacitor.conf", []byte(sample))
	require.NoError(t, err)
	require.NoError(t, c.ApplyEnv([]string{
		"KAPACITOR_HTTP_BIND_ADDRESS=127.0.0.1:9092",
		"KAPACITOR_HOSTNAME=kap2",
		"KAPACITOR_DATA_DIR=/data",
		"KAPACITOR_HTTP_AUTH_ENABLED=false",
		"KAPACITOR_HTTP_SHUTDOWN_TIMEOUT=1m",
		"KAPACITOR_STORAGE_BOLTDB=/data/k.db",
		"KAPACITOR_LOAD_ENABLED=false",
		"KAPACITOR_DEFAULT_RETENTION_POLICY=rp1",
		"KAPACITOR_INFLUXDB_0_URLS_0=http://influxdb:8086",
		"KAPACITOR_INFLUXDB_USERNAME=bob", // one [[influxdb]]: the index may be left out
		"KAPACITOR_INFLUXDB_1_NAME=nope",  // no second element: ignored
		"KAPACITOR_DEADMAN_THRESHOLD=2.5",
		"KAPACITOR_HTTP_LOG_ENABLED=", // empty: ignored
		"OTHER=1",
	}))
	assert.Equal(t, "127.0.0.1:9092", c.HTTP.BindAddress)
	assert.Equal(t, "kap2", c.Hostname)
	assert.Equal(t, "/data", c.DataDir)
	assert.False(t, c.HTTP.AuthEnabled)
	assert.Equal(t, Duration(time.Minute), c.HTTP.ShutdownTimeout)
	assert.Equal(t, "/data/k.db", c.Storage.BoltDB)
	assert.False(t, c.Load.Enabled)
	assert.Equal(t, "rp1", c.DefaultRetentionPolicy)
	assert.Equal(t, []string{"http://influxdb:8086"}, c.InfluxDB[0].URLs)
	assert.Equal(t, "bob", c.InfluxDB[0].Username)
	assert.Len(t, c.InfluxDB, 1)
	assert.Equal(t, 2.5, c.Deadman.Threshold)
	assert.False(t, c.HTTP.LogEnabled)

	err = c.ApplyEnv([]string{"KAPACITOR_HTTP_AUTH_ENABLED=sometimes"})
	assert.EqualError(t, err, "environment variable KAPACITOR_HTTP_AUTH_ENABLED: want true or false")
	err = c.ApplyEnv([]string{"KAPACITOR_INFLUXDB_0_TIMEOUT=soon"})
	assert.EqualError(t, err, "environment variable KAPACITOR_INFLUXDB_0_TIMEOUT: want a duration such as \"10s\"")
}

func TestNoConfig(t *testing.T) {
	c := Local()
	require.NoError(t, c.ApplyEnv(nil))
	notice := c.Resolve()
	assert.Equal(t, "tickrun serve: no kapacitor.conf given: listening on 127.0.0.1:9092, state in tickrun-data", notice)
	assert.Equal(t, filepath.Join("tickrun-data", "kapacitor.db"), c.Storage.BoltDB)
	assert.Equal(t, "influxdb", c.HTTP.PartialWrites)
	require.NoError(t, c.Validate())
	c.HTTP.PartialWrites = "sometimes"
	assert.EqualError(t, c.Validate(), `configuration: [http] partial-writes: want "influxdb" or "kapacitor"`)
}

func TestIdentity(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	id, err := LoadIdentity(dir)
	require.NoError(t, err)
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	assert.Regexp(t, uuid, id.ClusterID)
	assert.Regexp(t, uuid, id.ServerID)
	assert.NotEqual(t, id.ClusterID, id.ServerID)
	// The files hold the bare UUID, as kapacitord writes them.
	b, err := os.ReadFile(filepath.Join(dir, ClusterIDFile))
	require.NoError(t, err)
	assert.Equal(t, id.ClusterID, string(b))
	again, err := LoadIdentity(dir)
	require.NoError(t, err)
	assert.Equal(t, id, again)
	// A kapacitord data_dir is read as it is (a trailing newline is fine).
	require.NoError(t, os.WriteFile(filepath.Join(dir, ServerIDFile), []byte("00000000-0000-0000-0000-000000000002\n"), 0o644))
	again, err = LoadIdentity(dir)
	require.NoError(t, err)
	assert.Equal(t, "00000000-0000-0000-0000-000000000002", again.ServerID)
	require.NoError(t, os.WriteFile(filepath.Join(dir, ServerIDFile), []byte("garbage"), 0o644))
	_, err = LoadIdentity(dir)
	assert.ErrorContains(t, err, "not a UUID")
}

func TestLogging(t *testing.T) {
	c, err := Parse("kapacitor.conf", []byte("[logging]\n  file = \"/var/log/kapacitor/kapacitor.log\"\n  level = \"debug\"\n  format = \"json\"\n"))
	require.NoError(t, err)
	assert.Equal(t, Logging{File: "/var/log/kapacitor/kapacitor.log", Level: "debug", Format: "json"}, c.Logging)
	l, ok := c.Logging.SlogLevel()
	assert.True(t, ok)
	assert.Equal(t, slog.LevelDebug, l)
	require.NoError(t, c.Validate())
	d := Default()
	assert.Equal(t, Logging{File: "STDERR", Level: "INFO", Format: "logfmt"}, d.Logging, "kapacitord's defaults")
	require.NoError(t, d.ApplyEnv([]string{"KAPACITOR_LOGGING_LEVEL=ERROR"}))
	assert.Equal(t, "ERROR", d.Logging.Level)
	for _, tc := range []struct{ conf, want string }{
		{"[logging]\n  level = \"LOUD\"\n", "kapacitor.conf: [logging] level: want DEBUG, INFO, WARN or ERROR"},
		{"[logging]\n  format = \"xml\"\n", "kapacitor.conf: [logging] format: want \"logfmt\" or \"json\""},
	} {
		c, err := Parse("kapacitor.conf", []byte(tc.conf))
		require.NoError(t, err)
		assert.EqualError(t, c.Validate(), tc.want)
	}
}
