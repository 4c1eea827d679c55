package handler

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/tickrun/tickrun/pipeline/alert"
	"go.yaml.in/yaml/v3"
)

// Spec is a topic handler, as defined with Kapacitor's
// `define-topic-handler` (alert.md §14), or a handler an alert node's
// property adds (then with no topic, id and file).
type Spec struct {
	ID      string         `yaml:"id" json:"id"`
	Topic   string         `yaml:"topic" json:"topic"`
	Kind    string         `yaml:"kind" json:"kind"`
	Match   string         `yaml:"match" json:"match"`
	Options map[string]any `yaml:"options" json:"options"`

	File  string `yaml:"-" json:"-"` // where it was loaded from
	lines map[string]int
}

var (
	handlerIDChars    = regexp.MustCompile(`^[-._\p{L}0-9]+$`)
	handlerTopicChars = regexp.MustCompile(`^[-:._\p{L}0-9]+$`)
)

// LoadFile reads a topic handler file (.yaml, .yml or .json, both read as
// YAML, of which JSON is a subset). Errors name the file, the line and the
// field.
func LoadFile(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseFile(path, data)
}

// ParseFile parses a topic handler definition; name is the file's name,
// whose extension says the format.
func ParseFile(name string, data []byte) (*Spec, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
	default:
		return nil, fmt.Errorf("%s: a handler file must end in .yaml, .yml or .json", name)
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	s := &Spec{File: name, lines: map[string]int{}}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:1: a handler file is a mapping with id, topic, kind and options", name)
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		s.lines[m.Content[i].Value] = m.Content[i].Line
		if o := m.Content[i+1]; m.Content[i].Value == "options" && o.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(o.Content); j += 2 {
				s.lines["options."+o.Content[j].Value] = o.Content[j].Line
			}
		}
	}
	dec2 := yaml.NewDecoder(bytes.NewReader(data))
	dec2.KnownFields(true)
	if err := dec2.Decode(s); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	switch {
	case s.ID == "":
		return nil, s.errorf("missing id")
	case !handlerIDChars.MatchString(s.ID):
		return nil, s.fieldErrorf("id", "invalid id %q: letters, digits, '-', '.' and '_' only", s.ID)
	case s.Topic == "":
		return nil, s.errorf("missing topic")
	case !handlerTopicChars.MatchString(s.Topic):
		return nil, s.fieldErrorf("topic", "invalid topic %q: letters, digits, '-', ':', '.' and '_' only", s.Topic)
	case s.Kind == "":
		return nil, s.errorf("missing kind")
	}
	k, ok := kinds[s.Kind]
	if !ok {
		return nil, s.fieldErrorf("kind", "%v", UnknownKind(s.Kind))
	}
	if err := k.Validate(s.Options); err != nil {
		// Point at the option's own line when the message names one
		// ("path: log path must be absolute").
		for key := range s.Options {
			if strings.HasPrefix(err.Error(), key+":") && s.lines["options."+key] > 0 {
				return nil, fmt.Errorf("%s:%d: options.%v", s.File, s.lines["options."+key], err)
			}
		}
		return nil, s.fieldErrorf("options", "%v", err)
	}
	if _, err := s.CompileMatch(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Spec) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %s", s.File, fmt.Sprintf(format, args...))
}

func (s *Spec) fieldErrorf(field, format string, args ...any) error {
	if line := s.lines[field]; line > 0 {
		return fmt.Errorf("%s:%d: %s: %s", s.File, line, field, fmt.Sprintf(format, args...))
	}
	return s.errorf("%s: %s", field, fmt.Sprintf(format, args...))
}

// CompileMatch compiles the match expression (nil if there is none).
func (s *Spec) CompileMatch() (*alert.Match, error) {
	m, err := alert.CompileMatch(s.File+" match", s.Match)
	if err != nil {
		return nil, s.fieldErrorf("match", "%s", err)
	}
	return m, nil
}

// New creates the handler the spec describes.
func (s *Spec) New(env *Env) (alert.Handler, error) {
	h, err := New(s.Kind, s.Options, env)
	if err != nil && s.File != "" {
		return nil, s.errorf("%v", err)
	}
	return h, err
}

// Subscribe creates the handler s describes and subscribes it to s.Topic
// of r, with s's match expression.
func Subscribe(r *alert.Registry, s *Spec, env *Env) (alert.Handler, error) {
	m, err := s.CompileMatch()
	if err != nil {
		return nil, err
	}
	h, err := s.New(env)
	if err != nil {
		return nil, err
	}
	if err := r.Subscribe(s.Topic, s.ID, m, h); err != nil {
		h.Close(context.Background())
		return nil, err
	}
	return h, nil
}
