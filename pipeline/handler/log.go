package handler

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// The log kind appends each event's JSON and a newline to a file, as
// Kapacitor's .log() does (alert.md §13.2): the path must be absolute and
// a new file gets mode 0600 unless mode says otherwise. The file is opened
// for each event, so it may be rotated or removed while tickrun runs.
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
		open: func(o opts, _ *Env) (*endpoint, error) {
			path, _ := o.string("path", true)
			mode, _ := o.int("mode", 0o600)
			w := &logFile{path: path, mode: os.FileMode(mode)}
			return &endpoint{target: path, suffix: "\n", try: w.try}, nil
		},
	})
}

type logFile struct {
	path string
	mode os.FileMode
}

func (w *logFile) try(_ context.Context, payload []byte) error {
	f, err := os.OpenFile(w.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, w.mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(payload); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
