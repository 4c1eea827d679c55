package udf

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sort"
	"sync"
	"time"
)

// process is a UDF program started for one use: the protocol on its stdin
// and stdout, its stderr read line by line. The parent's ends of the pipes
// are *os.File from os.Pipe, which Go polls, so writes take deadlines and
// closing a pipe unblocks a read or write in progress.
type process struct {
	cmd        *exec.Cmd
	stdin      *os.File // write end of the process's stdin
	stdout     *os.File // read end of its stdout
	stderr     *os.File // read end of its stderr
	stderrDone chan struct{}
	done       chan struct{} // closed when the process has been waited for
	waitErr    error
	closeIn    sync.Once
	closeErr   error
}

var _ transport = (*process)(nil)

// startProcess starts cfg.Prog with cfg.Args, in tickrun's environment plus
// cfg.Env (server.md §6: Kapacitor appends the configured variables to its
// own), and hands each line of its stderr to onLine.
func startProcess(cfg Config, onLine func(string)) (*process, error) {
	cmd := exec.Command(cfg.Prog, cfg.Args...)
	cmd.Env = os.Environ()
	keys := make([]string, 0, len(cfg.Env))
	for k := range cfg.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+cfg.Env[k])
	}
	var files []*os.File // every end of the three pipes
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	inR, inW, err := pipe()
	if err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	outR, outW, err := pipe()
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("start: %w", err)
	}
	errR, errW, err := pipe()
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("start: %w", err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	if err := cmd.Start(); err != nil {
		closeAll()
		return nil, fmt.Errorf("start: %w", err)
	}
	// The child has its ends; the parent keeps only its own, so the
	// child's exit is an end of file here.
	inR.Close()
	outW.Close()
	errW.Close()
	p := &process{
		cmd:        cmd,
		stdin:      inW,
		stdout:     outR,
		stderr:     errR,
		stderrDone: make(chan struct{}),
		done:       make(chan struct{}),
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	go p.readStderr(onLine)
	return p, nil
}

// readStderr hands on each line of stderr until it ends.
func (p *process) readStderr(onLine func(string)) {
	defer close(p.stderrDone)
	r := bufio.NewReaderSize(p.stderr, 4096)
	for {
		line, err := r.ReadString('\n')
		if n := len(line); n > 0 {
			if line[n-1] == '\n' {
				line = line[:n-1]
			}
			onLine(line)
		}
		if err != nil {
			return
		}
	}
}

func (p *process) reader() io.Reader { return p.stdout }

func (p *process) write(b []byte, deadline time.Time) error {
	if err := p.stdin.SetWriteDeadline(deadline); err != nil {
		return err
	}
	_, err := p.stdin.Write(b)
	return err
}

func (p *process) closeInput() error {
	p.closeIn.Do(func() { p.closeErr = p.stdin.Close() })
	return p.closeErr
}

func (p *process) kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
	}
	p.closeInput()
	p.stdout.Close()
}

func (p *process) exited() <-chan struct{} { return p.done }

// exitErr returns how the process ended: nil for status 0, else
// "exit status N" or "signal: killed".
func (p *process) exitErr() error { return p.waitErr }

// release waits for the killed process to be reaped and for its stderr to
// end (a second at most: a child of the process may hold it open).
func (p *process) release() {
	<-p.done
	select {
	case <-p.stderrDone:
	case <-time.After(time.Second):
	}
	p.stderr.Close()
	<-p.stderrDone
}

// socket is a connection to a UDF served on a Unix socket.
type socket struct {
	conn *net.UnixConn
}

var _ transport = (*socket)(nil)

// dialSocket connects to the Unix socket at path.
func dialSocket(path string, timeout time.Duration) (*socket, error) {
	conn, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return &socket{conn: conn.(*net.UnixConn)}, nil
}

func (s *socket) reader() io.Reader { return s.conn }

func (s *socket) write(b []byte, deadline time.Time) error {
	if err := s.conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	_, err := s.conn.Write(b)
	return err
}

func (s *socket) closeInput() error       { return s.conn.CloseWrite() }
func (s *socket) kill()                   { s.conn.Close() }
func (s *socket) exited() <-chan struct{} { return nil }
func (s *socket) exitErr() error          { return nil }
func (s *socket) release()                {}
