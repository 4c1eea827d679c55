package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Defaults when there is no configuration at all: a server a user starts
// to try things, reachable only from this machine, its state in the
// working directory.
const (
	DefaultBindAddress   = ":9092" // kapacitord's default when a config file is given
	LocalBindAddress     = "127.0.0.1:9092"
	DefaultDataDir       = "tickrun-data"
	DefaultMaxBodySize   = 25 << 20 // bytes; kapacitord has no limit
	DefaultMaxScriptSize = 1 << 20  // bytes of one TICKscript; kapacitord has no limit
	DefaultDrainTimeout  = 10 * time.Second
	defaultBoltFile      = "kapacitor.db"
	defaultLoadDir       = "load"
	defaultDeadmanID     = "{{ .Group }}"
	defaultDeadmanMsg    = "{{ .ID }} is {{ if eq .Level \"OK\" }}alive{{ else }}dead{{ end }}: {{ index .Fields \"emitted\" | printf \"%0.3f\" }} points/INTERVAL."
	defaultDeadmanPeriod = 10 * time.Second
)

// Duration is a duration written as a string ("10s"), as kapacitor.conf
// writes them.
type Duration time.Duration

// UnmarshalText parses "10s", "1m0s" and the like.
func (d *Duration) UnmarshalText(b []byte) error {
	x, err := time.ParseDuration(string(b))
	if err != nil {
		return errors.New("want a duration such as \"10s\"")
	}
	*d = Duration(x)
	return nil
}

// Config is what the server reads of kapacitor.conf.
type Config struct {
	// File is where the configuration was read from; "" without one.
	File string `toml:"-"`

	Hostname               string `toml:"hostname"`
	DataDir                string `toml:"data_dir"`
	DefaultRetentionPolicy string `toml:"default-retention-policy"`

	HTTP     HTTP       `toml:"http"`
	Storage  Storage    `toml:"storage"`
	Load     LoadDir    `toml:"load"`
	InfluxDB []InfluxDB `toml:"influxdb" env-config:"implicit-index"`
	Deadman  Deadman    `toml:"deadman"`
	Logging  Logging    `toml:"logging"`

	// The broker inputs of a scaled-out server (issue 15): at most one
	// is enabled.
	NATSInput  NATSInput  `toml:"nats-input"`
	KafkaInput KafkaInput `toml:"kafka-input"`
}

// Logging is the [logging] section.
type Logging struct {
	// File is where logs go: "STDERR" (the default), "STDOUT" or a
	// file's path, appended to.
	File string `toml:"file"`
	// Level is the least level logged: DEBUG, INFO (the default), WARN
	// or ERROR (kapacitord knows DEBUG, INFO and ERROR).
	Level string `toml:"level"`
	// Format is tickrun's own key: "logfmt" (the default, as kapacitord
	// writes) or "json", one object a line.
	Format string `toml:"format"`
}

