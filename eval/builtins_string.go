package eval

import (
	"fmt"
	"strings"
)

// String functions (lambda.md §11.3). Lengths and indexes are in bytes.

func init() {
	for name, f := range map[string]func(string, string) bool{
		"strContains": strings.Contains, "strContainsAny": strings.ContainsAny,
		"strHasPrefix": strings.HasPrefix, "strHasSuffix": strings.HasSuffix,
	} {
		register(&builtin{name: name, pure: true, sigs: []signature{sig(Bool, String, String)},
			call: func(_ *Expr, _ Scope, a []Value) (Value, error) { return boolVal(f(a[0].Str(), a[1].Str())), nil }})
	}
	for name, f := range map[string]func(string, string) int{
		"strCount": strings.Count, "strIndex": strings.Index, "strIndexAny": strings.IndexAny,
		"strLastIndex": strings.LastIndex, "strLastIndexAny": strings.LastIndexAny,
	} {
		register(&builtin{name: name, pure: true, sigs: []signature{sig(Int, String, String)},
			call: func(_ *Expr, _ Scope, a []Value) (Value, error) {
				return IntValue(int64(f(a[0].Str(), a[1].Str()))), nil
			}})
	}
	for name, f := range map[string]func(string, string) string{
		"strTrim": strings.Trim, "strTrimLeft": strings.TrimLeft, "strTrimRight": strings.TrimRight,
		"strTrimPrefix": strings.TrimPrefix, "strTrimSuffix": strings.TrimSuffix,
	} {
		register(&builtin{name: name, pure: true, sigs: []signature{sig(String, String, String)},
			call: func(_ *Expr, _ Scope, a []Value) (Value, error) {
				return StringValue(f(a[0].Str(), a[1].Str())), nil
			}})
	}
	for name, f := range map[string]func(string) string{
		"strToLower": strings.ToLower, "strToUpper": strings.ToUpper, "strTrimSpace": strings.TrimSpace,
	} {
		register(&builtin{name: name, pure: true, sigs: []signature{sig(String, String)},
			call: func(_ *Expr, _ Scope, a []Value) (Value, error) { return StringValue(f(a[0].Str())), nil }})
	}
	register(
		&builtin{name: "strLength", pure: true, sigs: []signature{sig(Int, String)},
			call: func(_ *Expr, _ Scope, a []Value) (Value, error) { return IntValue(int64(len(a[0].Str()))), nil }},
		&builtin{name: "strReplace", pure: true, sigs: []signature{sig(String, String, String, String, Int)},
			call: strReplace},
		&builtin{name: "strSubstring", pure: true, sigs: []signature{sig(String, String, Int, Int)},
			call: strSubstring},
		&builtin{name: "regexReplace", pure: true, sigs: []signature{sig(String, Regex, String, String)},
			call: func(_ *Expr, _ Scope, a []Value) (Value, error) {
				return StringValue(a[0].Regexp().ReplaceAllString(a[1].Str(), a[2].Str())), nil
			}},
	)
}

func strReplace(_ *Expr, _ Scope, a []Value) (Value, error) {
	return StringValue(strings.Replace(a[0].Str(), a[1].Str(), a[2].Str(), int(a[3].Int()))), nil
}

// strSubstring reproduces Kapacitor's checks, including the rejection of
// stop == len(s); start > stop panics there and is an error here.
func strSubstring(_ *Expr, _ Scope, a []Value) (Value, error) {
	s, start, stop := a[0].Str(), a[1].Int(), a[2].Int()
	if start < 0 {
		return Value{}, fmt.Errorf("found negative index for strSubstring: %d", start)
	}
	if stop < 0 {
		return Value{}, fmt.Errorf("found negative index for strSubstring: %d", stop)
	}
	if stop >= int64(len(s)) {
		return Value{}, fmt.Errorf("stop index too large for string in strSubstring: %d", stop)
	}
	if start > stop {
		return Value{}, fmt.Errorf("runtime error: slice bounds out of range [%d:%d]", start, stop)
	}
	return StringValue(s[start:stop]), nil
}
