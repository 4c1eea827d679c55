// Package influxtest starts a real InfluxDB 1.x (Debian's influxd) for a
// test: a temporary config with its meta, data and WAL directories in the
// test's temp dir, HTTP on a free 127.0.0.1 port, and everything else
// (reporting, the monitor store, subscriptions, continuous queries, UDP,
// Graphite, collectd, OpenTSDB) off. It never touches the system service.
//
// When influxd is missing, Start tries `apt-get install -y influxdb` once
// (as root, where apt-get exists); when that fails too the test is skipped
// with the reason.
//
// It imports none of tickrun's packages, so any package's tests may use it.
package influxtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a running influxd.
type Server struct {
	URL      string // http://127.0.0.1:PORT
	Dir      string // its config, data and log
	Username string // the admin user when started with auth, else ""
	Password string

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	logPath string
}

// Options change how the server starts.
type Options struct {
	// Auth turns on HTTP authentication and creates an admin user
	// Username/Password (both required then).
	Auth               bool
	Username, Password string
}

var (
	installOnce sync.Once
	installErr  error
)

// Binary returns the path of influxd, installing Debian's influxdb package
// if it is missing and this process may (root, apt-get present). The error
// says why there is none.
func Binary() (string, error) {
	if p, err := exec.LookPath("influxd"); err == nil {
		return p, nil
	}
	installOnce.Do(func() { installErr = install() })
	if installErr != nil {
		return "", installErr
	}
	p, err := exec.LookPath("influxd")
	if err != nil {
		return "", fmt.Errorf("influxd still not on PATH after installing influxdb: %w", err)
	}
	return p, nil
}

// install runs apt-get install -y influxdb, with an apt-get update first
// when the plain install fails (a fresh machine has no package lists).
func install() error {
	apt, err := exec.LookPath("apt-get")
	if err != nil {
		return errors.New("influxd is not installed and there is no apt-get to install Debian's influxdb package")
	}
	if os.Geteuid() != 0 {
		return errors.New("influxd is not installed and installing Debian's influxdb package needs root (apt-get install -y influxdb)")
	}
	run := func(args ...string) error {
		cmd := exec.Command(apt, args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get %s: %v: %s", strings.Join(args, " "), err, tail(out, 600))
		}
		return nil
	}
	if err := run("install", "-y", "influxdb"); err == nil {
		return nil
	}
	if err := run("update"); err != nil {
		return fmt.Errorf("influxd is not installed: %w", err)
	}
	if err := run("install", "-y", "influxdb"); err != nil {
		return fmt.Errorf("influxd is not installed: %w", err)
	}
	return nil
}

// Start starts influxd for the test and stops it at the test's cleanup.
// It skips the test when influxd cannot be had, and fails it when influxd
// does not come up.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Skipf("no InfluxDB for this test: %v", err)
	}
	if opts.Auth && (opts.Username == "" || opts.Password == "") {
		t.Fatal("influxtest: Auth needs Username and Password")
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(t, bin, opts)
		if err == nil {
			return s
		}
		lastErr = err // most likely a port taken between choosing and binding it
	}
	t.Fatalf("influxtest: influxd did not start: %v", lastErr)
	return nil
}

func start(t testing.TB, bin string, opts Options) (*Server, error) {
	dir, err := os.MkdirTemp(t.TempDir(), "influxd")
	if err != nil {
		return nil, err
	}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	rpcPort, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "influxdb.conf")
	if err := os.WriteFile(conf, []byte(config(dir, httpPort, rpcPort, opts.Auth)), 0o600); err != nil {
		return nil, err
	}
	s := &Server{
		URL:     fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		Dir:     dir,
		exited:  make(chan struct{}),
		logPath: filepath.Join(dir, "influxd.log"),
	}
	logf, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, "-config", conf)
	// A clean environment: influxd reads INFLUXDB_* variables over its
	// config file.
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.Dir = dir
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	if err := s.waitReady(30 * time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w; influxd log: %s", err, s.logTail())
	}
	t.Cleanup(s.stop)
	if opts.Auth {
		// With auth on and no user yet, InfluxDB accepts exactly this.
		q := fmt.Sprintf("CREATE USER %q WITH PASSWORD '%s' WITH ALL PRIVILEGES", opts.Username, strings.ReplaceAll(opts.Password, "'", `\'`))
		if _, err := s.query(q, ""); err != nil {
			return nil, fmt.Errorf("creating the admin user: %w", err)
		}
		s.Username, s.Password = opts.Username, opts.Password
	}
	return s, nil
}

