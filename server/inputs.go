package server

import (
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
	if opts.Inputs != nil {
		so := opts.ScaleOut
		if so.PartitionKey == "" {
			so.PartitionKey = config.DefaultPartitionKey
		}
		if so.DB == "" {
			so.DB = natsin.DefaultDB
		}
		if so.RP == "" {
			so.RP = natsin.DefaultRP
		}
		return opts.Inputs, so, nil
	}
	key, db, rp, ok := cfg.InputKey()
	if !ok {
		return nil, ScaleOut{}, nil
	}
	so := ScaleOut{PartitionKey: key, DB: db, RP: rp}
	logf := func(format string, args ...any) { log.Warn(fmt.Sprintf(format, args...)) }
	// Errors of New name the section and the key.
	if cfg.NATSInput.Enabled {
		c := cfg.NATSInput.Config
		if c.Instance == "" {
			c.Instance = id.ServerID
		}
		in, err := natsin.New(c, natsin.WithLog(logf))
		if err != nil {
			return nil, so, err
		}
		log.Info("reading a NATS JetStream stream, partitioned by "+key, "stream", in.Config().Stream, "instance", c.Instance)
		return []cluster.Input{in}, so, nil
	}
	c := cfg.KafkaInput.Config
	if c.Instance == "" {
		c.Instance = id.ServerID
	}
	c.Log = logf
	in, err := kafkain.New(c)
	if err != nil {
		return nil, so, err
	}
	c = c.WithDefaults()
	log.Info("reading a Kafka topic as a consumer group, partitioned by "+key, "topic", c.Topic, "group", c.Group, "instance", c.Instance)
	return []cluster.Input{in}, so, nil
}
