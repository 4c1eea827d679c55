package eval_test

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

// kv is one field or tag of a test point.
type kv struct {
	name string
	v    eval.Value
}

// point is a minimal eval.Scope: fields and tags scanned linearly, as the
// pipeline's point does.
type point struct {
	fields []kv
	tags   []kv
	time   int64
}

func (p *point) Lookup(name string) (eval.Value, error) {
	for i := range p.fields {
		if p.fields[i].name == name {
			for j := range p.tags {
				if p.tags[j].name == name {
					return eval.Value{}, fmt.Errorf("cannot have field and tags with same name %q", name)
				}
			}
			return p.fields[i].v, nil
		}
	}
	for i := range p.tags {
		if p.tags[i].name == name {
			return p.tags[i].v, nil
		}
	}
	return eval.Value{}, nil
}

func (p *point) Time() int64 { return p.time }

// LookupField is the fast path of LookupHint, like pipeline.Point's.
func (p *point) LookupField(name string, hint *int) *eval.Value {
	i := *hint
	if i >= len(p.fields) || p.fields[i].name != name {
		return nil
	}
	for j := range p.tags {
		if p.tags[j].name == name {
			return nil
		}
	}
	return &p.fields[i].v
}

// LookupHint makes the test point an eval.HintedScope, like pipeline.Point.
func (p *point) LookupHint(name string, hint *int) (eval.Value, error) {
	if i := *hint; i < len(p.fields) && p.fields[i].name == name {
		for j := range p.tags {
			if p.tags[j].name == name {
				return eval.Value{}, fmt.Errorf("cannot have field and tags with same name %q", name)
			}
		}
		return p.fields[i].v, nil
	}
	for i := range p.fields {
		if p.fields[i].name == name {
			*hint = i
			break
		}
	}
	return p.Lookup(name)
}

var _ eval.Scope = (*point)(nil)

// pointTime is a Friday, 13:45:30.5 UTC.
var pointTime = time.Date(2024, 3, 15, 13, 45, 30, 500000000, time.UTC)

func testPoint() *point {
	return &point{
		fields: []kv{
			{"f", eval.FloatValue(1.5)},
			{"usage_idle", eval.FloatValue(5.5)},
			{"i", eval.IntValue(3)},
			{"neg", eval.IntValue(-7)},
			{"zero", eval.IntValue(0)},
			{"fzero", eval.FloatValue(0)},
			{"s", eval.StringValue("web01")},
			{"b", eval.BoolValue(true)},
			{"nb", eval.BoolValue(false)},
			{"dup", eval.IntValue(1)},
			{"big", eval.IntValue(math.MaxInt64)},
		},
		tags: []kv{
			{"host", eval.StringValue("myweb01")},
			{"dup", eval.StringValue("x")},
		},
		time: pointTime.UnixNano(),
	}
}

// testVars are the script variables visible in test lambdas.
var testVars = map[string]eval.Value{
	"warn":   eval.FloatValue(80),
	"n":      eval.IntValue(4),
	"period": eval.DurationValue(5 * time.Minute),
	"name":   eval.StringValue("cpu"),
	"re":     eval.RegexValue(regexp.MustCompile("^web")),
	"yes":    eval.BoolValue(true),
}

func testEnv() *eval.Env {
	return &eval.Env{Var: func(name string) (eval.Value, error) {
		if v, ok := testVars[name]; ok {
			return v, nil
		}
		names := make([]string, 0, len(testVars))
		for n := range testVars {
			names = append(names, n)
		}
		sort.Strings(names)
		return eval.Value{}, fmt.Errorf("name %q is undefined. Names in scope: %s", name, strings.Join(names, ","))
	}}
}

// val converts a Go value to an eval.Value for expectations.
func val(x any) eval.Value {
	switch x := x.(type) {
	case eval.Value:
		return x
	case float64:
		return eval.FloatValue(x)
	case int:
		return eval.IntValue(int64(x))
	case int64:
		return eval.IntValue(x)
	case string:
		return eval.StringValue(x)
	case bool:
		return eval.BoolValue(x)
	case time.Duration:
		return eval.DurationValue(x)
	case time.Time:
		return eval.TimeValue(x.UnixNano())
	case *regexp.Regexp:
		return eval.RegexValue(x)
	}
	panic(fmt.Sprintf("val: unsupported %T", x))
}

// sameValue is Value.Equal, with NaN equal to NaN and regexes compared by
// pattern.
func sameValue(a, b eval.Value) bool {
	if a.Kind == eval.Float && b.Kind == eval.Float && math.IsNaN(a.Float()) && math.IsNaN(b.Float()) {
		return true
	}
	if a.Kind == eval.Regex && b.Kind == eval.Regex {
		return a.Regexp().String() == b.Regexp().String()
	}
	return a.Equal(b)
}

// problems renders a problem list as "E col: msg" / "W col: msg" lines.
func problems(l ast.ErrorList) []string {
	var out []string
	for _, e := range l {
		k := "E"
		if e.Warning {
			k = "W"
		}
		out = append(out, fmt.Sprintf("%s %d: %s", k, e.Pos.Col, e.Msg))
	}
	return out
}
