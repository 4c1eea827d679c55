package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/parser"
)

// Var is the value of a script var given from outside, typed as in
// Kapacitor's vars file (`kapacitor define -vars FILE`):
// {"name": {"type": "float", "value": 20}}.
type Var struct {
	// Type is one of bool, int, float, duration, string, regex, lambda,
	// list and star.
	Type string
	// Value holds, by Type: bool, int64, float64, time.Duration, string
	// (string, regex: the pattern, lambda: the expression without
	// "lambda:"), []Var (list), nil (star).
	Value any
	// Description is the var's description, if the file gives one.
	Description string
	// Source names where the value came from (the vars file), for errors.
	Source string
}

// varTypes are the types a var may have (language.md §5.3).
var varTypes = []string{"bool", "int", "float", "duration", "string", "regex", "lambda", "list", "star"}

// ParseVars reads Kapacitor's vars file: a JSON object mapping each var
// name to {"type": T, "value": V[, "description": D]}. Numbers keep their
// JSON text, so an int is an integer and a float may be written 20 or
// 20.0; a duration is a TICKscript or Go duration string ("5m", "1h30m")
// or a number of nanoseconds; a list is an array of {"type": "string" or
// "star", "value": ...}. name is the file's name for errors and for the
// Source of each Var.
func ParseVars(name string, data []byte) (map[string]Var, error) {
	var raw map[string]json.RawMessage
	if err := decodeJSON(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %s", name, describeJSONError(data, err))
	}
	if raw == nil {
		return nil, fmt.Errorf("%s: want a JSON object of vars: {\"name\": {\"type\": ..., \"value\": ...}}", name)
	}
	out := make(map[string]Var, len(raw))
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v, err := parseVarJSON(raw[k])
		if err != nil {
			return nil, fmt.Errorf("%s: var %q: %v", name, k, err)
		}
		v.Source = name
		out[k] = v
	}
	return out, nil
}

// varJSON is one entry of a vars file.
type varJSON struct {
	Type        string          `json:"type"`
	Value       json.RawMessage `json:"value"`
	Description string          `json:"description"`
}

func decodeJSON(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("unexpected data after the JSON object")
	}
	return nil
}

// describeJSONError adds the line and column to a JSON syntax error.
func describeJSONError(data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := int(se.Offset) - 1 // Offset is just past the bad byte
		off = max(0, min(off, len(data)))
		line := 1 + bytes.Count(data[:off], []byte("\n"))
		col := off - bytes.LastIndexByte(data[:off], '\n')
		return fmt.Sprintf("line %d, column %d: %v", line, col, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the JSON ends too early"
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("want a JSON object of vars, got %s", te.Value)
	}
	return err.Error()
}

