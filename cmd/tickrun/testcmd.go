package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alecthomas/kong"

	"github.com/tickrun/tickrun/pipeline"
)

type testCmd struct {
	Update  bool     `help:"Rewrite each case's expected.jsonl with what the script sends now."`
	Run     string   `name:"run" placeholder:"REGEXP" help:"Run only the cases whose folder matches the regular expression."`
	Verbose bool     `short:"v" name:"verbose" help:"Print every case with its time, and the stderr of failing runs."`
	JSON    bool     `name:"json" help:"Print one JSON object per case (name, ok, seconds, failures) instead of text."`
	JUnit   string   `name:"junit" placeholder:"FILE" help:"Also write the results as JUnit XML to FILE, for CI."`
	Influx  string   `name:"influxdb" placeholder:"URL" help:"InfluxDB holding the input of backtest cases (a case with a range file); without it they are skipped."`
	Dirs    []string `arg:"" name:"DIR" help:"Case folders (script.tick, input.lp, expected.jsonl, optional *.yaml handler files, kapacitor.conf and args), or folders holding such folders. /CASE_DIR in a script is the case folder's absolute path."`
}

// expectNone is the file by which a case says it expects no event: an
// empty expected.jsonl without it fails, since such a case checks nothing.
const expectNone = "expect-none"

// unhandledTarget holds the events no handler listens for (a script
// without .tcp() or handler files), in the order they were raised.
const unhandledTarget = "\xff(no handler)"

// testResult is the outcome of one case.
type testResult struct {
	Name     string   `json:"name"`
	OK       bool     `json:"ok"`
	Skipped  string   `json:"skipped,omitempty"` // why the case did not run
	Seconds  float64  `json:"seconds"`
	Failures []string `json:"failures,omitempty"`
	stderr   string
}

