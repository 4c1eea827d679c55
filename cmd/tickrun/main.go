// Command tickrun runs TICKscript tasks over line protocol, offline, with
// Kapacitor's semantics and alert JSON.
//
//	tickrun run [flags] SCRIPT.tick < points.lp
//	tickrun check SCRIPT.tick...
//
// This file holds only flags and wiring; the work is done by package
// pipeline.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/willabides/kongplete"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // I/O error, a task stopped by a node
	exitScript = 2 // the script (or a handler file) is invalid
	// exitDropped: the run went through, but some alert could not be
	// delivered (queue full, retries exhausted, or still queued at the
	// drain timeout).
	exitDropped = 3
)

type cli struct {
	Version kong.VersionFlag `name:"version" help:"Print the version and exit."`

	Run     runCmd     `cmd:"" help:"Run a script over line protocol read from stdin."`
	Check   checkCmd   `cmd:"" help:"Parse and compile scripts without running them; exit 2 on any problem."`
	Fmt     fmtCmd     `cmd:"" help:"Format scripts canonically (Kapacitor's tickfmt style)."`
	Graph   graphCmd   `cmd:"" help:"Print a script's pipeline as Graphviz DOT or Mermaid."`
	Test    testCmd    `cmd:"" help:"Run test cases offline and compare the alerts with expected.jsonl."`
	Explain explainCmd `cmd:"" help:"Read line protocol from stdin and tell, per alert id, why events were (not) sent."`
	Serve   serveCmd   `cmd:"" help:"Run as a server, a drop-in for kapacitord: the kapacitor CLI and Telegraf talk to it."`

	VersionCmd  struct{}                     `cmd:"" name:"version" help:"Print the version (the module version of the build)."`
	Help        struct{}                     `cmd:"" name:"help" help:"Show the commands and their flags."`
	Completions kongplete.InstallCompletions `cmd:"" name:"install-completions" help:"Install shell completion for tickrun (bash, zsh, fish)."`
}

// version is the module version of the build ("(devel)" in a checkout),
// with the commit when the build recorded one.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "tickrun (unknown version)"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return "tickrun " + v + " (" + info.GoVersion + ")"
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program behind main, callable from tests.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	var c cli
	exited := false
	parser, err := kong.New(&c, kong.Name("tickrun"),
		kong.Description("Run TICKscript (Kapacitor) tasks over line protocol, offline."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(c int) { exited, code = true, c; panic(exitPanic{}) }),
		kong.Vars{"version": version()},
		kong.UsageOnError())
	if err != nil {
		fmt.Fprintln(stderr, "tickrun:", err)
		return exitFailed
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(exitPanic); !ok || !exited {
				panic(r)
			}
		}
	}()
	// Shell completion: the shell runs tickrun with COMP_LINE set.
	kongplete.Complete(parser, kongplete.WithExitFunc(func(c int) { exited, code = true, c; panic(exitPanic{}) }))
	if len(args) == 0 {
		// A bare tickrun shows what it can do.
		kctx, _ := kong.Trace(parser, nil)
		kctx.PrintUsage(false)
		return exitScript
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintln(stderr, "tickrun:", err)
		return exitScript
	}
	switch kctx.Command() {
	case "run <SCRIPT.tick>":
		return c.Run.run(stdin, stdout, stderr)
	case "check <SCRIPT.tick>":
		return c.Check.run(stdout, stderr)
	case "fmt <SCRIPT.tick>":
		return c.Fmt.run(stdout, stderr)
	case "graph <SCRIPT.tick>":
		return c.Graph.run(stdout, stderr)
	case "test <DIR>":
		return c.Test.run(stdout, stderr)
	case "explain <SCRIPT.tick>":
		return c.Explain.run(stdin, stdout, stderr)
	case "serve":
		return c.Serve.run(stderr)
	case "version":
		fmt.Fprintln(stdout, version())
		return exitOK
	case "help":
		root, _ := kong.Trace(parser, nil)
		root.PrintUsage(false)
		return exitOK
	case "install-completions":
		if err := kctx.Run(); err != nil {
			fmt.Fprintln(stderr, "tickrun:", err)
			return exitFailed
		}
		return exitOK
	}
	fmt.Fprintln(stderr, "tickrun: unknown command", kctx.Command())
	return exitScript
}

type exitPanic struct{}

// interruptible returns a reader that reports context.Canceled once ctx is
// done, so a signal ends the input like EOF would. Standard input that is a
// pipe, FIFO or terminal is switched to non-blocking mode so that Go's
// poller can interrupt a read that waits for data; the returned function
// restores it.
func interruptible(ctx context.Context, r io.Reader) (io.Reader, func()) {
	restore := func() {}
	if f, ok := r.(*os.File); ok && !isRegular(f) {
		fd := int(f.Fd())
		if err := syscall.SetNonblock(fd, true); err == nil {
			pollable := os.NewFile(uintptr(fd), f.Name())
			// The second *os.File shares the descriptor: keep it reachable
			// so its finalizer never closes the descriptor under f.
			keepFiles = append(keepFiles, pollable)
			restore = func() { syscall.SetNonblock(fd, false) }
			go func() {
				<-ctx.Done()
				pollable.SetReadDeadline(time.Now()) // ends a pending read (pipes, FIFOs, terminals)
			}()
			r = pollable
		}
	}
	return &ctxReader{ctx: ctx, r: r}, restore
}

// keepFiles holds the pollable twins of standard input (see interruptible).
var keepFiles []*os.File

// isRegular reports whether f is a regular file, whose reads never wait.
func isRegular(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode().IsRegular()
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && c.ctx.Err() != nil {
		err = c.ctx.Err()
	}
	return n, err
}