func parseVarJSON(raw json.RawMessage) (Var, error) {
	var j varJSON
	if err := decodeJSON(raw, &j); err != nil {
		return Var{}, errors.New(`want {"type": ..., "value": ...}`)
	}
	v := Var{Type: j.Type, Description: j.Description}
	if !isVarType(j.Type) {
		return v, fmt.Errorf("invalid type %q: want one of %s", j.Type, strings.Join(varTypes, ", "))
	}
	if j.Type == "star" {
		return v, nil
	}
	if len(j.Value) == 0 {
		return v, fmt.Errorf("no value for a var of type %s", j.Type)
	}
	var x any
	if err := decodeJSON(j.Value, &x); err != nil {
		return v, err
	}
	bad := func(want string) (Var, error) {
		return v, fmt.Errorf("a var of type %s wants %s, got %s", j.Type, want, strings.TrimSpace(string(j.Value)))
	}
	switch j.Type {
	case "bool":
		b, ok := x.(bool)
		if !ok {
			return bad("true or false")
		}
		v.Value = b
	case "int":
		n, ok := x.(json.Number)
		if !ok {
			return bad("an integer")
		}
		i, err := n.Int64()
		if err != nil {
			return bad("an integer")
		}
		v.Value = i
	case "float":
		n, ok := x.(json.Number)
		if !ok {
			return bad("a number")
		}
		f, err := n.Float64()
		if err != nil {
			return bad("a number")
		}
		v.Value = f
	case "duration":
		switch d := x.(type) {
		case json.Number:
			i, err := d.Int64()
			if err != nil {
				return bad(`a duration string such as "5m" or a number of nanoseconds`)
			}
			v.Value = time.Duration(i)
		case string:
			dur, err := parseDuration(d)
			if err != nil {
				return bad(`a duration string such as "5m" or a number of nanoseconds`)
			}
			v.Value = dur
		default:
			return bad(`a duration string such as "5m" or a number of nanoseconds`)
		}
	case "string", "lambda", "regex":
		s, ok := x.(string)
		if !ok {
			return bad("a string")
		}
		if j.Type == "regex" {
			if _, err := regexp.Compile(s); err != nil {
				return v, fmt.Errorf("invalid regex: %v", err)
			}
		}
		if j.Type == "lambda" {
			s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "lambda:"))
		}
		v.Value = s
	case "list":
		items, ok := x.([]any)
		if !ok {
			return bad(`an array of {"type": "string", "value": ...}`)
		}
		var list []Var
		for i := range items {
			b, _ := json.Marshal(items[i])
			item, err := parseVarJSON(b)
			if err != nil {
				return v, fmt.Errorf("item %d: %v", i+1, err)
			}
			if item.Type != "string" && item.Type != "star" {
				return v, fmt.Errorf("item %d: a list holds strings and *, got type %s", i+1, item.Type)
			}
			list = append(list, item)
		}
		v.Value = list
	}
	return v, nil
}

func isVarType(t string) bool {
	for _, x := range varTypes {
		if x == t {
			return true
		}
	}
	return false
}

// parseDuration reads a TICKscript duration literal ("5m", "1d", "10u"),
// else a Go duration ("1h30m").
func parseDuration(s string) (time.Duration, error) {
	if x, err := parser.ParseExpr("duration", s); err == nil {
		if d, ok := x.(*ast.DurationLit); ok {
			return d.Value, nil
		}
	}
	return time.ParseDuration(s)
}

// value turns v into a binder value at pos, checked against the type the
// script wants.
func (v Var) value(pos ast.Pos) (value, error) {
	out := value{pos: pos, isScalar: true}
	switch x := v.Value.(type) {
	case bool:
		out.scalar = eval.BoolValue(x)
	case int64:
		out.scalar = eval.IntValue(x)
	case float64:
		out.scalar = eval.FloatValue(x)
	case time.Duration:
		out.scalar = eval.DurationValue(x)
	case string:
		switch v.Type {
		case "regex":
			re, err := regexp.Compile(x)
			if err != nil {
				return value{}, err
			}
			out.scalar = eval.RegexValue(re)
		case "lambda":
			return lambdaVar(x, pos)
		default:
			out.scalar = eval.StringValue(x)
		}
	case []Var:
		out = value{pos: pos, list: []value{}}
		for _, item := range x {
			if item.Type == "star" {
				out.list = append(out.list, value{pos: pos, star: true})
				continue
			}
			s, _ := item.Value.(string)
			out.list = append(out.list, value{pos: pos, isScalar: true, scalar: eval.StringValue(s)})
		}
	case nil:
		return value{pos: pos, star: true}, nil
	}
	return out, nil
}

// lambdaVar parses the expression of a lambda var.
func lambdaVar(s string, pos ast.Pos) (value, error) {
	x, err := parser.ParseExpr("lambda", s)
	if err != nil {
		return value{}, fmt.Errorf("invalid lambda: %v", err)
	}
	return value{pos: pos, lambda: &compiled{src: &ast.Lambda{Pos: pos, Body: x}}}, nil
}

