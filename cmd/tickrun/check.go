package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

type checkCmd struct {
	Scripts []string          `arg:"" name:"SCRIPT.tick" help:"Scripts to check."`
	Handler []string          `name:"handler" placeholder:"FILE" help:"Topic handler files to check too."`
	Config  string            `name:"config" placeholder:"FILE" help:"A kapacitor.conf to check the scripts' handlers against (without it, every handler section counts as enabled)."`
	Var     map[string]string `name:"var" placeholder:"NAME=VALUE" help:"Values of typed script vars."`
	JSON    bool              `name:"json" help:"Print problems as JSON objects, one per line, for editors."`
}

// problem is one finding of check --json.
type problem struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Severity string `json:"severity"` // "error"; run would treat "per-point" ones as warnings
	Message  string `json:"message"`
}

func (c *checkCmd) run(stdout, stderr io.Writer) int {
	code := exitOK
	handlers, ok := loadHandlers(c.Handler, stderr)
	if !ok {
		code = exitScript
	}
	conf, ok := loadConfig(c.Config, stderr)
	if !ok {
		return exitScript
	}
	if conf == nil {
		conf = &kapconf.Config{Lenient: true}
	}
	for _, path := range c.Scripts {
		src, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(stderr, "tickrun:", err)
			code = exitScript
			continue
		}
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		task, err := pipeline.Compile(name, path, string(src), pipeline.Options{Vars: c.Var, Handlers: handlers, Config: conf})
		if err == nil {
			task.Close(context.Background())
		}
		var problems ast.ErrorList
		switch e := err.(type) {
		case nil:
		case ast.ErrorList:
			problems = append(problems, e...)
		case *ast.Error:
			problems = append(problems, e)
		default:
			fmt.Fprintf(stderr, "%s: %v\n", path, err)
			code = exitScript
		}
		for _, w := range task.Warnings() {
			strict := *w
			strict.Warning = false
			problems = append(problems, &strict)
		}
		if len(problems) > 0 {
			problems.Sort()
			code = exitScript
			if c.JSON {
				enc := json.NewEncoder(stdout)
				for _, p := range problems {
					enc.Encode(problem{File: path, Line: p.Pos.Line, Column: p.Pos.Col, Severity: "error", Message: p.Msg})
				}
				continue
			}
			fmt.Fprint(stderr, task.ErrorText(problems))
			continue
		}
		if !c.JSON {
			fmt.Fprintf(stdout, "%s: ok\n", path)
		}
	}
	return code
}
