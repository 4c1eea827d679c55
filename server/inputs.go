package server

import (
	"github.com/tickrun/tickrun/server/cluster"
	"github.com/tickrun/tickrun/server/config"
)

// buildInputs returns the broker inputs of the configuration (or of the
// options, for tests) and where their points go.
func buildInputs(cfg *config.Config, opts Options, id config.Identity) ([]cluster.Input, ScaleOut, error) {
	so := opts.ScaleOut
	if so.PartitionKey == "" {
		so.PartitionKey = "host"
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
	return nil, so, nil
}