// run runs each case offline: the events are captured in-process instead
// of being sent — per handler target when the script has handlers, else
// every event the alert nodes raise — then compared with expected.jsonl
// in the order a recording listener sees them (targets ascending,
// production order within one). Cases run with a fixed server identity (hostname localhost, the
// nil ids) unless their args say otherwise, so they pass on any host.
func (c *testCmd) run(stdout, stderr io.Writer) int {
	var filter *regexp.Regexp
	if c.Run != "" {
		var err error
		if filter, err = regexp.Compile(c.Run); err != nil {
			fmt.Fprintf(stderr, "tickrun test: --run: %v\n", err)
			return exitScript
		}
	}
	var cases []string
	for _, d := range c.Dirs {
		if isCase(d) {
			cases = append(cases, d)
			continue
		}
		subs, _ := filepath.Glob(filepath.Join(d, "*"))
		for _, s := range subs {
			if isCase(s) {
				cases = append(cases, s)
			}
		}
	}
	if filter != nil {
		kept := cases[:0]
		for _, dir := range cases {
			if filter.MatchString(dir) {
				kept = append(kept, dir)
			}
		}
		cases = kept
	}
	if len(cases) == 0 {
		fmt.Fprintln(stderr, "tickrun test: no case found (a case is a folder with script.tick and input.lp)")
		return exitScript
	}
	var results []testResult
	passed, failed, skipped := 0, 0, 0
	enc := json.NewEncoder(stdout)
	for _, dir := range cases {
		start := time.Now()
		r := c.runCase(dir)
		r.Name, r.Seconds = dir, time.Since(start).Seconds()
		results = append(results, r)
		switch {
		case r.Skipped != "":
			skipped++
		case r.OK:
			passed++
		default:
			failed++
		}
		switch {
		case c.JSON:
			enc.Encode(r)
		case r.Skipped != "":
			fmt.Fprintf(stdout, "skip %s (%s)\n", dir, r.Skipped)
		case r.OK && c.Verbose:
			fmt.Fprintf(stdout, "ok   %s (%.2fs)\n", dir, r.Seconds)
		case r.OK:
			fmt.Fprintf(stdout, "ok   %s\n", dir)
		default:
			if c.Verbose {
				fmt.Fprintf(stdout, "FAIL %s (%.2fs)\n", dir, r.Seconds)
			} else {
				fmt.Fprintf(stdout, "FAIL %s\n", dir)
			}
			fmt.Fprint(stdout, indent(strings.Join(r.Failures, "\n")))
			if c.Verbose && r.stderr != "" {
				fmt.Fprintf(stdout, "    stderr:\n%s", indent(indent(r.stderr)))
			}
		}
	}
	if !c.JSON {
		if skipped > 0 {
			fmt.Fprintf(stdout, "%d passed, %d failed, %d skipped\n", passed, failed, skipped)
		} else {
			fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
		}
	}
	if c.JUnit != "" {
		if err := writeJUnit(c.JUnit, results); err != nil {
			fmt.Fprintln(stderr, "tickrun test: --junit:", err)
			return exitFailed
		}
	}
	if failed > 0 {
		return exitFailed
	}
	return exitOK
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func isCase(dir string) bool {
	script := fileExists(filepath.Join(dir, "script.tick")) || fileExists(filepath.Join(dir, "template.tick")) && fileExists(filepath.Join(dir, "vars.json"))
	return script && fileExists(filepath.Join(dir, "input.lp"))
}

// runCase runs one case and reports the differences.
func (c *testCmd) runCase(dir string) testResult {
	fail := func(format string, args ...any) testResult {
		return testResult{Failures: []string{fmt.Sprintf(format, args...)}}
	}
	// The fixed identity first: a case's args come after and win.
	args := []string{"--hostname", "localhost"}
	if a, err := os.ReadFile(filepath.Join(dir, "args")); err == nil {
		args = append(args, strings.Fields(string(a))...)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "range")); err == nil {
		// A backtest case: its input is in InfluxDB, queried over the range.
		if c.Influx == "" {
			return testResult{OK: true, Skipped: "a backtest case: give --influxdb URL of an InfluxDB holding its input.lp"}
		}
		r := strings.Fields(string(b))
		if len(r) != 2 {
			return fail("range: want START STOP (RFC 3339), got %q", strings.TrimSpace(string(b)))
		}
		args = append(args, "--influxdb", c.Influx, "--start", r[0], "--stop", r[1])
	}
	handlers, _ := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	for _, h := range handlers {
		args = append(args, "--handler", h)
	}
	if conf := filepath.Join(dir, "kapacitor.conf"); fileExists(conf) {
		args = append(args, "--config", conf)
	}
	script, cleanup, err := caseScript(dir)
	if err != nil {
		return fail("%v", err)
	}
	if filepath.Base(script) == "template.tick" {
		args = append(args, "--vars", filepath.Join(dir, "vars.json"))
	}
	defer cleanup()
	args = append(args, script)
	var r runCmd
	p, err := kong.New(&r, kong.Name("args"), kong.Exit(func(int) {}))
	if err == nil {
		_, err = p.Parse(args)
	}
	if err != nil {
		return fail("bad args: %v", err)
	}
	got := map[string][]string{}
	r.capture = func(_, target string, payload []byte) {
		got[target] = append(got[target], string(payload))
	}
	r.onUnhandled = func(_ *pipeline.Event, payload []byte) {
		got[unhandledTarget] = append(got[unhandledTarget], string(payload))
	}
	in, err := os.Open(filepath.Join(dir, "input.lp"))
	if c.Influx != "" && fileExists(filepath.Join(dir, "range")) {
		in, err = os.Open(os.DevNull) // the input is in InfluxDB
	}
	if err != nil {
		return fail("%v", err)
	}
	defer in.Close()
	var errOut bytes.Buffer
	if code := r.run(in, io.Discard, &errOut); code != exitOK {
		res := fail("tickrun run exited %d:\n%s", code, errOut.String())
		return res
	}
	// A case whose script sends to handlers is compared on what they
	// receive, as a recording listener saw it; a script without handlers
	// on every event its alert nodes raise.
	if len(got) > 1 {
		delete(got, unhandledTarget)
	}
	var events []string
	for _, t := range sortTargets(got) {
		events = append(events, got[t]...)
	}
	none := fileExists(filepath.Join(dir, expectNone))
	expectedPath := filepath.Join(dir, "expected.jsonl")
	if c.Update {
		var b strings.Builder
		for _, e := range events {
			b.WriteString(e + "\n")
		}
		if err := os.WriteFile(expectedPath, []byte(b.String()), 0o644); err != nil {
			return fail("%v", err)
		}
		if len(events) == 0 && !none {
			return fail("the script raised no event, so the case checks nothing: if that is what it expects, add an empty %s file", expectNone)
		}
		return testResult{OK: true}
	}
	data, err := os.ReadFile(expectedPath)
	if err != nil && !(none && os.IsNotExist(err)) {
		return fail("%v", err)
	}
	var want []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) != "" {
			want = append(want, l)
		}
	}
	switch {
	case len(want) == 0 && !none:
		return fail("expected.jsonl holds no event, so the case checks nothing: if it expects none, add an empty %s file", expectNone)
	case len(want) > 0 && none:
		return fail("the case has an %s file but expected.jsonl holds %d events", expectNone, len(want))
	}
	failures := compareEvents(want, events)
	return testResult{OK: len(failures) == 0, Failures: failures, stderr: errOut.String()}
}

// caseScript returns the case's script. One that names files under the
// case folder writes them file:///CASE_DIR/... (a recording needs an
// absolute path): it is run from a temporary copy with /CASE_DIR replaced
// by the folder's absolute path.
func caseScript(dir string) (path string, cleanup func(), err error) {
	path, cleanup = filepath.Join(dir, "script.tick"), func() {}
	if !fileExists(path) {
		// A template case: the task defined from template.tick and its
		// vars.json (given with --vars by runCase).
		path = filepath.Join(dir, "template.tick")
	}
	src, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(src, []byte("/CASE_DIR")) {
		return path, cleanup, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", cleanup, err
	}
	tmp, err := os.MkdirTemp("", "tickrun-case-")
	if err != nil {
		return "", cleanup, err
	}
	cleanup = func() { os.RemoveAll(tmp) }
	path = filepath.Join(tmp, "script.tick")
	src = bytes.ReplaceAll(src, []byte("/CASE_DIR"), []byte(filepath.ToSlash(abs)))
	return path, cleanup, os.WriteFile(path, src, 0o644)
}

