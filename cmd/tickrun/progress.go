package main

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
)

// progress shows, when stderr is a terminal, how a long run goes (points
// and alerts so far, points per second), and hints, when stdin is a
// terminal and nothing arrives, that tickrun is waiting for line protocol.
type progress struct {
	reader io.Reader // counts what is read
	stop   func()
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// startProgress starts the progress line and the stdin hint where they
// apply (stdin and stderr as given to the command).
func startProgress(l *loaded, in io.Reader, stdin io.Reader, stderr io.Writer) *progress {
	c := &countingReader{r: in}
	p := &progress{reader: c, stop: func() {}}
	hint, show := isTerminal(stdin), isTerminal(stderr)
	if !hint && !show {
		return p
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	p.stop = func() {
		close(done)
		<-finished
	}
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		start, shown := time.Now(), false
		for {
			select {
			case <-done:
				if shown {
					fmt.Fprint(stderr, "\r\033[K")
				}
				return
			case now := <-tick.C:
				if hint && c.n.Load() == 0 && now.Sub(start) >= 2*time.Second {
					fmt.Fprintln(stderr, "tickrun: waiting for line protocol on stdin (end it with Ctrl-D); to run over a file: tickrun run script.tick < points.lp")
					hint = false
				}
				if show && c.n.Load() > 0 {
					st := l.task.Stats()
					rate := float64(st.Points) / now.Sub(start).Seconds()
					fmt.Fprintf(stderr, "\r\033[Ktickrun: %d points, %d alerts, %.0f points/s", st.Points, st.Events, rate)
					shown = true
				}
			}
		}
	}()
	return p
}
