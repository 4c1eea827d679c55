package udf

import (
	"errors"
	"fmt"
	"time"
)

// Error is how a Client fails: the UDF's name and what went wrong. It
// renders as `udf NAME: CAUSE`, or `udf NAME exited: STATUS` when the UDF's
// process ended on its own.
type Error struct {
	Name   string // the UDF's name, NAME of [udf.functions.NAME]
	Exited bool   // the process ended before it was closed; Err is its exit status
	Err    error  // the cause; test it with errors.Is against the Err* sentinels
	Stderr string // the last lines the process wrote to stderr, for the log
}

// Error renders the error as `udf NAME: CAUSE` or `udf NAME exited: STATUS`.
func (e *Error) Error() string {
	if e.Exited {
		return "udf " + e.Name + " exited: " + e.Err.Error()
	}
	return "udf " + e.Name + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// The causes of an *Error that callers may want to tell apart.
var (
	// ErrTimeout: the UDF did not answer a keepalive or a request, or did
	// not read what was written to it, within its timeout; or it did not
	// end within the grace period after its input was closed.
	ErrTimeout = errors.New("timeout")
	// ErrBadMessage: the UDF wrote something that is not a protocol message.
	ErrBadMessage = errors.New("bad message")
	// ErrReported: the UDF answered with an error message.
	ErrReported = errors.New("error")
	// ErrInit: the UDF refused the init request.
	ErrInit = errors.New("init failed")
	// ErrRestore: the UDF refused to restore a snapshot.
	ErrRestore = errors.New("restore failed")
	// ErrClosed: the Client was closed or aborted before the call.
	ErrClosed = errors.New("closed")
	// ErrConnection: the UDF closed its side of a socket, or the
	// connection broke.
	ErrConnection = errors.New("connection lost")
)

// timeoutError is an ErrTimeout with what timed out: "keepalive timeout
// after 10s".
type timeoutError struct {
	what  string
	after time.Duration
}

func (e timeoutError) Error() string        { return fmt.Sprintf("%s timeout after %s", e.what, e.after) }
func (e timeoutError) Is(target error) bool { return target == ErrTimeout }

// badMessage returns an ErrBadMessage with its detail: "bad message: ...".
func badMessage(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadMessage, fmt.Sprintf(format, args...))
}
