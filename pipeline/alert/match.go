package alert

import (
	"fmt"
	"strings"

	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/parser"
)

// Match is a compiled match expression of a topic handler (alert.md §14):
// a lambda over the event's tags and the functions level(), changed(),
// name(), taskName() and alertDuration(), compared with the levels OK,
// INFO, WARNING and CRITICAL.
type Match struct {
	expr *eval.Expr
}

// matchLevels are the identifiers a match expression may use.
var matchLevels = map[string]Level{"OK": OK, "INFO": Info, "WARNING": Warning, "CRITICAL": Critical}

// matchFuncs are the functions of match expressions.
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

// CompileMatch compiles a match expression; name is its source's name in
// error messages. An empty expression gives a nil Match, which matches
// every event.
func CompileMatch(name, src string) (*Match, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	x, err := parser.ParseExpr(name, src)
	if err != nil {
		return nil, err
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
		return nil, fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return &Match{expr: l.New()}, nil
}

// Eval reports whether ev matches. A Match is not safe for concurrent
// use; a Registry evaluates it under its topic's lock.
func (m *Match) Eval(ev *Event) (bool, error) {
	return m.expr.EvalBool(&matchScope{ev: ev})
}

// matchScope is what a match expression sees: the event's tags as
// references, and the event through the match functions.
type matchScope struct{ ev *Event }

func (s *matchScope) Lookup(name string) (eval.Value, error) {
	if v, ok := s.ev.Tag(name); ok {
		return eval.StringValue(v), nil
	}
	return eval.Value{}, fmt.Errorf("no tag exists for %s", name)
}

// LookupHint implements eval.Scope; events have no field order to hint.
func (s *matchScope) LookupHint(name string, _ *int) (eval.Value, error) { return s.Lookup(name) }

// LookupField implements eval.Scope: events have no fields.
func (s *matchScope) LookupField(string, *int) *eval.Value { return nil }

func (s *matchScope) Time() int64 { return s.ev.Time }
