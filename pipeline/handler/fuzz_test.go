package handler

import (
	"strings"
	"testing"

	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// FuzzParseFile reads topic handler files: bad input must be an error
// naming the file, never a panic; a file that parses has a known kind and
// options the kind accepts.
func FuzzParseFile(f *testing.F) {
	for _, s := range []string{
		"id: tcp-cpu-alert\ntopic: cpu\nkind: tcp\noptions:\n  address: 127.0.0.1:7777\n",
		"id: a\ntopic: t\nkind: log\noptions:\n  path: /tmp/x.log\n  mode: 0644\n",
		"id: a\ntopic: t\nkind: post\nmatch: level() == CRITICAL AND changed()\noptions:\n  url: http://h/x\n  headers:\n    X: y\n",
		`{"id":"a","topic":"t","kind":"exec","options":{"prog":"/bin/true","args":["-x"]}}`,
		"id: a\ntopic: t\nkind: slack\noptions: [1, 2]\n", "- a\n- b\n", "id: &a [*a]\n",
	} {
		f.Add(s, ".yaml")
	}
	f.Add(`{"id":"a","topic":"t","kind":"tcp","options":{"address":"h:1"}}`, ".json")
	f.Fuzz(func(t *testing.T, data, ext string) {
		name := "h" + ext
		s, err := ParseFile(name, []byte(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), name) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		k, ok := Lookup(s.Kind)
		if !ok {
			t.Fatalf("parsed an unknown kind %q", s.Kind)
		}
		if err := k.Validate(s.Options); err != nil {
			t.Fatalf("parsed options the kind rejects: %v", err)
		}
	})
}

// FuzzKapacitorConf reads kapacitor.conf text with the handlers'
// sections registered: bad input is an error naming the file and never
// shows a secret; a file that parses answers Section without panicking.
func FuzzKapacitorConf(f *testing.F) {
	for _, s := range []string{
		"[smtp]\n  enabled = true\n  host = \"mail\"\n  port = 587\n  password = \"SECRET\"\n",
		"[[slack]]\n  enabled = true\n  workspace = \"a\"\n  url = \"https://hooks.slack.com/SECRET\"\n",
		"[[httppost]]\n  endpoint = \"ops\"\n  url = \"https://x/SECRET\"\n  headers = { A = \"SECRET\" }\n",
		"[slack]\nurl = 3\n", "[[smtp]]\n", "hostname = \"h\"\n[http]\nbind-address = \":9092\"\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		c, err := kapconf.Parse("k.conf", []byte(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "k.conf") {
				t.Fatalf("error does not name the file: %v", err)
			}
			if strings.Contains(data, "SECRET") && strings.Contains(err.Error(), "SECRET") {
				t.Fatalf("error shows a secret: %v", err)
			}
			return
		}
		for _, k := range Kinds() {
			if k.Section != "" {
				c.Section(k.Section, "")
				c.Section(k.Section, "a")
			}
		}
	})
}
