package kapconf

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Config is what tickrun reads of a kapacitor.conf: the sections some
// package registered a Schema for (the alert handlers' sections, the
// server's). A Kapacitor user brings scripts and a kapacitor.conf; the
// handlers take their URLs, credentials and defaults from here, as
// Kapacitor's services do.
type Config struct {
	File string // where it was loaded from, for errors
	// Sections holds the read sections by name ("slack"); sections that
	// may repeat ([[slack]] workspaces, [[httppost]] endpoints) have one
	// entry per table, in file order.
	Sections map[string][]*Section
	// Ignored lists the top-level sections no schema reads, sorted.
	Ignored []string
	// Lenient makes a missing section count as enabled with its
	// defaults: tickrun check without --config uses it, so scripts with
	// .slack() check without a kapacitor.conf.
	Lenient bool
}

// Section is one table of kapacitor.conf, its values checked against
// its schema and completed with the schema's defaults.
type Section struct {
	Name   string         // "slack"
	Line   int            // of the section header; 0 when absent (defaults)
	values map[string]any // as decoded, checked against the section's schema
}

// Kind is the type of a key's value.
type Kind int

// The kinds of keys.
const (
	Bool     Kind = iota // true or false
	String               // a string
	Secret               // a string never printed
	URL                  // an http(s) URL, never printed (webhook URLs carry tokens)
	Int                  // an integer
	Strings              // an array of strings
	Map                  // a table of strings
	Any                  // accepted and not checked (keys read elsewhere or unused)
	Duration             // a duration string ("10s"), as Kapacitor's toml.Duration
)

// Schema describes one section: the keys read, with their kinds, and the
// defaults of Kapacitor. Other keys of the section are accepted and
// ignored, as the TLS options of a real configuration.
type Schema struct {
	Keys     map[string]Kind
	Defaults map[string]any
	Multi    bool // may be written [[section]]
	// NameKey names each table of a Multi section ("workspace" for
	// [[slack]], "endpoint" for [[httppost]]); two tables may not share a
	// name.
	NameKey string
	// ByNameOnly: a table is only ever picked by its name, never as a
	// default, and the section has no enabled key ([[httppost]]).
	ByNameOnly bool
	// Lenient are values added to a section made up by a lenient
	// configuration (a placeholder URL).
	Lenient map[string]any
}

var schemas = map[string]Schema{}

// Register declares the schema of a section; the package that reads the
// section registers it at init. Registering a section twice panics.
//
// A section whose name ends in ".*" is a table of named tables:
// "udf.functions.*" reads every [udf.functions.NAME] table with the schema,
// each as its own section "udf.functions.NAME" (Names lists them). Its
// parent ("udf") needs a schema of its own to count as read.
func Register(section string, s Schema) {
	if _, dup := schemas[section]; dup {
		panic("kapconf: section " + section + " registered twice")
	}
	schemas[section] = s
}

