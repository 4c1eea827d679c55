package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

type checkCmd struct {
	Scripts []string          `arg:"" name:"SCRIPT.tick" help:"Scripts to check."`
	Handler []string          `name:"handler" placeholder:"FILE" help:"Topic handler files to check too."`
	Config  string            `name:"config" placeholder:"FILE" help:"A kapacitor.conf to check the scripts' handlers against (without it, every handler section counts as enabled)."`
	Var     map[string]string `name:"var" placeholder:"NAME=VALUE" help:"Values of typed script vars."`
	Vars    string            `name:"vars" placeholder:"FILE" help:"A vars file as for kapacitor define -vars; without values for its typed vars a script is checked as a template."`
	JSON    bool              `name:"json" help:"Print problems as JSON objects, one per line, for editors."`
	// ShardKey asks how a scaled-out serve runs each script (issue 15).
	ShardKey string `name:"shard-key" placeholder:"TAG" help:"Say how tickrun serve with a broker input partitioned by this tag runs each script: sharded on every instance, or on one instance, and why."`
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
	var given map[string]pipeline.Var
	if c.Vars != "" {
		data, err := os.ReadFile(c.Vars)
		if err == nil {
			given, err = pipeline.ParseVars(c.Vars, data)
		}
		if err != nil {
			fmt.Fprintln(stderr, "tickrun:", err)
			return exitScript
		}
	}
	for _, path := range c.Scripts {
		src, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(stderr, "tickrun:", err)
			code = exitScript
			continue
		}
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		values, template := c.templateVars(path, string(src), given)
		task, err := pipeline.Compile(name, path, string(src), pipeline.Options{Vars: c.Var, VarValues: values, Handlers: handlers, Config: conf})
		mode := ""
		if err == nil {
			if c.ShardKey != "" {
				mode = shardingText(task, c.ShardKey)
			}
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
			if mode != "" {
				fmt.Fprintf(stdout, "  %s\n", mode)
			}
			if template != nil {
				printTemplate(stdout, template)
			}
		}
	}
	return code
}

// templateVars returns the var values to check a script with: those
// given, and for a template (typed vars with no value given) a
// placeholder of each missing var's type, with the template's vars to
// report; vars is nil for a script that is not a template.
func (c *checkCmd) templateVars(path, src string, given map[string]pipeline.Var) (map[string]pipeline.Var, []pipeline.VarInfo) {
	decl, err := pipeline.DeclaredVars(path, src)
	if err != nil {
		return given, nil // Compile reports the syntax error
	}
	values := map[string]pipeline.Var{}
	for k, v := range given {
		values[k] = v
	}
	template := false
	for _, d := range decl {
		_, byFlag := c.Var[d.Name]
		_, byFile := given[d.Name]
		if d.Required && !byFlag && !byFile {
			template = true
			values[d.Name] = pipeline.Placeholder(d.Name, d.Type)
		}
	}
	if !template {
		return given, nil
	}
	return values, decl
}

// printTemplate lists a template's vars as kapacitor show-template does.
func printTemplate(w io.Writer, vars []pipeline.VarInfo) {
	fmt.Fprintln(w, "  a template; its vars (a task gives them with --vars FILE or --var NAME=VALUE):")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  Name\tType\tDefault Value\tDescription")
	for _, v := range vars {
		def := v.Default
		if v.Required {
			def = "<required>"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", v.Name, v.Type, def, v.Description)
	}
	tw.Flush()
}

// shardingText says how a scaled-out server runs the task over a stream
// partitioned by key, and why.
func shardingText(task *pipeline.Task, key string) string {
	sharded, why := task.Sharding(key)
	if !sharded {
		return "runs on one instance (the owner of partition 0): " + why
	}
	text := "runs sharded by " + key + ": " + why
	if gaps := task.HandoverGaps(); len(gaps) > 0 {
		text += fmt.Sprintf("; the state of %s is not handed over between instances (it starts fresh on a new owner)", strings.Join(gaps, ", "))
	}
	return text
}