// sortTargets orders handler targets as a recording does: by port when
// they are host:port addresses, else by name; events without a handler
// come last.
func sortTargets(m map[string][]string) []string {
	var ts []string
	for t := range m {
		ts = append(ts, t)
	}
	port := func(s string) int {
		i := strings.LastIndexByte(s, ':')
		p, err := strconv.Atoi(s[i+1:])
		if i < 0 || err != nil {
			return -1
		}
		return p
	}
	sort.Slice(ts, func(i, j int) bool {
		if ui, uj := ts[i] == unhandledTarget, ts[j] == unhandledTarget; ui != uj {
			return uj
		}
		pi, pj := port(ts[i]), port(ts[j])
		if pi != pj {
			return pi < pj
		}
		return ts[i] < ts[j]
	})
	return ts
}

// compareEvents reports, event by event and key by key, how got differs
// from want.
func compareEvents(want, got []string) []string {
	var out []string
	for i := 0; i < len(want) || i < len(got); i++ {
		switch {
		case i >= len(got):
			out = append(out, fmt.Sprintf("event %d: missing, want %s", i+1, clip(want[i], 200)))
		case i >= len(want):
			out = append(out, fmt.Sprintf("event %d: unexpected %s", i+1, clip(got[i], 200)))
		default:
			var w, g map[string]any
			if err := json.Unmarshal([]byte(want[i]), &w); err != nil {
				out = append(out, fmt.Sprintf("event %d: expected.jsonl line is not JSON: %v", i+1, err))
				continue
			}
			json.Unmarshal([]byte(got[i]), &g)
			out = append(out, diffJSON(fmt.Sprintf("event %d:", i+1), w, g)...)
		}
	}
	return out
}

// diffJSON returns one line per differing key path.
func diffJSON(path string, want, got any) []string {
	wm, wok := want.(map[string]any)
	gm, gok := got.(map[string]any)
	if wok && gok {
		keys := map[string]bool{}
		for k := range wm {
			keys[k] = true
		}
		for k := range gm {
			keys[k] = true
		}
		var sorted []string
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		var out []string
		for _, k := range sorted {
			sep := "."
			if strings.HasSuffix(path, ":") {
				sep = " "
			}
			out = append(out, diffJSON(path+sep+k, wm[k], gm[k])...)
		}
		return out
	}
	if reflect.DeepEqual(want, got) {
		return nil
	}
	if ws, ok := want.(string); ok {
		if gs, ok := got.(string); ok && (len(ws) > 60 || len(gs) > 60) {
			return []string{path + ": " + stringDiff(ws, gs)}
		}
	}
	w, _ := json.Marshal(want)
	g, _ := json.Marshal(got)
	return []string{fmt.Sprintf("%s: want %s, got %s", path, w, g)}
}

// stringDiff shows where two long strings first differ, with some context
// on each side, instead of both whole.
func stringDiff(want, got string) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	const context = 30
	from := max(0, i-context)
	for from > 0 && !utf8.RuneStart(want[from]) {
		from--
	}
	show := func(s string) string {
		to := min(len(s), i+context)
		q, _ := json.Marshal(s[from:to])
		prefix, suffix := "", ""
		if from > 0 {
			prefix = "…"
		}
		if to < len(s) {
			suffix = "…"
		}
		return prefix + string(q) + suffix
	}
	return fmt.Sprintf("differs at byte %d: want %s, got %s", i, show(want), show(got))
}

// clip cuts s to n bytes for a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// writeJUnit writes the results as a JUnit XML report.
func writeJUnit(path string, results []testResult) error {
	type failure struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
	type skip struct {
		Message string `xml:"message,attr"`
	}
	type testcase struct {
		Name    string   `xml:"name,attr"`
		Time    string   `xml:"time,attr"`
		Failure *failure `xml:"failure,omitempty"`
		Skipped *skip    `xml:"skipped,omitempty"`
	}
	type suite struct {
		XMLName  xml.Name   `xml:"testsuite"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	s := suite{Name: "tickrun test", Tests: len(results)}
	for _, r := range results {
		tc := testcase{Name: r.Name, Time: strconv.FormatFloat(r.Seconds, 'f', 3, 64)}
		if r.Skipped != "" {
			tc.Skipped = &skip{Message: r.Skipped}
		} else if !r.OK {
			s.Failures++
			tc.Failure = &failure{Message: clip(r.Failures[0], 200), Text: strings.Join(r.Failures, "\n")}
		}
		s.Cases = append(s.Cases, tc)
	}
	b, err := xml.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(xml.Header), append(b, '\n')...), 0o644)
}
