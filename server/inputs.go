package server

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/tickrun/tickrun/server/cluster"
	"github.com/tickrun/tickrun/server/config"
	"github.com/tickrun/tickrun/server/kafkain"
	"github.com/tickrun/tickrun/server/natsin"
)

// buildInputs returns the broker input of the configuration ([nats-input]
// or [kafka-input]), or those of the options (tests), and where their
// points go. Without one the server runs alone, as before.
func buildInputs(cfg *config.Config, opts Options, id config.Identity, log *slog.Logger) ([]cluster.Input, ScaleOut, error) {
	so := opts.ScaleOut
	if opts.Inputs == nil {
		key, db, rp, err := cfg.InputKey()
		if err != nil {
			return nil, so, nil // no input
		}
		so = ScaleOut{PartitionKey: key, DB: db, RP: rp}
	}
	if so.PartitionKey == "" {
		so.PartitionKey = config.DefaultPartitionKey
	}
	if so.DB == "" {
		so.DB = "telegraf"
	}
	if so.RP == "" {
		so.RP = "autogen"
	}
	if opts.Inputs != nil {
		return opts.Inputs, so, nil
	}
	logf := func(format string, args ...any) { log.Warn(fmt.Sprintf(format, args...)) }
	switch {
	case cfg.NATSInput.Enabled:
		c := cfg.NATSInput.Config
		if c.Instance == "" {
			c.Instance = id.ServerID
		}
		in, err := natsin.New(c, natsin.WithLog(logf))
		if err != nil {
			return nil, so, err // the input names [nats-input] and the key
		}
		log.Info("reading a NATS JetStream stream, partitioned by "+so.PartitionKey, "stream", c.WithDefaults().Stream, "instance", c.Instance)
		return []cluster.Input{in}, so, nil
	case cfg.KafkaInput.Enabled:
		c := cfg.KafkaInput.Config
		if c.Instance == "" {
			c.Instance = id.ServerID
		}
		c.Log = logf
		in, err := kafkain.New(c)
		if err != nil {
			return nil, so, err // the input names [kafka-input] and the key
		}
		log.Info("reading a Kafka topic as a consumer group, partitioned by "+so.PartitionKey, "topic", c.WithDefaults().Topic, "group", c.WithDefaults().Group, "instance", c.Instance)
		return []cluster.Input{in}, so, nil
	}
	return nil, so, errors.New("no broker input")
}
