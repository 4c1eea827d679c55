package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/influx"
	"github.com/tickrun/tickrun/pipeline/kapconf"
	"github.com/tickrun/tickrun/server/api"
	"github.com/tickrun/tickrun/server/cluster"
	"github.com/tickrun/tickrun/server/config"
	"github.com/tickrun/tickrun/server/load"
	"github.com/tickrun/tickrun/server/store"
)

// Options configure a server.
type Options struct {
	Config *config.Config // resolved (config.Resolve)
	Logger *slog.Logger   // nil: text logs to stderr
	// LogLevel, if set, is the level of Logger's handler, which
	// `kapacitor level` (POST /kapacitor/v1/loglevel) changes.
	LogLevel *slog.LevelVar
	// Listener, if set, is used instead of listening on
	// Config.HTTP.BindAddress (tests pass one on a free port).
	Listener net.Listener
	// DrainTimeout bounds how long Shutdown waits for handlers to
	// deliver what they hold; 0 takes [http] shutdown-timeout.
	DrainTimeout time.Duration
	Cmdline      []string // for /debug/vars; nil: os.Args
	// Reload, if set, makes Run apply the [load] directory again at each
	// receive (tickrun serve sends on SIGHUP, as kapacitord reloads).
	Reload <-chan struct{}
	// Inputs, if set, are the broker inputs instead of those of the
	// [nats-input] and [kafka-input] sections (tests); ScaleOut then says
	// where their points go.
	Inputs   []cluster.Input
	ScaleOut ScaleOut
}

// ScaleOut is where the points of the broker inputs go and how the
// stream is partitioned.
type ScaleOut struct {
	PartitionKey string // the tag messages are keyed by; default "host"
	DB, RP       string // default "telegraf", "autogen"
}

// Server is a running `tickrun serve`.
type Server struct {
	opts     Options
	log      *slog.Logger
	store    *store.Store
	engine   *engine
	api      *api.API
	http     *http.Server
	ln       net.Listener
	identity config.Identity
	done     chan struct{}
	serveErr error
	once     sync.Once
	reloadMu sync.Mutex // one load at a time

	inputs     []cluster.Input
	stopInputs context.CancelFunc
	inputsDone sync.WaitGroup
}

