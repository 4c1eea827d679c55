package handler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tickrun/tickrun/pipeline/deliver"
)

// The log kind appends each event's JSON and a newline to a file, as
// Kapacitor's .log() does (alert.md §13.2): the path must be absolute (it
// is cleaned: /etc/../tmp/x is /tmp/x) and a new file gets mode 0600
// unless mode says otherwise. The file is opened for each event, so it may
// be rotated or removed while tickrun runs.
func init() {
	register(&Kind{
		Name: "log", Doc: "appends each event's JSON and a newline to a file",
		Property: &Property{Name: "log", Args: []string{"path"}},
		Options: []Option{
			{Name: "path", Type: String, Doc: "the file, an absolute path"},
			{Name: "mode", Type: Int, Doc: "permissions of the file when it is created", Default: "0600", Prop: "mode"},
		},
		check: func(o opts) error {
			path, err := o.string("path", true)
			if err != nil {
				return err
			}
			if !filepath.IsAbs(path) {
				return fmt.Errorf("path: log path must be absolute, got %q", path)
			}
			if mode, _ := o.int("mode", 0o600); mode <= 0 || mode > 0o777 {
				return fmt.Errorf("mode: want file permissions such as 0600, got %#o", mode)
			}
			return nil
		},
		open: func(o opts, env *Env) (*endpoint, error) {
			path, _ := o.string("path", true)
			path = filepath.Clean(path)
			mode, _ := o.int("mode", 0o600)
			w := &logFile{path: path, mode: os.FileMode(mode), timeout: deliveryOptions(env, o).WriteTimeout}
			return &endpoint{target: path, suffix: "\n", try: w.try}, nil
		},
	})
}

type logFile struct {
	path    string // cleaned, absolute
	mode    os.FileMode
	timeout time.Duration // per write, where the file can wait (a FIFO)
}

// try appends payload. The file is opened without following a symbolic
// link (a link is an error naming the path, not retried) and without
// blocking: a FIFO with no reader fails at once (ENXIO) instead of holding
// the delivery goroutine, and is retried like any failed try; a write to a
// FIFO that waits longer than the write timeout fails too.
func (w *logFile) try(_ context.Context, payload []byte) error {
	f, err := os.OpenFile(w.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, w.mode)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return deliver.Permanent(fmt.Errorf("%s is a symbolic link: .log() does not follow links", w.path))
		}
		if errors.Is(err, syscall.ENXIO) {
			return fmt.Errorf("%s is a FIFO with no reader", w.path)
		}
		return err
	}
	f.SetWriteDeadline(time.Now().Add(w.timeout)) // files without a poller ignore it
	if _, err := f.Write(payload); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
