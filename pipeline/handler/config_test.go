package handler

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

func TestKapacitorConfig(t *testing.T) {
	conf := `hostname = "localhost"
[http]
  bind-address = ":9092"

[[influxdb]]
  enabled = true

[smtp]
  enabled = true
  host = "mail.example.com"
  port = 587
  password = "SECRET"
  to = ["ops@example.com"]

[[slack]]
  enabled = true
  workspace = "a"
  url = "https://hooks.slack.com/services/A"
  ssl-ca = "/etc/ca.pem"

[[slack]]
  enabled = true
  default = true
  workspace = "b"
  url = "https://hooks.slack.com/services/B"

[[httppost]]
  endpoint = "ops"
  url = "https://example.com/hook"
  headers = { Authorization = "Bearer SECRET" }
`
	c, err := kapconf.Parse("kapacitor.conf", []byte(conf))
	require.NoError(t, err)
	assert.Equal(t, []string{"hostname", "http", "influxdb"}, c.Ignored)
	assert.Equal(t, "tickrun: kapacitor.conf: ignoring sections [hostname http influxdb] (not used by tickrun)", c.Notice())
	s, err := c.Section("smtp", "")
	require.NoError(t, err)
	assert.Equal(t, "mail.example.com", s.String("host"))
	assert.Equal(t, int64(587), s.Int("port"))
	assert.Equal(t, []string{"ops@example.com"}, s.Strings("to"))
	assert.Equal(t, 8, s.Line)
	s, err = c.Section("slack", "")
	require.NoError(t, err)
	assert.Equal(t, "b", s.String("workspace"))
	assert.Equal(t, "kapacitor", s.String("username"))
	s, err = c.Section("slack", "a")
	require.NoError(t, err)
	assert.Equal(t, "https://hooks.slack.com/services/A", s.String("url"))
	s, err = c.Section("httppost", "ops")
	require.NoError(t, err)
	assert.Equal(t, [][2]string{{"Authorization", "Bearer SECRET"}}, s.Headers("headers"))
	_, err = c.Section("httppost", "dev")
	assert.EqualError(t, err, `endpoint "dev" is not defined by a [[httppost]] section of kapacitor.conf`)
	_, err = c.Section("teams", "")
	assert.EqualError(t, err, "kapacitor.conf has no [teams] section")
}

// Errors name the file, the line and the key, and never show a secret.
func TestKapacitorConfigErrors(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{"[slack]\nenabled = \"yes\"\n", `k.conf:2: [slack] enabled: want true or false, got a string`},
		{"[slack]\nenabled = true\n\nurl = \"ftp://hooks.slack.com/SECRET\"\n", `k.conf:4: [slack] url: want an http:// or https:// URL (value not shown: it may hold a token)`},
		{"[smtp]\n  port = \"25\"\n", `k.conf:2: [smtp] port: want an integer, got a string`},
		{"[telegram]\ntoken = 123456\n", `k.conf:2: [telegram] token: want a string, got a number`},
		{"[pagerduty2]\nrouting-key = [\"SECRET\"]\n", `k.conf:2: [pagerduty2] routing-key: want a string, got an array`},
		{"[teams]\nchannel-url = 'https://x/SECRET\n", `k.conf:2: [teams] literal strings cannot have new lines`},
		{"[teams]\nenabled = true\nenabled = false\n", `k.conf:3: [teams] key enabled is already defined`},
		{"[[teams]]\nenabled = true\n", `k.conf:1: [teams]: write one [teams] table, not [[teams]]`},
		{"[[slack]]\nworkspace = \"a\"\n[[slack]]\nworkspace = \"a\"\n", `k.conf:3: [slack] workspace: "a" is defined twice`},
	} {
		_, err := kapconf.Parse("k.conf", []byte(tc.conf))
		require.Error(t, err, tc.conf)
		assert.Contains(t, err.Error(), tc.want, tc.conf)
		assert.NotContains(t, err.Error(), "SECRET", tc.conf)
	}
	path := filepath.Join(t.TempDir(), "kapacitor.conf")
	require.NoError(t, os.WriteFile(path, []byte("[slack]\nenabled = 1\n"), 0o600))
	_, err := kapconf.Load(path)
	assert.EqualError(t, err, path+":2: [slack] enabled: want true or false, got a number")
}
