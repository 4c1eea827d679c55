package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// The exec kind runs a program once per event with the event's JSON and a
// newline on stdin (alert.md §13.3). Its output is logged only when it
// fails. A run that exits non-zero or outlives timeout (default 10s) is
// retried; a program that cannot be started is not.
func init() {
	registerHandler("exec", &handlerKind{
		options: []string{"prog", "args", "timeout"},
		check: func(opts map[string]any) error {
			if _, err := optString(opts, "prog", true); err != nil {
				return err
			}
			if _, err := optStrings(opts, "args"); err != nil {
				return err
			}
			d, err := optDuration(opts, "timeout", 10*time.Second)
			if err == nil && d <= 0 {
				err = fmt.Errorf("timeout: must be positive, got %v", d)
			}
			return err
		},
		new: func(opts map[string]any, t *Task, id string) (handler, error) {
			prog, _ := optString(opts, "prog", true)
			args, _ := optStrings(opts, "args")
			timeout, _ := optDuration(opts, "timeout", 10*time.Second)
			r := &execRun{prog: prog, args: args, timeout: timeout}
			return newQueueHandler("exec "+execTarget(opts), "\n", deliveryOptions(t, opts), t, r.try).start(), nil
		},
		target: execTarget,
	})
}

func execTarget(opts map[string]any) string {
	prog, _ := optString(opts, "prog", false)
	args, _ := optStrings(opts, "args")
	return strings.Join(append([]string{prog}, args...), " ")
}

type execRun struct {
	prog    string
	args    []string
	timeout time.Duration
}

func (r *execRun) try(ctx context.Context, payload []byte) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.prog, r.args...)
	cmd.Stdin = bytes.NewReader(payload)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second // children holding the output open do not hold us
	if err := cmd.Start(); err != nil {
		return permanent(err)
	}
	err := cmd.Wait()
	if err == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %v", r.timeout)
	}
	if s := strings.TrimSpace(out.String()); s != "" {
		if len(s) > 500 {
			s = s[:500] + "..."
		}
		return fmt.Errorf("%v; output: %s", err, s)
	}
	return err
}