// config is influxd's configuration: everything under dir, HTTP on
// 127.0.0.1:httpPort, the backup RPC on 127.0.0.1:rpcPort, every other
// service off.
func config(dir string, httpPort, rpcPort int, auth bool) string {
	return fmt.Sprintf(`reporting-enabled = false
bind-address = "127.0.0.1:%[3]d"

[meta]
  dir = "%[1]s/meta"
  retention-autocreate = true
  logging-enabled = false

[data]
  dir = "%[1]s/data"
  wal-dir = "%[1]s/wal"
  wal-fsync-delay = "0s"
  query-log-enabled = false
  index-version = "inmem"

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:%[2]d"
  auth-enabled = %[4]t
  log-enabled = false
  pprof-enabled = false
  https-enabled = false

[logging]
  level = "warn"
  suppress-logo = true

[continuous_queries]
  enabled = false

[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[[udp]]
  enabled = false
`, dir, httpPort, rpcPort, auth)
}

// freePort returns a port that was free on 127.0.0.1 a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls /ping until it answers 204, influxd exits, or the
// timeout passes.
func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(s.URL + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("influxd exited: %v", s.waitErr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("influxd did not answer /ping within %s", timeout)
		}
	}
}

// stop ends influxd: SIGTERM, then SIGKILL after 10 s.
func (s *Server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// Stop ends influxd now (it is also stopped at cleanup); later requests
// find the port closed.
func (s *Server) Stop() { s.stop() }

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	return tail(b, 2000)
}

func tail(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// auth sets the admin credentials on a request.
func (s *Server) auth(req *http.Request) {
	if s.Username != "" {
		req.SetBasicAuth(s.Username, s.Password)
	}
}

// query runs q with POST /query and returns the body; an error status is
// an error.
func (s *Server) query(q, db string) ([]byte, error) {
	v := url.Values{"q": {q}, "db": {db}}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.URL+"/query?"+v.Encode(), nil)
	if err != nil {
		return nil, err
	}
	s.auth(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("%s: %s: %s", q, resp.Status, bytes.TrimSpace(body))
	}
	if bytes.Contains(body, []byte(`"error"`)) {
		return body, fmt.Errorf("%s: %s", q, bytes.TrimSpace(body))
	}
	return body, nil
}

// Query runs q (as the admin when auth is on) and returns InfluxDB's JSON
// answer; the test fails on an HTTP error or an "error" in the answer.
func (s *Server) Query(t testing.TB, q string) []byte {
	t.Helper()
	body, err := s.query(q, "")
	if err != nil {
		t.Fatalf("influxtest: %v", err)
	}
	return body
}

// ResetDatabase drops db if it exists and creates it empty.
func (s *Server) ResetDatabase(t testing.TB, db string) {
	t.Helper()
	s.Query(t, fmt.Sprintf("DROP DATABASE %q", db))
	s.Query(t, fmt.Sprintf("CREATE DATABASE %q", db))
}

// Write writes line protocol with nanosecond times to db's default
// retention policy; the test fails unless InfluxDB answers 204.
func (s *Server) Write(t testing.TB, db string, lineProtocol []byte) {
	t.Helper()
	v := url.Values{"db": {db}, "precision": {"ns"}}
	req, err := http.NewRequest(http.MethodPost, s.URL+"/write?"+v.Encode(), bytes.NewReader(lineProtocol))
	if err != nil {
		t.Fatal(err)
	}
	s.auth(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("influxtest: write: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("influxtest: write to %s: %s: %s", db, resp.Status, bytes.TrimSpace(body))
	}
}
