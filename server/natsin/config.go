package natsin

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Defaults of the [nats-input] section.
const (
	DefaultURL                = "nats://127.0.0.1:4222"
	DefaultStream             = "telegraf"
	DefaultSubject            = "telegraf.>"
	DefaultPartitions         = 6
	DefaultPartitionToken     = 1
	DefaultDB                 = "telegraf"
	DefaultRP                 = "autogen"
	DefaultBucket             = "tickrun"
	DefaultLeaseTTL           = 3 * time.Second
	DefaultCheckpointInterval = time.Second
)

// Bounds checked by Validate. A lease is renewed every third of its TTL,
// and a KV round trip must fit in that; more partitions than maxPartitions
// make the per-partition consumers and leases a burden without helping a
// cluster of a few instances.
const (
	maxPartitions         = 1024
	minLeaseTTL           = 100 * time.Millisecond
	minCheckpointInterval = 10 * time.Millisecond
)

// Duration is a duration written as a string ("3s"), as kapacitor.conf
// writes them.
type Duration time.Duration

// UnmarshalText parses "3s", "1m30s" and the like.
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

// Config is the [nats-input] section of kapacitor.conf.
type Config struct {
	// Enabled turns the input on.
	Enabled bool `toml:"enabled"`
	// URLs are the NATS servers to connect to.
	URLs []string `toml:"urls"`
	// Stream is the JetStream stream read, and the first token of the
	// subjects its messages are stored under.
	Stream string `toml:"stream"`
	// Subjects are the subjects Telegraf publishes to, the stream's
	// subjects when Run creates it.
	Subjects []string `toml:"subjects"`
	// Partitions is the number of partitions the stream is divided into.
	Partitions int `toml:"partitions"`
	// PartitionToken is the 1-based wildcard token of Subjects that carries
	// the partition key: 1 for Telegraf's
	// subject = "telegraf.{{ .Tag \"host\" }}.{{ .Name }}" and telegraf.>,
	// which partitions by host.
	PartitionToken int `toml:"partition-token"`
	// DB and RP are the database and retention policy the points are
	// written to.
	DB string `toml:"db"`
	RP string `toml:"rp"`
	// Bucket prefixes the KV buckets: <bucket>-leases, <bucket>-checkpoints,
	// and the names of the consumers.
	Bucket string `toml:"bucket"`
	// LeaseTTL is how long a partition stays with an instance that stopped
	// renewing its lease: the bulk of the failover time.
	LeaseTTL Duration `toml:"lease-ttl"`
	// CheckpointInterval is how often the owned shards are cut and their
	// checkpoints stored; the events of a cut wait for it.
	CheckpointInterval Duration `toml:"checkpoint-interval"`
	// Instance names this instance in leases and checkpoints; unique per
	// instance. The server sets it to its server id.
	Instance string `toml:"instance"`
	// CreateStream makes Run create the stream, or update its subjects and
	// subject transform; without it the stream must exist as Run would
	// have made it.
	CreateStream *bool `toml:"create-stream"`
}

// WithDefaults returns c with every unset key at its default.
func (c Config) WithDefaults() Config {
	if len(c.URLs) == 0 {
		c.URLs = []string{DefaultURL}
	}
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if len(c.Subjects) == 0 {
		c.Subjects = []string{DefaultSubject}
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.PartitionToken == 0 {
		c.PartitionToken = DefaultPartitionToken
	}
	if c.DB == "" {
		c.DB = DefaultDB
	}
	if c.RP == "" {
		c.RP = DefaultRP
	}
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = Duration(DefaultLeaseTTL)
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = Duration(DefaultCheckpointInterval)
	}
	if c.Instance == "" {
		c.Instance = defaultInstance()
	}
	if c.CreateStream == nil {
		yes := true
		c.CreateStream = &yes
	}
	return c
}

// defaultInstance is the hostname and the process id: unique among the
// instances of one host.
func defaultInstance() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "tickrun"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// creates reports whether Run creates or updates the stream.
func (c Config) creates() bool { return c.CreateStream == nil || *c.CreateStream }

// nameRE is what JetStream accepts in a KV bucket name; the stream name
// is also a subject token, so it takes the same characters.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// Validate checks c after WithDefaults; its errors name the key.
func (c Config) Validate() error {
	if len(c.URLs) == 0 {
		return errors.New("[nats-input] urls: want at least one server URL")
	}
	for _, u := range c.URLs {
		if err := checkURL(u); err != nil {
			return fmt.Errorf("[nats-input] urls: %q: %w", u, err)
		}
	}
	if !nameRE.MatchString(c.Stream) {
		return fmt.Errorf("[nats-input] stream: %q: want letters, digits, '-' and '_' only", c.Stream)
	}
	if c.Partitions < 1 || c.Partitions > maxPartitions {
		return fmt.Errorf("[nats-input] partitions: want 1 to %d, not %d", maxPartitions, c.Partitions)
	}
	if c.PartitionToken < 1 {
		return fmt.Errorf("[nats-input] partition-token: want a token number from 1, not %d", c.PartitionToken)
	}
	if _, err := newScheme(c.Stream, c.Subjects, c.PartitionToken, c.Partitions); err != nil {
		return err
	}
	if c.DB == "" {
		return errors.New("[nats-input] db: want a database name")
	}
	if c.RP == "" {
		return errors.New("[nats-input] rp: want a retention policy name")
	}
	if !nameRE.MatchString(c.Bucket) {
		return fmt.Errorf("[nats-input] bucket: %q: want letters, digits, '-' and '_' only", c.Bucket)
	}
	if time.Duration(c.LeaseTTL) < minLeaseTTL {
		return fmt.Errorf("[nats-input] lease-ttl: want at least %s, not %s", minLeaseTTL, time.Duration(c.LeaseTTL))
	}
	if time.Duration(c.CheckpointInterval) < minCheckpointInterval {
		return fmt.Errorf("[nats-input] checkpoint-interval: want at least %s, not %s", minCheckpointInterval, time.Duration(c.CheckpointInterval))
	}
	if strings.TrimSpace(c.Instance) == "" {
		return errors.New("[nats-input] instance: want a name unique to this instance")
	}
	return nil
}

// checkURL accepts what nats.Connect takes: nats://, tls://, ws://,
// wss:// URLs, or host:port.
func checkURL(s string) error {
	if s == "" || strings.ContainsAny(s, ", \t\n") {
		return errors.New("want one URL such as nats://127.0.0.1:4222")
	}
	if !strings.Contains(s, "://") {
		s = "nats://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return errors.New("want a URL such as nats://127.0.0.1:4222")
	}
	switch u.Scheme {
	case "nats", "tls", "ws", "wss":
		return nil
	}
	return fmt.Errorf("scheme %q: want nats, tls, ws or wss", u.Scheme)
}
