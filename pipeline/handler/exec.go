package handler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/tickrun/tickrun/pipeline/deliver"
)

// The exec kind runs a program once per event with the event's JSON and a
// newline on stdin (alert.md §13.3). Its output is logged only when it
// fails. A run that exits non-zero or outlives timeout (default 10s) is
// retried; a program that cannot be started is not.
func init() {
	register(&Kind{
		Name: "exec", Doc: "runs a program per event with the event's JSON and a newline on stdin",
		Property: &Property{Name: "exec", Args: []string{"prog"}, Variadic: "args"},
		Options: []Option{
			{Name: "prog", Type: String, Doc: "the program"},
			{Name: "args", Type: Strings, Doc: "its arguments"},
			{Name: "timeout", Type: Duration, Doc: "how long one run may take", Default: "10s"},
		},
		check: func(o opts) error {
			_, err := o.string("prog", true)
			return err
		},
		open: func(o opts, _ *Env) (*endpoint, error) {
			prog, _ := o.string("prog", true)
			args, _ := o.strings("args")
			timeout, _ := o.duration("timeout", 10*time.Second)
			r := &execRun{prog: prog, args: args, timeout: timeout}
			return &endpoint{target: strings.Join(append([]string{prog}, args...), " "), suffix: "\n", try: r.try}, nil
		},
	})
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
		return deliver.Permanent(err)
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
