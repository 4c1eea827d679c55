package udf

import (
	"errors"
	"fmt"
	"time"
)

// Config is one `[udf.functions.NAME]` section of kapacitor.conf: either a
// program to start for each use (Prog, Args, Env) or the path of a Unix
// socket to connect to for each use (Socket), and the keepalive timeout.
type Config struct {
	Prog    string            // program; started once per use, stdin and stdout carry the protocol
	Args    []string          // its arguments
	Env     map[string]string // added to the environment tickrun runs in
	Socket  string            // path of a Unix socket, instead of Prog
	Timeout time.Duration     // keepalive timeout, required, more than 1ms
}

// Validate checks c as Kapacitor does (services/udf/config.go): the timeout
// is more than a millisecond, and either a program or a socket is given, not
// both. The messages are Kapacitor's.
func (c Config) Validate() error {
	if c.Timeout <= time.Millisecond {
		return fmt.Errorf("timeout is too small: %s", c.Timeout)
	}
	if c.Socket != "" {
		if c.Prog != "" || len(c.Args) != 0 || len(c.Env) != 0 {
			return errors.New("both socket and process config provided")
		}
	} else if c.Prog == "" {
		return errors.New("must set either prog or socket")
	}
	return nil
}
