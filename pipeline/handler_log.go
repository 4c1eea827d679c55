package pipeline

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
	registerHandler("log", &handlerKind{
		options: []string{"path", "mode"},
		check: func(opts map[string]any) error {
			path, err := optString(opts, "path", true)
			if err != nil {
				return err
			}
			if !filepath.IsAbs(path) {
				return fmt.Errorf("path: log path must be absolute, got %q", path)
			}
			mode, err := optInt(opts, "mode", 0o600)
			if err != nil {
				return err
			}
			if mode <= 0 || mode > 0o777 {
				return fmt.Errorf("mode: want file permissions such as 0600, got %#o", mode)
			}
			return nil
		},
		new: func(opts map[string]any, t *Task, id string) (handler, error) {
			path, _ := optString(opts, "path", true)
			mode, _ := optInt(opts, "mode", 0o600)
			w := &logFile{path: path, mode: os.FileMode(mode)}
			return newQueueHandler("log "+path, "\n", deliveryOptions(t, opts), t, w.try).start(), nil
		},
		target: func(opts map[string]any) string { s, _ := opts["path"].(string); return s },
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