// varType is the type name of a bound value, as a vars file writes it.
func (v value) varType() string {
	switch {
	case v.lambda != nil:
		return "lambda"
	case v.star:
		return "star"
	case v.list != nil:
		return "list"
	case v.isScalar:
		switch v.scalar.Kind {
		case eval.Int:
			return "int"
		case eval.Float:
			return "float"
		case eval.Bool:
			return "bool"
		case eval.String:
			return "string"
		case eval.Duration:
			return "duration"
		case eval.Regex:
			return "regex"
		}
	}
	return ""
}

// VarInfo describes one var a script declares, as `kapacitor
// show-template` lists them.
type VarInfo struct {
	Name string
	Type string // bool, int, float, duration, string, regex, lambda, list or star
	// Default is the value in the script, as written (a string without
	// its quotes, a lambda without "lambda:"); "" for a typed declaration
	// (`var crit lambda`), which needs a value from outside.
	Default     string
	Required    bool   // declared with a type and no value
	Description string // the comment on the lines right above the declaration
	Pos         ast.Pos
}

// DeclaredVars lists the vars of a script that take a value from
// outside: every typed declaration and every var whose value is a
// constant, a lambda, a list or * (vars holding nodes are not vars of a
// template). It only parses the script.
func DeclaredVars(srcName, src string) ([]VarInfo, error) {
	prog, err := parser.Parse(srcName, src)
	if err != nil {
		return nil, err
	}
	comments := map[int]string{} // line of a comment's last line -> text
	for _, c := range prog.Comments {
		lines := strings.Split(c.Text, "\n")
		var text []string
		for _, l := range lines {
			text = append(text, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "//")))
		}
		comments[c.Pos.Line+len(lines)-1] = strings.Join(text, " ")
	}
	consts := map[string]eval.Value{}
	var out []VarInfo
	for _, st := range prog.Stmts {
		d, ok := st.(*ast.VarDecl)
		if !ok {
			continue
		}
		info := VarInfo{Name: d.Name.Name, Pos: d.Pos, Description: comments[d.Pos.Line-1]}
		if d.Type != nil {
			info.Type, info.Required = d.Type.Name, true
			out = append(out, info)
			continue
		}
		info.Default = ast.FormatExpr(d.Value)
		switch x := d.Value.(type) {
		case *ast.Lambda:
			info.Type = "lambda"
			info.Default = ast.FormatExpr(x.Body)
		case *ast.ListLit:
			info.Type = "list"
		case *ast.Star:
			info.Type = "star"
		case *ast.Chain:
			continue // a node
		default:
			if id, ok := x.(*ast.Ident); ok && (id.Name == "stream" || id.Name == "batch") {
				continue // a node
			}
			c, err := eval.Const(d.Value, &eval.Env{Var: func(name string) (eval.Value, error) {
				if v, ok := consts[name]; ok {
					return v, nil
				}
				return eval.Value{}, fmt.Errorf("not a constant")
			}})
			if err != nil {
				continue
			}
			consts[info.Name] = c
			if c.Kind == eval.String {
				info.Default = c.Str()
			}
			info.Type = value{isScalar: true, scalar: c}.varType()
			if info.Type == "" {
				continue
			}
		}
		out = append(out, info)
	}
	return out, nil
}

// Placeholder is a value of type typ that lets a template be bound
// without its vars (tickrun check of a template): TRUE for a lambda, the
// var's name for a string, 1 for numbers and 1s for a duration, so that
// properties which refuse zero accept it.
func Placeholder(name, typ string) Var {
	v := Var{Type: typ, Source: "a placeholder"}
	switch typ {
	case "bool":
		v.Value = false
	case "int":
		v.Value = int64(1)
	case "float":
		v.Value = 1.0
	case "duration":
		v.Value = time.Second
	case "string":
		v.Value = name
	case "regex":
		v.Value = ".*"
	case "lambda":
		v.Value = "TRUE"
	case "list":
		v.Value = []Var{}
	}
	return v
}