// Load reads the registered sections of a kapacitor.conf. Errors read
// "FILE:LINE: [section] key: problem" and never show a secret.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses kapacitor.conf text; name is used in errors.
func Parse(name string, data []byte) (*Config, error) {
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
	c := &Config{File: name, Sections: map[string][]*Section{}}
	for section, v := range root {
		schema, ok := schemas[section]
		if !ok {
			c.Ignored = append(c.Ignored, section)
			continue
		}
		var tables []map[string]any
		switch v := v.(type) {
		case map[string]any:
			tables = []map[string]any{v}
		case []any:
			if !schema.Multi {
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
			s, err := readTable(name, lines, section, i, schema, t)
			if err != nil {
				return nil, err
			}
			c.Sections[section] = append(c.Sections[section], s)
		}
	}
	if err := c.parseNamed(root, lines); err != nil {
		return nil, err
	}
	sort.Strings(c.Ignored)
	for section, list := range c.Sections {
		if err := c.checkNames(schemaOf(section), list); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// readTable checks the i-th table of section against its schema and
// completes it with the schema's defaults.
func readTable(file string, lines *configLineIndex, section string, i int, schema Schema, t map[string]any) (*Section, error) {
	s := &Section{Name: section, Line: lines.header(section, i), values: map[string]any{}}
	for k, d := range schema.Defaults {
		s.values[k] = d
	}
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kind, ok := schema.Keys[k]
		if !ok {
			continue // a key tickrun does not use (TLS files, ...)
		}
		val, problem := checkConfigValue(kind, t[k])
		if problem != "" {
			return nil, fmt.Errorf("%s:%d: [%s] %s: %s", file, lines.key(section, i, k), section, k, problem)
		}
		s.values[k] = val
	}
	return s, nil
}

// parseNamed reads the tables of the named-table sections ("udf.functions.*").
func (c *Config) parseNamed(root map[string]any, lines *configLineIndex) error {
	for pattern, schema := range schemas {
		prefix, ok := strings.CutSuffix(pattern, ".*")
		if !ok {
			continue
		}
		var node any = root
		for _, part := range strings.Split(prefix, ".") {
			m, ok := node.(map[string]any)
			if !ok {
				node = nil
				break
			}
			node = m[part]
		}
		if node == nil {
			continue
		}
		named, ok := node.(map[string]any)
		if !ok {
			return fmt.Errorf("%s:%d: [%s]: want a table of [%s.NAME] tables", c.File, lines.header(prefix, 0), prefix, prefix)
		}
		for name, v := range named {
			section := prefix + "." + name
			t, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("%s:%d: %s: want a [%s] table", c.File, lines.key(prefix, 0, name), name, section)
			}
			s, err := readTable(c.File, lines, section, 0, schema, t)
			if err != nil {
				return err
			}
			c.Sections[section] = []*Section{s}
		}
	}
	return nil
}

// schemaOf returns the schema of a section, also of one named table of a
// named-table section.
func schemaOf(section string) Schema {
	if s, ok := schemas[section]; ok {
		return s
	}
	if i := strings.LastIndexByte(section, '.'); i > 0 {
		return schemas[section[:i]+".*"]
	}
	return Schema{}
}

// Names returns the names of the tables of a named-table section, sorted:
// Names("udf.functions.*") lists NAME of every [udf.functions.NAME].
func (c *Config) Names(pattern string) []string {
	if c == nil {
		return nil
	}
	prefix := strings.TrimSuffix(pattern, "*")
	var out []string
	for section := range c.Sections {
		if name, ok := strings.CutPrefix(section, prefix); ok && name != "" && !strings.Contains(name, ".") {
			if _, named := schemas[section]; !named {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Table returns the one table of a section ([udf.functions.NAME]), or nil
// when the configuration has none.
func (c *Config) Table(section string) *Section {
	if c == nil || len(c.Sections[section]) == 0 {
		return nil
	}
	return c.Sections[section][0]
}

// checkConfigValue converts a decoded value to its key's kind; the problem
// it reports never contains a secret.
func checkConfigValue(kind Kind, v any) (any, string) {
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
	case Bool:
		if b, ok := v.(bool); ok {
			return b, ""
		}
		return nil, "want true or false, got " + typeName(v)
	case String:
		if s, ok := v.(string); ok {
			return s, ""
		}
		return nil, "want a string, got " + typeName(v)
	case Secret:
		if s, ok := v.(string); ok {
			return s, ""
		}
		return nil, "want a string, got " + typeName(v)
	case URL:
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
	case Int:
		if n, ok := v.(int64); ok {
			return n, ""
		}
		return nil, "want an integer, got " + typeName(v)
	case Strings:
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
	case Duration:
		s, ok := v.(string)
		if !ok {
			return nil, "want a duration string such as \"10s\", got " + typeName(v)
		}
		if s == "" {
			return time.Duration(0), ""
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, `want a duration such as "10s" (value not shown: it may be a secret on the wrong line)`
		}
		return d, ""
	case Map:
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

// checkNames rejects two workspaces or endpoints of the same name.
func (c *Config) checkNames(schema Schema, list []*Section) error {
	key := schema.NameKey
	if key == "" {
		return nil
	}
	seen := map[string]bool{}
	for _, s := range list {
		w := s.String(key)
		if seen[w] {
			return fmt.Errorf("%s:%d: [%s] %s: %q is defined twice", c.File, s.Line, s.Name, key, w)
		}
		seen[w] = true
	}
	return nil
}

// Notice is the one line telling which sections were ignored, or "".
func (c *Config) Notice() string {
	if c == nil || len(c.Ignored) == 0 {
		return ""
	}
	return fmt.Sprintf("tickrun: kapacitor.conf: ignoring sections [%s] (not used by tickrun)", strings.Join(c.Ignored, " "))
}

// Section returns the section for a handler: for sections with names
// (workspaces), the one named, or the default when name is ""; for a
// ByNameOnly section ([[httppost]]), the table named. A missing or
// disabled section is an error, unless the configuration is lenient.
func (c *Config) Section(section, name string) (*Section, error) {
	what := "[" + section + "]"
	if c == nil {
		return nil, fmt.Errorf("%s needs the %s section of kapacitor.conf: give it with --config FILE", section, what)
	}
	schema := schemaOf(section)
	list := c.Sections[section]
	var s *Section
	switch {
	case schema.ByNameOnly || name != "":
		for _, x := range list {
			if x.String(schema.NameKey) == name {
				s = x
			}
		}
		if s == nil && !c.Lenient {
			return nil, fmt.Errorf("%s %q is not defined by a [[%s]] section of %s", schema.NameKey, name, section, c.File)
		}
	case len(list) == 1:
		s = list[0]
	case len(list) > 1:
		for _, x := range list {
			if x.Bool("default") || x.String(schema.NameKey) == "" {
				s = x
			}
		}
		if s == nil {
			return nil, fmt.Errorf("%s has several [[%s]] %ss and none is default: name one", c.File, section, schema.NameKey)
		}
	}
	if s == nil {
		if !c.Lenient {
			return nil, fmt.Errorf("%s has no %s section", c.File, what)
		}
		s = &Section{Name: section, values: map[string]any{"enabled": true}}
		for k, d := range schema.Defaults {
			s.values[k] = d
		}
		for k, d := range schema.Lenient {
			s.values[k] = d
		}
		return s, nil
	}
	if !schema.ByNameOnly && !s.Bool("enabled") {
		return nil, fmt.Errorf("%s is disabled in kapacitor.conf (%s:%d)", section, c.File, s.Line)
	}
	return s, nil
}

// All returns every table of a section, in file order.
func (c *Config) All(section string) []*Section {
	if c == nil {
		return nil
	}
	return c.Sections[section]
}

// Value returns the decoded value of a key (nil if unset): a bool,
// string, int64, []string, map[string]string, or for keys of kind Any
// what the TOML decoder made of them.
func (s *Section) Value(key string) any { return s.values[key] }

// String returns a string option of the section ("" if unset).
func (s *Section) String(key string) string { v, _ := s.values[key].(string); return v }

// Bool returns a boolean option of the section.
func (s *Section) Bool(key string) bool { v, _ := s.values[key].(bool); return v }

// Int returns an integer option of the section.
func (s *Section) Int(key string) int64 { v, _ := s.values[key].(int64); return v }

// Duration returns a duration option of the section.
func (s *Section) Duration(key string) time.Duration { v, _ := s.values[key].(time.Duration); return v }

// Map returns a table-of-strings option of the section.
func (s *Section) Map(key string) map[string]string {
	v, _ := s.values[key].(map[string]string)
	return v
}

// Strings returns a list option of the section.
func (s *Section) Strings(key string) []string { v, _ := s.values[key].([]string); return v }

// Headers returns a table-of-strings option of the section, in key order.
func (s *Section) Headers(key string) [][2]string {
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
	full := "" // the whole dotted name of the current header
	for i, line := range strings.Split(string(data), "\n") {
		if m := tomlHeader.FindStringSubmatch(line); m != nil {
			full = m[1]
			section, _, _ = strings.Cut(full, ".") // [httppost.basic-auth] belongs to httppost
			// Every header is also indexed by its whole name, for the
			// named tables of [udf.functions.NAME].
			x.headers[full] = append(x.headers[full], i+1)
			x.keys[full] = append(x.keys[full], map[string]int{})
			continue
		}
		if m := tomlKey.FindStringSubmatch(line); m != nil {
			for _, name := range []string{section, full} {
				tables := x.keys[name]
				if len(tables) > 0 {
					if _, dup := tables[len(tables)-1][m[1]]; !dup {
						tables[len(tables)-1][m[1]] = i + 1
					}
				}
				if full == section {
					break
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
