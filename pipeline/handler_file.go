package pipeline

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/parser"
)

// HandlerSpec is a topic handler, as defined with Kapacitor's
// `define-topic-handler` (alert.md §14).
type HandlerSpec struct {
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

// LoadHandlerFile reads a topic handler file (.yaml, .yml or .json, both
// read as YAML, of which JSON is a subset). Errors name the file, the line
// and the field.
func LoadHandlerFile(path string) (*HandlerSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseHandlerSpec(path, data)
}

// ParseHandlerSpec parses a topic handler definition named name.
func ParseHandlerSpec(name string, data []byte) (*HandlerSpec, error) {
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
	s := &HandlerSpec{File: name, lines: map[string]int{}}
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
	k, ok := handlerKinds[s.Kind]
	if !ok {
		return nil, s.fieldErrorf("kind", "%v", unknownKind(s.Kind))
	}
	if err := k.validate(s.Kind, s.Options); err != nil {
		// Point at the option's own line when the message names one
		// ("path: log path must be absolute").
		for key := range s.Options {
			if strings.HasPrefix(err.Error(), key+":") && s.lines["options."+key] > 0 {
				return nil, fmt.Errorf("%s:%d: options.%v", s.File, s.lines["options."+key], err)
			}
		}
		return nil, s.fieldErrorf("options", "%v", err)
	}
	if _, err := s.compileMatch(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *HandlerSpec) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %s", s.File, fmt.Sprintf(format, args...))
}

func (s *HandlerSpec) fieldErrorf(field, format string, args ...any) error {
	if line := s.lines[field]; line > 0 {
		return fmt.Errorf("%s:%d: %s: %s", s.File, line, field, fmt.Sprintf(format, args...))
	}
	return s.errorf("%s: %s", field, fmt.Sprintf(format, args...))
}

// matchLevels are the identifiers a match expression may use.
var matchLevels = map[string]Level{"OK": OK, "INFO": Info, "WARNING": Warning, "CRITICAL": Critical}

// matchFuncs are the functions of match expressions (alert.md §14).
var matchFuncs = map[string]*eval.Func{
	"level": {Signatures: [][]eval.Kind{{}}, Result: eval.Int, Call: func(s eval.Scope, _ []eval.Value) (eval.Value, error) {
		return eval.IntValue(int64(s.(*matchScope).ev.Level)), nil
	}},
	"changed": {Signatures: [][]eval.Kind{{}}, Result: eval.Bool, Call: func(s eval.Scope, _ []eval.Value) (eval.Value, error) {
		return eval.BoolValue(s.(*matchScope).ev.Changed), nil
	}},
	"name": {Signatures: [][]eval.Kind{{}}, Result: eval.String, Call: func(s eval.Scope, _ []eval.Value) (eval.Value, error) {
		return eval.StringValue(s.(*matchScope).ev.Data.Name), nil
	}},
	"taskName": {Signatures: [][]eval.Kind{{}}, Result: eval.String, Call: func(s eval.Scope, _ []eval.Value) (eval.Value, error) {
		return eval.StringValue(s.(*matchScope).ev.TaskName), nil
	}},
	"alertDuration": {Signatures: [][]eval.Kind{{}}, Result: eval.Duration, Call: func(s eval.Scope, _ []eval.Value) (eval.Value, error) {
		return eval.DurationValue(s.(*matchScope).ev.Duration), nil
	}},
}

// compileMatch compiles the match expression (nil if there is none).
func (s *HandlerSpec) compileMatch() (*eval.Expr, error) {
	if strings.TrimSpace(s.Match) == "" {
		return nil, nil
	}
	line := s.lines["match"]
	x, err := parser.ParseExpr(s.File+" match", s.Match)
	if err != nil {
		return nil, s.fieldErrorf("match", "%s", err)
	}
	env := &eval.Env{
		Var: func(name string) (eval.Value, error) {
			if l, ok := matchLevels[name]; ok {
				return eval.IntValue(int64(l)), nil
			}
			return eval.Value{}, fmt.Errorf("unknown identifier %q", name)
		},
		Funcs: matchFuncs,
	}
	l, problems := eval.Compile(x, env, eval.Bool)
	if errs := problems.Errors(); len(errs) > 0 {
		var msgs []string
		for _, e := range errs {
			msgs = append(msgs, e.Msg)
		}
		_ = line
		return nil, s.fieldErrorf("match", "%s", strings.Join(msgs, "; "))
	}
	return l.New(), nil
}
