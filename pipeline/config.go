package pipeline

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// KapacitorConfig is what tickrun reads of a kapacitor.conf: the sections
// of the alert handlers it implements. A Kapacitor user brings scripts and
// a kapacitor.conf; the handlers take their URLs, credentials and defaults
// from here, as Kapacitor's services do.
type KapacitorConfig struct {
	File string // where it was loaded from, for errors
	// Services holds the read sections by name ("slack"); sections that
	// may repeat ([[slack]] workspaces, [[httppost]] endpoints) have one
	// entry per table, in file order.
	Services map[string][]*ServiceConfig
	// Ignored lists the top-level sections tickrun has no use for, sorted.
	Ignored []string
	// Lenient makes a missing section count as enabled with its
	// defaults: tickrun check without --config uses it, so scripts with
	// .slack() check without a kapacitor.conf.
	Lenient bool
}

// ServiceConfig is one handler section of kapacitor.conf.
type ServiceConfig struct {
	Section string         // "slack"
	Line    int            // of the section header; 0 when absent (defaults)
	values  map[string]any // as decoded, checked against the section's schema
}

// configKey kinds.
const (
	ckBool = iota
	ckString
	ckSecret // a string never printed
	ckURL    // an http(s) URL, never printed (webhook URLs carry tokens)
	ckInt
	ckStrings
	ckMap
	ckAny // accepted, unused by tickrun
)

// configSchemas are the sections tickrun reads, with the keys it uses and
// their defaults (Kapacitor's). Other keys of these sections are accepted
// and ignored, as the TLS options of a real configuration.
var configSchemas = map[string]struct {
	keys     map[string]int
	defaults map[string]any
	multi    bool // may be written [[section]]
}{
	"smtp": {keys: map[string]int{"enabled": ckBool, "global": ckBool, "state-changes-only": ckBool, "host": ckString, "port": ckInt,
		"username": ckString, "password": ckSecret, "no-verify": ckBool, "from": ckString, "to": ckStrings, "idle-timeout": ckAny},
		defaults: map[string]any{"host": "localhost", "port": int64(25)}},
	"slack": {keys: map[string]int{"enabled": ckBool, "global": ckBool, "state-changes-only": ckBool, "default": ckBool, "workspace": ckString,
		"url": ckURL, "channel": ckString, "username": ckString, "icon-emoji": ckString, "insecure-skip-verify": ckBool},
		defaults: map[string]any{"username": "kapacitor"}, multi: true},
	"telegram": {keys: map[string]int{"enabled": ckBool, "global": ckBool, "state-changes-only": ckBool, "url": ckString, "token": ckSecret,
		"chat-id": ckString, "parse-mode": ckString, "disable-web-page-preview": ckBool, "disable-notification": ckBool},
		defaults: map[string]any{"url": "https://api.telegram.org/bot"}},
	"victorops": {keys: map[string]int{"enabled": ckBool, "global": ckBool, "api-key": ckSecret, "routing-key": ckSecret, "url": ckString, "json-data": ckBool},
		defaults: map[string]any{"url": "https://alert.victorops.com/integrations/generic/20131114/alert"}},
	"pagerduty2": {keys: map[string]int{"enabled": ckBool, "global": ckBool, "routing-key": ckSecret, "url": ckString},
		defaults: map[string]any{"url": "https://events.pagerduty.com/v2/enqueue"}},
	"opsgenie2": {keys: map[string]int{"enabled": ckBool, "global": ckBool, "api-key": ckSecret, "url": ckString, "teams": ckStrings,
		"recipients": ckStrings, "recovery_action": ckString, "details": ckAny},
		defaults: map[string]any{"url": "https://api.opsgenie.com/v2/alerts", "recovery_action": "notes"}},
	"teams": {keys: map[string]int{"enabled": ckBool, "global": ckBool, "state-changes-only": ckBool, "channel-url": ckURL}},
	"discord": {keys: map[string]int{"enabled": ckBool, "global": ckBool, "state-changes-only": ckBool, "default": ckBool, "workspace": ckString,
		"url": ckURL, "username": ckString, "avatar-url": ckString, "embed-title": ckString, "timestamp": ckBool},
		multi: true},
	"httppost": {keys: map[string]int{"endpoint": ckString, "url": ckURL, "headers": ckMap, "basic-auth": ckAny,
		"alert-template": ckAny, "alert-template-file": ckAny, "row-template": ckAny, "row-template-file": ckAny}, multi: true},
}

// LoadKapacitorConfig reads the handler sections of a kapacitor.conf.
// Errors read "FILE:LINE: [section] key: problem" and never show a secret.
func LoadKapacitorConfig(path string) (*KapacitorConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseKapacitorConfig(path, data)
}

