package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/alecthomas/kong"
)

type testCmd struct {
	Update bool     `help:"Rewrite each case's expected.jsonl with what the script sends now."`
	Dirs   []string `arg:"" name:"DIR" help:"Case folders (script.tick, input.lp, expected.jsonl, optional *.yaml handler files, kapacitor.conf and args), or folders holding such folders. /CASE_DIR in a script is the case folder's absolute path."`
}

// run runs each case offline: events are captured in-process per handler
// target instead of being sent, then compared with expected.jsonl in the
// order a recording listener sees them (targets ascending, production order
// within one).
func (c *testCmd) run(stdout, stderr io.Writer) int {
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
	if len(cases) == 0 {
		fmt.Fprintln(stderr, "tickrun test: no case found (a case is a folder with script.tick and input.lp)")
		return exitScript
	}
	passed, failed := 0, 0
	for _, dir := range cases {
		report, ok := c.runCase(dir)
		if ok {
			passed++
			fmt.Fprintf(stdout, "ok   %s\n", dir)
			continue
		}
		failed++
		fmt.Fprintf(stdout, "FAIL %s\n%s", dir, indent(report))
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
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
	_, err1 := os.Stat(filepath.Join(dir, "script.tick"))
	_, err2 := os.Stat(filepath.Join(dir, "input.lp"))
	return err1 == nil && err2 == nil
}

// runCase runs one case and returns a readable report of the differences.
func (c *testCmd) runCase(dir string) (string, bool) {
	args := []string{}
	if a, err := os.ReadFile(filepath.Join(dir, "args")); err == nil {
		args = append(args, strings.Fields(string(a))...)
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
		return err.Error() + "\n", false
	}
	defer cleanup()
	args = append(args, script)
	var r runCmd
	p, err := kong.New(&r, kong.Name("args"), kong.Exit(func(int) {}))
	if err == nil {
		_, err = p.Parse(args)
	}
	if err != nil {
		return fmt.Sprintf("bad args: %v\n", err), false
	}
	got := map[string][]string{}
	r.capture = func(_, target string, payload []byte) {
		got[target] = append(got[target], string(payload))
	}
	in, err := os.Open(filepath.Join(dir, "input.lp"))
	if err != nil {
		return err.Error() + "\n", false
	}
	defer in.Close()
	var stderr bytes.Buffer
	if code := r.run(in, io.Discard, &stderr); code != exitOK {
		return fmt.Sprintf("tickrun run exited %d:\n%s", code, stderr.String()), false
	}
	var events []string
	for _, t := range sortTargets(got) {
		events = append(events, got[t]...)
	}
	expectedPath := filepath.Join(dir, "expected.jsonl")
	if c.Update {
		var b strings.Builder
		for _, e := range events {
			b.WriteString(e + "\n")
		}
		if err := os.WriteFile(expectedPath, []byte(b.String()), 0o644); err != nil {
			return err.Error() + "\n", false
		}
		return "", true
	}
	data, err := os.ReadFile(expectedPath)
	if err != nil {
		return err.Error() + "\n", false
	}
	var want []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) != "" {
			want = append(want, l)
		}
	}
	return compareEvents(want, events)
}

// caseScript returns the case's script. One that names files under the
// case folder writes them file:///CASE_DIR/... (a recording needs an
// absolute path): it is run from a temporary copy with /CASE_DIR replaced
// by the folder's absolute path.
func caseScript(dir string) (path string, cleanup func(), err error) {
	path, cleanup = filepath.Join(dir, "script.tick"), func() {}
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
// they are host:port addresses, else by name.
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
func compareEvents(want, got []string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(want) || i < len(got); i++ {
		switch {
		case i >= len(got):
			fmt.Fprintf(&b, "event %d: missing, want %s\n", i+1, want[i])
		case i >= len(want):
			fmt.Fprintf(&b, "event %d: unexpected %s\n", i+1, got[i])
		default:
			var w, g map[string]any
			if err := json.Unmarshal([]byte(want[i]), &w); err != nil {
				fmt.Fprintf(&b, "event %d: expected.jsonl line is not JSON: %v\n", i+1, err)
				continue
			}
			json.Unmarshal([]byte(got[i]), &g)
			diffJSON(&b, fmt.Sprintf("event %d:", i+1), w, g)
		}
	}
	return b.String(), b.Len() == 0
}

// diffJSON writes one line per differing key path.
func diffJSON(b *strings.Builder, path string, want, got any) {
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
		for _, k := range sorted {
			sep := "."
			if strings.HasSuffix(path, ":") {
				sep = " "
			}
			diffJSON(b, path+sep+k, wm[k], gm[k])
		}
		return
	}
	if !reflect.DeepEqual(want, got) {
		w, _ := json.Marshal(want)
		g, _ := json.Marshal(got)
		fmt.Fprintf(b, "%s: want %s, got %s\n", path, w, g)
	}
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}