// SlogLevel returns the level as log/slog's; ok is false for a name
// that is none of DEBUG, INFO, WARN, WARNING, ERROR (any case).
func (l Logging) SlogLevel() (level slog.Level, ok bool) {
	switch strings.ToUpper(l.Level) {
	case "DEBUG":
		return slog.LevelDebug, true
	case "", "INFO":
		return slog.LevelInfo, true
	case "WARN", "WARNING":
		return slog.LevelWarn, true
	case "ERROR", "OFF":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}

// HTTP is the [http] section.
type HTTP struct {
	BindAddress     string   `toml:"bind-address"`
	AuthEnabled     bool     `toml:"auth-enabled"`
	LogEnabled      bool     `toml:"log-enabled"`
	SharedSecret    string   `toml:"shared-secret" secret:"true"`
	ShutdownTimeout Duration `toml:"shutdown-timeout"`
	// MaxBodySize is tickrun's own key: the largest request body in
	// bytes; larger ones get 413.
	MaxBodySize int64 `toml:"max-body-size"`
	// MaxScriptSize is tickrun's own key: the largest TICKscript a task
	// or template may have, in bytes; a larger one gets 400 (binding and
	// checking are linear, but a script of megabytes still costs seconds
	// of CPU per define).
	MaxScriptSize int64 `toml:"max-script-size"`
	// PartialWrites is tickrun's own key: how a write with a bad line
	// is answered. "influxdb" (the default) keeps the good lines and
	// answers a JSON 400 naming the bad ones, which Telegraf drops;
	// "kapacitor" rejects the whole body with a plain-text 400, which
	// Telegraf retries.
	PartialWrites string `toml:"partial-writes"`
}

// Storage is the [storage] section.
type Storage struct {
	BoltDB string `toml:"boltdb"`
}

// LoadDir is the [load] section.
type LoadDir struct {
	Enabled bool   `toml:"enabled"`
	Dir     string `toml:"dir"`
}

// InfluxDB is one [[influxdb]] section, kept for batch tasks and
// influxDBOut.
type InfluxDB struct {
	Enabled              bool     `toml:"enabled"`
	Name                 string   `toml:"name"`
	Default              bool     `toml:"default"`
	URLs                 []string `toml:"urls"`
	Username             string   `toml:"username"`
	Password             string   `toml:"password" secret:"true"`
	Token                string   `toml:"token" secret:"true"`
	SSLCA                string   `toml:"ssl-ca"`
	SSLCert              string   `toml:"ssl-cert"`
	SSLKey               string   `toml:"ssl-key"`
	InsecureSkipVerify   bool     `toml:"insecure-skip-verify"`
	Timeout              Duration `toml:"timeout"`
	DisableSubscriptions bool     `toml:"disable-subscriptions"`
	Compression          string   `toml:"compression"`
}

// Deadman is the [deadman] section: the defaults of |deadman().
type Deadman struct {
	Global    bool     `toml:"global"`
	Threshold float64  `toml:"threshold"`
	Interval  Duration `toml:"interval"`
	ID        string   `toml:"id"`
	Message   string   `toml:"message"`
}

// Default returns kapacitord's defaults, for a configuration file that
// leaves keys out. DataDir stays "" so that Resolve can tell a data_dir
// that was set from one that was not.
func Default() *Config {
	return &Config{
		HTTP:     HTTP{BindAddress: DefaultBindAddress, LogEnabled: true, ShutdownTimeout: Duration(DefaultDrainTimeout), MaxBodySize: DefaultMaxBodySize},
		InfluxDB: []InfluxDB{{Enabled: true, Name: "default", URLs: []string{"http://localhost:8086"}, Compression: "gzip"}},
		Deadman:  Deadman{Interval: Duration(defaultDeadmanPeriod), ID: defaultDeadmanID, Message: defaultDeadmanMsg},
		Logging:  Logging{File: "STDERR", Level: "INFO", Format: "logfmt"},
	}
}

// Load reads a kapacitor.conf. The result still needs ApplyEnv and
// Resolve.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse reads kapacitor.conf text; name is used in errors.
func Parse(name string, data []byte) (*Config, error) {
	c := Default()
	c.File = name
	// A file that lists its own [[influxdb]] replaces the default one.
	c.InfluxDB = nil
	if err := toml.Unmarshal(data, c); err != nil {
		var de *toml.DecodeError
		if !errors.As(err, &de) {
			return nil, fmt.Errorf("%s: not valid TOML", name)
		}
		row, _ := de.Position()
		return nil, fmt.Errorf("%s:%d: %s", name, row, describe(de, data, row))
	}
	if !hasTable(data, "influxdb") {
		c.InfluxDB = Default().InfluxDB
	}
	return c, nil
}

var (
	tomlHeader = regexp.MustCompile(`^\s*\[\[?\s*([^\]\s]+)\s*\]\]?`)
)

// hasTable reports whether the text has a [name] or [[name]] header.
func hasTable(data []byte, name string) bool {
	for _, line := range strings.Split(string(data), "\n") {
		if m := tomlHeader.FindStringSubmatch(line); m != nil && m[1] == name {
			return true
		}
	}
	return false
}

// describe renders a decoding error as "[section] key: problem" in the
// words of the configuration, never quoting the value.
func describe(de *toml.DecodeError, data []byte, row int) string {
	key := de.Key()
	if len(key) == 0 {
		section := ""
		for i, line := range strings.Split(string(data), "\n") {
			if m := tomlHeader.FindStringSubmatch(line); m != nil && i < row {
				section = "[" + m[1] + "] "
			}
		}
		return section + strings.TrimPrefix(de.Error(), "toml: ")
	}
	where := key[len(key)-1]
	if len(key) > 1 {
		where = "[" + strings.Join(key[:len(key)-1], ".") + "] " + where
	}
	want := "a valid value"
	if f, ok := fieldAt(reflect.TypeOf(Config{}), key); ok {
		want = kindName(f)
	}
	return where + ": want " + want
}

// fieldAt finds the struct field a TOML key path decodes into.
func fieldAt(t reflect.Type, key []string) (reflect.Type, bool) {
	for _, k := range key {
		for t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil, false
		}
		found := false
		for i := 0; i < t.NumField(); i++ {
			if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ","); tag == k {
				t, found = t.Field(i).Type, true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	return t, true
}

func kindName(t reflect.Type) string {
	if t == reflect.TypeOf(Duration(0)) {
		return "a duration such as \"10s\""
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(kindName(t.Elem()), "a ") + "s"
	case reflect.Struct:
		return "a table"
	}
	return "a valid value"
}

// Resolve fills the paths that derive from others, as kapacitord does:
// [storage] boltdb and [load] dir default to files under data_dir. With
// no file at all (File == ""), the server listens on 127.0.0.1:9092 and
// keeps its state in ./tickrun-data, unless flags or the environment
// said otherwise. It returns the one-line notice to print in that case.
func (c *Config) Resolve() (notice string) {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Storage.BoltDB == "" {
		c.Storage.BoltDB = filepath.Join(c.DataDir, defaultBoltFile)
	}
	if c.Load.Dir == "" {
		c.Load.Dir = filepath.Join(c.DataDir, defaultLoadDir)
	}
	if c.HTTP.MaxBodySize <= 0 {
		c.HTTP.MaxBodySize = DefaultMaxBodySize
	}
	if c.HTTP.MaxScriptSize <= 0 {
		c.HTTP.MaxScriptSize = DefaultMaxScriptSize
	}
	if c.Hostname == "" {
		c.Hostname = "localhost"
	}
	if c.HTTP.PartialWrites == "" {
		c.HTTP.PartialWrites = "influxdb"
	}
	if c.File == "" {
		return fmt.Sprintf("tickrun serve: no kapacitor.conf given: listening on %s, state in %s", c.HTTP.BindAddress, c.DataDir)
	}
	return ""
}

// Local returns the configuration used without a file: kapacitord's
// defaults, but listening on 127.0.0.1 only.
func Local() *Config {
	c := Default()
	c.HTTP.BindAddress = LocalBindAddress
	return c
}

// Validate checks the values that have a fixed set of choices.
func (c *Config) Validate() error {
	switch c.HTTP.PartialWrites {
	case "", "influxdb", "kapacitor":
	default:
		return fmt.Errorf("%s: [http] partial-writes: want \"influxdb\" or \"kapacitor\"", c.fileName())
	}
	if _, ok := c.Logging.SlogLevel(); !ok {
		return fmt.Errorf("%s: [logging] level: want DEBUG, INFO, WARN or ERROR", c.fileName())
	}
	switch c.Logging.Format {
	case "", "logfmt", "json":
	default:
		return fmt.Errorf("%s: [logging] format: want \"logfmt\" or \"json\"", c.fileName())
	}
	if _, err := time.ParseDuration(time.Duration(c.HTTP.ShutdownTimeout).String()); err != nil || c.HTTP.ShutdownTimeout < 0 {
		return fmt.Errorf("%s: [http] shutdown-timeout: want a positive duration", c.fileName())
	}
	return c.validateInputs()
}

func (c *Config) fileName() string {
	if c.File == "" {
		return "configuration"
	}
	return c.File
}
