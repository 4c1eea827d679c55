package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/tickrun/tickrun/pipeline"
)

type explainCmd struct {
	taskFlags `embed:""`
	All       bool `name:"all" help:"Also show points that changed nothing (OK and unchanged)."`
}

// explainStory collects what one alert id went through.
type explainStory struct {
	node, id   string
	lines      []string
	points     int
	sent       int
	suppressed map[string]int
}

// run answers "why did it (not) fire?": for every alert id, a timeline of
// level changes, with the values the lambdas read, and why events were
// suppressed. Nothing is delivered.
func (c *explainCmd) run(stdin io.Reader, stdout, stderr io.Writer) int {
	stories := map[string]*explainStory{}
	var order []string
	opts := pipeline.Options{Log: io.Discard}
	opts.Deliver.Capture = func(string, string, []byte) {}
	opts.Explain = func(x *pipeline.Explanation) {
		key := x.Node + "\x00" + x.ID
		st := stories[key]
		if st == nil {
			st = &explainStory{node: x.Node, id: x.ID, suppressed: map[string]int{}}
			stories[key] = st
			order = append(order, key)
		}
		st.points++
		switch {
		case x.Outcome == "sent":
			st.sent++
		case strings.HasPrefix(x.Outcome, "suppressed"):
			st.suppressed[strings.TrimPrefix(x.Outcome, "suppressed: ")]++
		}
		if !c.All && x.Level == x.Prev && x.Outcome == "" && len(x.Errors) == 0 {
			return
		}
		change := x.Level.String()
		if x.Level != x.Prev {
			change = x.Prev.String() + " -> " + x.Level.String()
		}
		outcome := x.Outcome
		if outcome == "" {
			outcome = "no event (OK, unchanged)"
		}
		var vals []string
		for _, v := range x.Values {
			vals = append(vals, v.String())
		}
		line := strings.TrimRight(fmt.Sprintf("  %s  %-20s %-47s %s", time.Unix(0, x.Time).UTC().Format(time.RFC3339Nano), change, outcome, strings.Join(vals, " ")), " ")
		for _, e := range x.Errors {
			line += "\n      lambda failed: " + e
		}
		st.lines = append(st.lines, line)
	}
	l, code := c.load(opts, stderr)
	if l == nil {
		return code
	}
	_, code = l.feed(context.Background(), stdin, stderr)
	l.task.Close(context.Background())
	if code != exitOK {
		return code
	}
	if len(order) == 0 {
		fmt.Fprintln(stdout, "no point reached an alert node")
	}
	for _, key := range order {
		st := stories[key]
		fmt.Fprintf(stdout, "%s %q: %d points, %d events sent", st.node, st.id, st.points, st.sent)
		var reasons []string
		for r, n := range st.suppressed {
			reasons = append(reasons, fmt.Sprintf("%d suppressed (%s)", n, r))
		}
		sort.Strings(reasons)
		if len(reasons) > 0 {
			fmt.Fprint(stdout, ", "+strings.Join(reasons, ", "))
		}
		fmt.Fprintln(stdout)
		for _, l := range st.lines {
			fmt.Fprintln(stdout, l)
		}
	}
	return exitOK
}