// ParseKapacitorConfig parses kapacitor.conf text; name is used in errors.
func ParseKapacitorConfig(name string, data []byte) (*KapacitorConfig, error) {
	var root map[string]any
	if err := toml.Unmarshal(data, &root); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			// The decoder's messages quote at most one character of the
			// text; its String() shows the whole line, which may hold a
			// secret, so it is not used.
			row, _ := de.Position()
			section := ""
			for i, line := range strings.Split(string(data), "\n") {
				if m := tomlHeader.FindStringSubmatch(line); m != nil && i < row {
					section = "[" + m[1] + "] "
				}
			}
			return nil, fmt.Errorf("%s:%d: %s%s", name, row, section, strings.TrimPrefix(de.Error(), "toml: "))
		}
		return nil, fmt.Errorf("%s: not valid TOML", name)
	}
	lines := configLines(data)
	c := &KapacitorConfig{File: name, Services: map[string][]*ServiceConfig{}}
	for section, v := range root {
		schema, ok := configSchemas[section]
		if !ok {
			c.Ignored = append(c.Ignored, section)
			continue
		}
		var tables []map[string]any
		switch v := v.(type) {
		case map[string]any:
			tables = []map[string]any{v}
		case []any:
			if !schema.multi {
				return nil, fmt.Errorf("%s:%d: [%s]: write one [%s] table, not [[%s]]", name, lines.header(section, 0), section, section, section)
			}
			for _, t := range v {
				m, ok := t.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s:%d: [%s]: want a table", name, lines.header(section, 0), section)
				}
				tables = append(tables, m)
			}
		default:
			return nil, fmt.Errorf("%s:%d: %s: want a [%s] table", name, lines.key("", 0, section), section, section)
		}
		for i, t := range tables {
			s := &ServiceConfig{Section: section, Line: lines.header(section, i), values: map[string]any{}}
			for k, d := range schema.defaults {
				s.values[k] = d
			}
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				kind, ok := schema.keys[k]
				if !ok {
					continue // a key tickrun does not use (TLS files, ...)
				}
				val, problem := checkConfigValue(kind, t[k])
				if problem != "" {
					return nil, fmt.Errorf("%s:%d: [%s] %s: %s", name, lines.key(section, i, k), section, k, problem)
				}
				s.values[k] = val
			}
			c.Services[section] = append(c.Services[section], s)
		}
	}
	sort.Strings(c.Ignored)
	for _, list := range c.Services {
		if err := c.checkWorkspaces(list); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// checkConfigValue converts a decoded value to its key's kind; the problem
// it reports never contains a secret.
func checkConfigValue(kind int, v any) (any, string) {
	typeName := func(v any) string {
		switch v.(type) {
		case string:
			return "a string"
		case bool:
			return "a boolean"
		case int64, float64:
			return "a number"
		case []any:
			return "an array"
		case map[string]any:
			return "a table"
		}
		return "a date or time"
	}
	switch kind {
	case ckBool:
		if b, ok := v.(bool); ok {
			return b, ""
		}
		return nil, fmt.Sprintf("want true or false, got %v", v)
	case ckString:
		if s, ok := v.(string); ok {
			return s, ""
		}
		return nil, fmt.Sprintf("want a string, got %v", v)
	case ckSecret:
		if s, ok := v.(string); ok {
			return s, ""
		}
		return nil, "want a string, got " + typeName(v)
	case ckURL:
		s, ok := v.(string)
		if !ok {
			return nil, "want a URL string, got " + typeName(v)
		}
		if s == "" {
			return s, ""
		}
		if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, "want an http:// or https:// URL (value not shown: it may hold a token)"
		}
		return s, ""
	case ckInt:
		if n, ok := v.(int64); ok {
			return n, ""
		}
		return nil, fmt.Sprintf("want an integer, got %v", v)
	case ckStrings:
		list, ok := v.([]any)
		if !ok {
			return nil, "want an array of strings, got " + typeName(v)
		}
		out := make([]string, len(list))
		for i, x := range list {
			if out[i], ok = x.(string); !ok {
				return nil, fmt.Sprintf("want an array of strings, item %d is %s", i+1, typeName(x))
			}
		}
		return out, ""
	case ckMap:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, "want a table of strings, got " + typeName(v)
		}
		out := map[string]string{}
		for k, x := range m {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Sprintf("%s: want a string, got %s", k, typeName(x))
			}
			out[k] = s
		}
		return out, ""
	}
	return v, ""
}

// checkWorkspaces rejects two workspaces or endpoints of the same name.
func (c *KapacitorConfig) checkWorkspaces(list []*ServiceConfig) error {
	seen := map[string]bool{}
	key := "workspace"
	if len(list) > 0 && list[0].Section == "httppost" {
		key = "endpoint"
	}
	for _, s := range list {
		w := s.String(key)
		if seen[w] {
			return fmt.Errorf("%s:%d: [%s] %s: %q is defined twice", c.File, s.Line, s.Section, key, w)
		}
		seen[w] = true
	}
	return nil
}

