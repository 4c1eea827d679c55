package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tickrun/tickrun/server"
	"github.com/tickrun/tickrun/server/config"
)

// serveCmd is `tickrun serve`: a drop-in for kapacitord.
type serveCmd struct {
	Config      string `name:"config" placeholder:"FILE" help:"A kapacitor.conf (also KAPACITOR_CONFIG_PATH). Without one: 127.0.0.1:9092, state in ./tickrun-data."`
	Bind        string `name:"bind" placeholder:"ADDR" help:"[http] bind-address: where the API listens (kapacitord's default :9092)."`
	DataDir     string `name:"data-dir" placeholder:"DIR" help:"data_dir: the server identity and, by default, the state file."`
	Hostname    string `name:"hostname" help:"hostname: shown in alert details and /debug/vars."`
	MaxBodySize int64  `name:"max-body-size" placeholder:"BYTES" help:"Largest request body; larger ones get 413 (default 25 MB)."`
	LogFormat   string `name:"log-format" default:"logfmt" enum:"logfmt,json" help:"Log records as logfmt or JSON, on stderr."`
}

func (c *serveCmd) run(stderr io.Writer) int {
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if c.LogFormat == "json" {
		h = slog.NewJSONHandler(stderr, nil)
	}
	cfg, err := c.load()
	if err != nil {
		fmt.Fprintln(stderr, "tickrun serve:", err)
		return exitScript
	}
	if notice := cfg.Resolve(); notice != "" {
		fmt.Fprintln(stderr, notice)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	// SIGHUP applies the [load] directory again, as with kapacitord.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer func() {
		signal.Stop(hup)
		close(hup)
	}()
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default: // a reload is pending already
			}
		}
	}()
	if err := server.Run(ctx, server.Options{Config: cfg, Logger: slog.New(h), Reload: reload}); err != nil {
		fmt.Fprintln(stderr, "tickrun serve:", err)
		return exitFailed
	}
	return exitOK
}

// load reads the configuration: the file, then KAPACITOR_* variables,
// then the flags, each overriding the one before.
func (c *serveCmd) load() (*config.Config, error) {
	path := c.Config
	if path == "" {
		path = os.Getenv("KAPACITOR_CONFIG_PATH")
	}
	cfg := config.Local()
	if path != "" {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return nil, err
		}
	}
	if err := cfg.ApplyEnv(os.Environ()); err != nil {
		return nil, err
	}
	if c.Bind != "" {
		cfg.HTTP.BindAddress = c.Bind
	}
	if c.DataDir != "" {
		cfg.DataDir = c.DataDir
	}
	if c.Hostname != "" {
		cfg.Hostname = c.Hostname
	}
	if c.MaxBodySize > 0 {
		cfg.HTTP.MaxBodySize = c.MaxBodySize
	}
	return cfg, nil
}