// New opens the state, restarts the enabled tasks and listens; Serve
// then answers requests.
func New(opts Options) (*Server, error) {
	cfg := opts.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if opts.Cmdline == nil {
		opts.Cmdline = os.Args
	}
	id, err := config.LoadIdentity(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	var handlers *kapconf.Config
	if cfg.File != "" {
		if handlers, err = kapconf.Load(cfg.File); err != nil {
			return nil, err
		}
	}
	st, err := store.Open(cfg.Storage.BoltDB)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, log: log, store: st, identity: id, done: make(chan struct{})}
	s.engine = newEngine(engineOptions{
		InfluxDB: influxConfigs(cfg.InfluxDB),
		Server:   alert.ServerInfo{Hostname: cfg.Hostname, ClusterID: id.ClusterID, ServerID: id.ServerID},
		Config:   handlers,
		Log:      &logWriter{log: log},
		Info:     func(format string, args ...any) { log.Info(fmt.Sprintf(format, args...)) },
		Store:    st,
	})
	inputs, so, err := buildInputs(cfg, opts, id, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	if len(inputs) > 0 {
		s.inputs = inputs
		s.engine.scale = newScaleOut(s.engine, so.PartitionKey, so.DB, so.RP, id.ServerID)
	}
	m := &metrics{e: s.engine}
	s.api = api.New(api.Options{
		Store: st, Engine: s.engine, Hostname: cfg.Hostname, ClusterID: id.ClusterID, ServerID: id.ServerID,
		DefaultRP: cfg.DefaultRetentionPolicy, MaxBodySize: cfg.HTTP.MaxBodySize, MaxScriptSize: cfg.HTTP.MaxScriptSize,
		RejectPartialWrites: cfg.HTTP.PartialWrites == "kapacitor",
		AuthEnabled:         cfg.HTTP.AuthEnabled, LogEnabled: cfg.HTTP.LogEnabled, Logger: log, Cmdline: opts.Cmdline,
		Metrics: metricsHandler(m), LogLevel: opts.LogLevel,
	})
	m.api = s.api
	s.restoreTasks()
	if cfg.Load.Enabled {
		s.Reload()
	}
	s.ln = opts.Listener
	if s.ln == nil {
		if s.ln, err = net.Listen("tcp", cfg.HTTP.BindAddress); err != nil {
			s.engine.Close(context.Background())
			st.Close()
			return nil, err
		}
	}
	s.http = &http.Server{Handler: s.api.Handler(), ReadHeaderTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	s.startInputs()
	return s, nil
}

// startInputs runs the broker inputs, once the tasks are started.
func (s *Server) startInputs() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stopInputs = cancel
	for _, in := range s.inputs {
		s.inputsDone.Add(1)
		go func() {
			defer s.inputsDone.Done()
			if err := in.Run(ctx, s.engine.scale); err != nil && ctx.Err() == nil {
				s.log.Error("broker input stopped", "err", err)
			}
		}()
	}
}

// kill stops the broker inputs as a crash would (no last checkpoint,
// nothing acked or committed, leases left to expire) and forgets the
// events they held back; tests then shut the rest down.
func (s *Server) kill() {
	for _, in := range s.inputs {
		in.Kill()
	}
	if s.engine.scale != nil {
		s.engine.scale.crash()
	}
}

// restoreTasks starts the tasks that were enabled when the server
// stopped. A task that no longer starts keeps its status and records the
// error, shown by `kapacitor show`.
func (s *Server) restoreTasks() {
	tasks, err := s.store.Tasks()
	if err != nil {
		s.log.Error("reading tasks", "err", err)
		return
	}
	for _, t := range tasks {
		if !t.Enabled {
			continue
		}
		sp, err := api.Spec(t)
		if err == nil {
			err = s.engine.Start(sp)
		}
		t.Error = ""
		if err != nil {
			s.log.Error("starting task", "task", t.ID, "err", err)
			t.Error = err.Error()
		}
		s.store.PutTask(t)
	}
}

// Reload applies the [load] directory (when [load] enabled is set), as
// kapacitord does at start and on SIGHUP: a bad file is logged and
// skipped, the rest is applied. The result says what changed.
func (s *Server) Reload() load.Result {
	if !s.opts.Config.Load.Enabled {
		return load.Result{}
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	s.log.Info("loading the load directory", "dir", s.opts.Config.Load.Dir)
	l := &load.Loader{Dir: s.opts.Config.Load.Dir, API: s.api.Local(), Store: s.store, Log: s.log}
	res := l.Load()
	s.log.Info("load directory applied", "dir", s.opts.Config.Load.Dir, "applied", len(res.Applied),
		"removed", len(res.Removed), "errors", len(res.Errors))
	return res
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Identity returns the server's cluster and server ids.
func (s *Server) Identity() config.Identity { return s.identity }

// Serve answers requests until Shutdown; it returns nil after a
// shutdown.
func (s *Server) Serve() error {
	err := s.http.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		<-s.done
		return s.serveErr
	}
	return err
}

// Shutdown stops the server in order: writes answer 503 (Telegraf keeps
// its batches and retries), the writes in progress finish, the tasks end
// and their handlers deliver what they hold until the drain timeout
// (what is still queued then is dropped, and counted), the alert states
// are written, and the HTTP server and the state file close. A crash
// (SIGKILL) loses what was queued for handlers and the alert states of
// the last 100 ms.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		timeout := s.opts.DrainTimeout
		if timeout == 0 {
			timeout = time.Duration(s.opts.Config.HTTP.ShutdownTimeout)
		}
		if timeout <= 0 {
			timeout = config.DefaultDrainTimeout
		}
		s.api.Drain()
		dctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		// The inputs hand their shards over (a last checkpoint each)
		// before the tasks end.
		s.stopInputs()
		s.inputsDone.Wait()
		var errs []error
		if e := s.engine.Close(dctx); e != nil {
			errs = append(errs, e)
		}
		if e := s.http.Shutdown(dctx); e != nil {
			errs = append(errs, e)
		}
		if e := s.store.Close(); e != nil {
			errs = append(errs, e)
		}
		err = errors.Join(errs...)
		s.serveErr = err
		close(s.done)
	})
	return err
}

// Run starts a server and serves until ctx is done (SIGTERM), then shuts
// it down.
func Run(ctx context.Context, opts Options) error {
	s, err := New(opts)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve() }()
	s.log.Info("listening", "addr", s.Addr().String(), "data_dir", opts.Config.DataDir,
		"cluster_id", s.identity.ClusterID, "server_id", s.identity.ServerID)
	for loop := true; loop; {
		select {
		case err := <-errc:
			s.Shutdown(context.Background())
			return err
		case <-opts.Reload:
			s.Reload()
		case <-ctx.Done():
			loop = false
		}
	}
	s.log.Info("shutting down: writes answer 503 while handlers drain")
	if err := s.Shutdown(context.Background()); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return <-errc
}

// logWriter turns the engine's log lines into log records.
type logWriter struct {
	log *slog.Logger
	mu  sync.Mutex
	buf []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.log.Warn(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

var _ io.Writer = (*logWriter)(nil)

// influxConfigs converts the [[influxdb]] sections for the engine.
func influxConfigs(sections []config.InfluxDB) []influx.Config {
	var out []influx.Config
	for _, s := range sections {
		out = append(out, influx.Config{Name: s.Name, URLs: s.URLs, Default: s.Default, Disabled: !s.Enabled,
			Username: s.Username, Password: s.Password, Token: s.Token, Timeout: time.Duration(s.Timeout),
			InsecureSkipVerify: s.InsecureSkipVerify, Uncompressed: s.Compression == "none"})
	}
	return out
}
