package config

import (
	"fmt"

	"github.com/tickrun/tickrun/server/kafkain"
	"github.com/tickrun/tickrun/server/natsin"
)

// DefaultPartitionKey is the tag a broker input's stream is partitioned
// by unless partition-key says otherwise: Telegraf's host.
const DefaultPartitionKey = "host"

// NATSInput is the [nats-input] section: several tickrun serve share a
// NATS JetStream stream of line protocol (server/natsin, issue 15).
type NATSInput struct {
	natsin.Config
	// PartitionKey is the tag whose value the subject token
	// partition-token carries ("host").
	PartitionKey string `toml:"partition-key"`
}

// KafkaInput is the [kafka-input] section: several tickrun serve share
// a Kafka topic of line protocol as one consumer group (server/kafkain).
type KafkaInput struct {
	kafkain.Config
	// PartitionKey is the tag messages are keyed by (Telegraf's
	// routing_tag, "host").
	PartitionKey string `toml:"partition-key"`
}

// validateInputs checks the broker input sections that are enabled.
func (c *Config) validateInputs() error {
	if c.NATSInput.Enabled && c.KafkaInput.Enabled {
		return fmt.Errorf("%s: [nats-input] and [kafka-input] are both enabled: a server reads one broker", c.fileName())
	}
	var err error
	switch {
	case c.NATSInput.Enabled:
		err = c.NATSInput.Config.WithDefaults().Validate()
	case c.KafkaInput.Enabled:
		err = c.KafkaInput.Config.WithDefaults().Validate()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", c.fileName(), err)
	}
	return nil
}

// InputKey returns the partition key and the (db, rp) of the enabled
// broker input; ok is false when none is enabled.
func (c *Config) InputKey() (key, db, rp string, ok bool) {
	switch {
	case c.NATSInput.Enabled:
		n := c.NATSInput.Config.WithDefaults()
		key, db, rp = c.NATSInput.PartitionKey, n.DB, n.RP
	case c.KafkaInput.Enabled:
		k := c.KafkaInput.Config.WithDefaults()
		key, db, rp = c.KafkaInput.PartitionKey, k.DB, k.RP
	default:
		return "", "", "", false
	}
	if key == "" {
		key = DefaultPartitionKey
	}
	return key, db, rp, true
}
