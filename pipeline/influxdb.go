package pipeline

import (
	"fmt"
	"sync"
	"time"

	"github.com/tickrun/tickrun/pipeline/influx"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// The [[influxdb]] sections of kapacitor.conf name the InfluxDB servers
// (clusters, in Kapacitor's words) that batch query() nodes and
// influxDBOut write to (spec/server.md §1.2, §5.2). Their schema is
// registered here, once: the server package reads the same sections
// through the same kapconf.Config. Keys about subscriptions, UDP and TLS
// files are accepted and not used.
func init() {
	kapconf.Register("influxdb", kapconf.Schema{
		Keys: map[string]kapconf.Kind{
			"enabled": kapconf.Bool, "name": kapconf.String, "default": kapconf.Bool,
			"urls": kapconf.Strings, "username": kapconf.String, "password": kapconf.Secret,
			"token": kapconf.Secret, "timeout": kapconf.String, "insecure-skip-verify": kapconf.Bool,
			"ssl-ca": kapconf.Any, "ssl-cert": kapconf.Any, "ssl-key": kapconf.Any,
			"http-shared-secret": kapconf.Any, "compression": kapconf.Any, "startup-timeout": kapconf.Any,
			"disable-subscriptions": kapconf.Any, "subscription-protocol": kapconf.Any,
			"subscription-mode": kapconf.Any, "subscription-path": kapconf.Any,
			"subscriptions": kapconf.Any, "excluded-subscriptions": kapconf.Any,
			"subscriptions-sync-interval": kapconf.Any, "kapacitor-hostname": kapconf.Any,
			"http-port": kapconf.Any, "udp-bind": kapconf.Any, "udp-buffer": kapconf.Any,
			"udp-read-buffer": kapconf.Any,
		},
		// Kapacitor's defaults (services/influxdb/config.go NewConfig):
		// a section is enabled unless it says otherwise.
		Defaults: map[string]any{"enabled": true},
		Multi:    true, NameKey: "name",
		Lenient: map[string]any{"name": "default", "urls": []string{"http://localhost:8086"}},
	})
}

// InfluxDBConfigs returns the [[influxdb]] sections of a kapacitor.conf
// as client configurations, in file order, each checked as Kapacitor
// checks it at start. Errors name the file and the section's line.
func InfluxDBConfigs(c *kapconf.Config) ([]influx.Config, error) {
	var out []influx.Config
	for _, s := range c.All("influxdb") {
		ic := influx.Config{
			Name: s.String("name"), URLs: s.Strings("urls"), Default: s.Bool("default"),
			Disabled: !s.Bool("enabled"), Username: s.String("username"), Password: s.String("password"),
			Token: s.String("token"), InsecureSkipVerify: s.Bool("insecure-skip-verify"),
			Uncompressed: s.Value("compression") == "none",
		}
		if t := s.String("timeout"); t != "" {
			d, err := time.ParseDuration(t)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("%s:%d: [influxdb] timeout: want a duration such as \"10s\"", c.File, s.Line)
			}
			ic.Timeout = d
		}
		if !ic.Disabled {
			if err := ic.Validate(); err != nil {
				return nil, fmt.Errorf("%s:%d: [influxdb] %v", c.File, s.Line, err)
			}
		}
		out = append(out, ic)
	}
	return out, nil
}

// influxClients hands out one client per [[influxdb]] section a task
// uses, made on first use: compiling a task (tickrun check) never
// touches the network. The binder makes one per task and gives it to
// every node that talks to InfluxDB.
type influxClients struct {
	mu      sync.Mutex
	opts    *Options
	loaded  bool
	configs []influx.Config
	err     error // from reading the configuration
	clients map[string]*influx.Client
}

// load reads the configuration once: Options.InfluxDB, else the
// [[influxdb]] sections of Options.Config.
func (c *influxClients) load() {
	if c.loaded {
		return
	}
	c.loaded = true
	if c.opts.InfluxDB != nil {
		c.configs = c.opts.InfluxDB
		return
	}
	if c.opts.Config != nil && !c.opts.Config.Lenient {
		c.configs, c.err = InfluxDBConfigs(c.opts.Config)
	}
}

// config returns the section called cluster, or the default section when
// cluster is "".
func (c *influxClients) config(cluster string) (*influx.Config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pick(cluster)
}

func (c *influxClients) pick(cluster string) (*influx.Config, error) {
	c.load()
	if c.err != nil {
		return nil, c.err
	}
	if len(c.configs) == 0 {
		return nil, errNoInfluxDB
	}
	return influx.Pick(c.configs, cluster)
}

// errNoInfluxDB says how to configure an InfluxDB.
var errNoInfluxDB = fmt.Errorf("no InfluxDB is configured: give --influxdb URL or an [[influxdb]] section of kapacitor.conf (--config)")

// client returns the client of the section called cluster, or of the
// default section when cluster is "".
func (c *influxClients) client(cluster string) (*influx.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg, err := c.pick(cluster)
	if err != nil {
		return nil, err
	}
	if cl := c.clients[cfg.Name]; cl != nil {
		return cl, nil
	}
	cl, err := influx.New(*cfg)
	if err != nil {
		return nil, err
	}
	if c.clients == nil {
		c.clients = map[string]*influx.Client{}
	}
	c.clients[cfg.Name] = cl
	return cl, nil
}

// close releases the clients' idle connections.
func (c *influxClients) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cl := range c.clients {
		cl.Close()
	}
}
