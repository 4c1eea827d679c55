package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
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
	LogFormat   string `name:"log-format" placeholder:"FORMAT" help:"[logging] format: logs as logfmt (the default) or json, one record a line."`
	LogLevel    string `name:"log-level" placeholder:"LEVEL" help:"[logging] level: DEBUG, INFO (the default), WARN or ERROR."`
}

func (c *serveCmd) run(stderr io.Writer) int {
	cfg, err := c.load()
	if err != nil {
		fmt.Fprintln(stderr, "tickrun serve:", err)
		return exitScript
	}
	if notice := cfg.Resolve(); notice != "" {
		fmt.Fprintln(stderr, notice)
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "tickrun serve:", err)
		return exitScript
	}
	logger, level, closeLog, err := newLogger(cfg.Logging, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "tickrun serve:", err)
		return exitFailed
	}
	defer closeLog()
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
	if err := server.Run(ctx, server.Options{Config: cfg, Logger: logger, LogLevel: level, Reload: reload}); err != nil {
		logger.Error("tickrun serve stopped", "err", err)
		fmt.Fprintln(stderr, "tickrun serve:", err)
		return exitFailed
	}
	return exitOK
}

// newLogger makes the server's logger from [logging]: where (STDERR,
// STDOUT or a file, appended to), the least level (changed at run time by
// `kapacitor level`) and the format, logfmt or JSON.
func newLogger(c config.Logging, stderr io.Writer) (*slog.Logger, *slog.LevelVar, func(), error) {
	var w io.Writer
	closeLog := func() {}
	switch strings.ToUpper(c.File) {
	case "", "STDERR":
		w = stderr
	case "STDOUT":
		w = os.Stdout
	default:
		f, err := os.OpenFile(c.File, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("[logging] file: %w", err)
		}
		w, closeLog = f, func() { f.Close() }
	}
	level := new(slog.LevelVar)
	l, _ := c.SlogLevel()
	level.Set(l)
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h), level, closeLog, nil
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
	if c.LogFormat != "" {
		cfg.Logging.Format = c.LogFormat
	}
	if c.LogLevel != "" {
		cfg.Logging.Level = c.LogLevel
	}
	return cfg, nil
}
