package influx

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"
)

// Config is one [[influxdb]] section of kapacitor.conf: a named InfluxDB
// (cluster) that query() nodes pick with .cluster(name) and influxDBOut
// writes to. The zero value of each field is Kapacitor's default.
type Config struct {
	Name     string   // name = "localhost"; required
	URLs     []string // urls = ["http://localhost:8086"]; requests go round-robin over them
	Default  bool     // default = true: the one used when no .cluster() is given
	Disabled bool     // enabled = false: ignored by Pick
	Username string   // username: HTTP basic auth when non-empty
	Password string   // password
	// Token is sent as "Authorization: Token <token>" (InfluxDB 2.x and
	// 1.8+ v1 compatibility API); it takes precedence over Username.
	Token              string
	Timeout            time.Duration // timeout: per request, 0 means none
	InsecureSkipVerify bool          // insecure-skip-verify: accept any TLS certificate
	// Uncompressed asks for answers without gzip (compression = "none").
	// Kapacitor always accepts gzip; on a loopback or LAN link
	// compressing a large answer costs InfluxDB more than it saves (a
	// stream backtest of a day of 100 hosts runs about a third faster).
	Uncompressed bool
	// UserAgent is the User-Agent header, "tickrun" when empty.
	UserAgent string
}

var validName = regexp.MustCompile(`^[-\._\p{L}0-9]+$`)

// Validate checks the section as Kapacitor does at start: a name made of
// letters, digits, '.', '-' and '_', at least one URL, each http or https.
func (c *Config) Validate() error {
	if c.Name == "" {
		return errors.New(msgNoName)
	}
	if !validName.MatchString(c.Name) {
		return errors.New(msgBadName)
	}
	if len(c.URLs) == 0 {
		return errors.New(msgNoURL)
	}
	for _, u := range c.URLs {
		if _, err := parseURL(u); err != nil {
			return err
		}
	}
	return nil
}

// parseURL parses one of urls; only http and https are accepted.
func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf(msgScheme, u.Scheme)
	}
	return u, nil
}

// Pick returns the section a query() node uses: the one named name, or for
// an empty name the default one (the section marked default, or the only
// enabled section). Disabled sections are never picked.
func Pick(configs []Config, name string) (*Config, error) {
	var enabled []*Config
	for i := range configs {
		if !configs[i].Disabled {
			enabled = append(enabled, &configs[i])
		}
	}
	if name != "" {
		for _, c := range enabled {
			if c.Name == name {
				return c, nil
			}
		}
		return nil, fmt.Errorf(msgNoSuchName, name)
	}
	var def *Config
	for _, c := range enabled {
		if c.Default {
			if def != nil {
				return nil, errors.New(msgTwoDefaults)
			}
			def = c
		}
	}
	if def == nil && len(enabled) == 1 {
		def = enabled[0]
	}
	if def == nil {
		return nil, errors.New(msgNoDefault)
	}
	return def, nil
}