// Notice is the one line telling which sections were ignored, or "".
func (c *KapacitorConfig) Notice() string {
	if c == nil || len(c.Ignored) == 0 {
		return ""
	}
	return fmt.Sprintf("tickrun: kapacitor.conf: ignoring sections [%s] (not used by tickrun)", strings.Join(c.Ignored, " "))
}

// Service returns the section for a handler: for sections with
// workspaces, the one named (or the default when name is ""); for
// [[httppost]], the endpoint named. A missing or disabled section is an
// error, unless the configuration is lenient.
func (c *KapacitorConfig) Service(section, name string) (*ServiceConfig, error) {
	what := "[" + section + "]"
	if c == nil {
		return nil, fmt.Errorf("%s needs the %s section of kapacitor.conf: give it with --config FILE", section, what)
	}
	list := c.Services[section]
	var s *ServiceConfig
	switch {
	case section == "httppost":
		for _, x := range list {
			if x.String("endpoint") == name {
				s = x
			}
		}
		if s == nil && !c.Lenient {
			return nil, fmt.Errorf("endpoint %q is not defined by a [[httppost]] section of %s", name, c.File)
		}
	case name != "":
		for _, x := range list {
			if x.String("workspace") == name {
				s = x
			}
		}
		if s == nil && !c.Lenient {
			return nil, fmt.Errorf("workspace %q is not defined by a [[%s]] section of %s", name, section, c.File)
		}
	case len(list) == 1:
		s = list[0]
	case len(list) > 1:
		for _, x := range list {
			if x.Bool("default") || x.String("workspace") == "" {
				s = x
			}
		}
		if s == nil {
			return nil, fmt.Errorf("%s has several [[%s]] workspaces and none is default: name one", c.File, section)
		}
	}
	if s == nil {
		if !c.Lenient {
			return nil, fmt.Errorf("%s has no %s section", c.File, what)
		}
		s = &ServiceConfig{Section: section, values: map[string]any{"enabled": true}}
		for k, d := range configSchemas[section].defaults {
			s.values[k] = d
		}
		if section == "httppost" {
			s.values["url"] = "http://127.0.0.1/"
		}
		return s, nil
	}
	if section != "httppost" && !s.Bool("enabled") {
		return nil, fmt.Errorf("%s is disabled in kapacitor.conf (%s:%d)", section, c.File, s.Line)
	}
	return s, nil
}

// String returns a string option of the section ("" if unset).
func (s *ServiceConfig) String(key string) string { v, _ := s.values[key].(string); return v }

// Bool returns a boolean option of the section.
func (s *ServiceConfig) Bool(key string) bool { v, _ := s.values[key].(bool); return v }

// Int returns an integer option of the section.
func (s *ServiceConfig) Int(key string) int64 { v, _ := s.values[key].(int64); return v }

// Strings returns a list option of the section.
func (s *ServiceConfig) Strings(key string) []string { v, _ := s.values[key].([]string); return v }

// Headers returns a table-of-strings option of the section, in key order.
func (s *ServiceConfig) Headers(key string) [][2]string {
	m, _ := s.values[key].(map[string]string)
	var out [][2]string
	for k, v := range m {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// configLineIndex finds the lines of section headers and keys, so errors
// about decoded values can point at them.
type configLineIndex struct {
	headers map[string][]int            // section -> line of each [section] / [[section]]
	keys    map[string][]map[string]int // section -> per table: key -> line
}

var (
	tomlHeader = regexp.MustCompile(`^\s*\[\[?\s*([^\]\s]+)\s*\]\]?`)
	tomlKey    = regexp.MustCompile(`^\s*"?([A-Za-z0-9_.-]+)"?\s*=`)
)

func configLines(data []byte) *configLineIndex {
	x := &configLineIndex{headers: map[string][]int{}, keys: map[string][]map[string]int{}}
	section := ""
	x.keys[""] = []map[string]int{{}}
	for i, line := range strings.Split(string(data), "\n") {
		if m := tomlHeader.FindStringSubmatch(line); m != nil {
			section, _, _ = strings.Cut(m[1], ".") // [httppost.basic-auth] belongs to httppost
			if !strings.Contains(m[1], ".") {
				x.headers[section] = append(x.headers[section], i+1)
				x.keys[section] = append(x.keys[section], map[string]int{})
			}
			continue
		}
		if m := tomlKey.FindStringSubmatch(line); m != nil {
			tables := x.keys[section]
			if len(tables) > 0 {
				if _, dup := tables[len(tables)-1][m[1]]; !dup {
					tables[len(tables)-1][m[1]] = i + 1
				}
			}
		}
	}
	return x
}

func (x *configLineIndex) header(section string, i int) int {
	if h := x.headers[section]; i < len(h) {
		return h[i]
	}
	return 1
}

func (x *configLineIndex) key(section string, i int, key string) int {
	if t := x.keys[section]; i < len(t) {
		if l, ok := t[i][key]; ok {
			return l
		}
	}
	return x.header(section, i)
}
