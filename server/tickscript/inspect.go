package tickscript

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/parser"
)

// DBRP is a `dbrp "db"."rp"` statement.
type DBRP struct{ DB, RP string }

// Var is a var declaration of a script, as a template lists it.
type Var struct {
	Name        string
	Type        string          // bool, int, float, duration, string, regex, lambda, star, list
	Value       json.RawMessage // the default as JSON; null for a typed declaration
	Description string          // the comment just above the declaration
}

// Info is what a script tells without running it.
type Info struct {
	Type  string // "stream" or "batch"; "" when the script has neither
	DBRPs []DBRP
	// Measurements are the measurements the script's stream from() nodes
	// read, sorted; AllMeasurements is set when one of them names none (or
	// names one only known at run time), so the task needs every point of
	// its dbrps.
	Measurements    []string
	AllMeasurements bool
	// AlertTopics holds, for each alert node in the order the engine
	// creates them, the topic it publishes to ("" for none).
	AlertTopics []string
	Vars        []Var // in declaration order
}

// Topics returns the distinct named topics of the script, sorted.
func (in *Info) Topics() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range in.AlertTopics {
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// Inspect parses src and reads its facts. vars are the values a task
// supplies (as the engine takes them), used to resolve a measurement or a
// topic given by a var.
func Inspect(src string, vars map[string]string) (*Info, error) {
	prog, err := parser.Parse("script", src)
	if err != nil {
		return nil, err
	}
	return InspectProgram(prog, vars), nil
}

// InspectProgram reads the facts of a parsed program (see Inspect).
func InspectProgram(prog *ast.Program, vars map[string]string) *Info {
	w := &walker{info: &Info{}, decls: map[string]*ast.VarDecl{}, vars: vars, froms: map[*ast.Chain]*fromNode{}, alerts: map[*ast.Chain]int{}}
	for _, s := range prog.Stmts {
		switch s := s.(type) {
		case *ast.DBRP:
			w.info.DBRPs = append(w.info.DBRPs, DBRP{DB: s.DB.Name, RP: s.RP.Name})
		case *ast.VarDecl:
			w.decls[s.Name.Name] = s
			if v, ok := declVar(prog, s); ok {
				w.info.Vars = append(w.info.Vars, v)
			}
			if s.Value != nil {
				w.expr(s.Value)
			}
		case *ast.ExprStmt:
			w.expr(s.X)
		}
	}
	w.finish()
	return w.info
}

// fromNode is a from() of the script and what it reads.
type fromNode struct {
	measurement string
	known       bool // measurement resolved to a constant
	set         bool // .measurement() was called
}

type walker struct {
	info      *Info
	decls     map[string]*ast.VarDecl
	vars      map[string]string
	froms     map[*ast.Chain]*fromNode
	fromOrder []*ast.Chain
	alerts    map[*ast.Chain]int // alert chain -> index in AlertTopics
}

// expr visits an expression in the engine's creation order: a chain's
// receiver before the chain itself.
func (w *walker) expr(x ast.Expr) {
	switch x := x.(type) {
	case *ast.Chain:
		w.expr(x.Receiver)
		for _, a := range x.Args {
			w.expr(a)
		}
		w.chain(x)
	case *ast.Ident:
		if w.info.Type == "" && (x.Name == "stream" || x.Name == "batch") {
			w.info.Type = x.Name
		}
	}
}

func (w *walker) chain(c *ast.Chain) {
	switch {
	case c.Op == ast.Pipe && c.Method.Name == "from":
		w.froms[c] = &fromNode{}
		w.fromOrder = append(w.fromOrder, c)
	case c.Op == ast.Pipe && (c.Method.Name == "alert" || c.Method.Name == "deadman"):
		w.alerts[c] = len(w.info.AlertTopics)
		w.info.AlertTopics = append(w.info.AlertTopics, "")
	case c.Op == ast.Dot && c.Method.Name == "measurement":
		if f := w.froms[w.node(c.Receiver)]; f != nil {
			f.set = true
			if len(c.Args) == 1 {
				f.measurement, f.known = w.constString(c.Args[0])
			}
		}
	case c.Op == ast.Dot && c.Method.Name == "topic":
		if i, ok := w.alerts[w.node(c.Receiver)]; ok && len(c.Args) == 1 {
			w.info.AlertTopics[i], _ = w.constString(c.Args[0])
		}
	}
}

// node returns the pipe chain that creates the node a property applies
// to: the receiver with property calls skipped, through vars holding
// chains.
func (w *walker) node(x ast.Expr) *ast.Chain {
	for range 100 { // bounded: a var cannot refer to itself, but be safe
		switch v := x.(type) {
		case *ast.Chain:
			if v.Op != ast.Dot {
				return v
			}
			x = v.Receiver
		case *ast.Ident:
			d := w.decls[v.Name]
			if d == nil || d.Value == nil {
				return nil
			}
			x = d.Value
		default:
			return nil
		}
	}
	return nil
}

// constString resolves a string argument: a literal, or a var holding
// one (declared, or supplied by the task).
func (w *walker) constString(x ast.Expr) (string, bool) {
	switch v := x.(type) {
	case *ast.StringLit:
		return v.Value, true
	case *ast.Ident:
		if s, ok := w.vars[v.Name]; ok {
			return s, true
		}
		if d := w.decls[v.Name]; d != nil && d.Value != nil {
			return w.constString(d.Value)
		}
	}
	return "", false
}

func (w *walker) finish() {
	if w.info.Type != "stream" {
		return
	}
	set := map[string]bool{}
	for _, c := range w.fromOrder {
		f := w.froms[c]
		if !f.set || !f.known {
			w.info.AllMeasurements = true
			continue
		}
		set[f.measurement] = true
	}
	if len(w.fromOrder) == 0 {
		w.info.AllMeasurements = true
	}
	for m := range set {
		w.info.Measurements = append(w.info.Measurements, m)
	}
	sort.Strings(w.info.Measurements)
}

// declVar describes a declaration as a template var; chains and other
// non-literal values are not vars.
func declVar(prog *ast.Program, d *ast.VarDecl) (Var, bool) {
	v := Var{Name: d.Name.Name, Description: description(prog, d), Value: json.RawMessage("null")}
	if d.Type != nil {
		v.Type = d.Type.Name
		return v, true
	}
	typ, val, ok := literal(d.Value)
	if !ok {
		return Var{}, false
	}
	v.Type = typ
	v.Value, _ = json.Marshal(val)
	return v, true
}

// literal returns the var type and JSON value of a literal.
func literal(x ast.Expr) (string, any, bool) {
	switch v := x.(type) {
	case *ast.StringLit:
		return "string", v.Value, true
	case *ast.IntLit:
		return "int", v.Value, true
	case *ast.FloatLit:
		return "float", v.Value, true
	case *ast.BoolLit:
		return "bool", v.Value, true
	case *ast.DurationLit:
		return "duration", int64(v.Value), true
	case *ast.RegexLit:
		return "regex", v.Pattern, true
	case *ast.Star:
		return "star", nil, true
	case *ast.Lambda:
		return "lambda", ast.FormatExpr(v.Body), true
	case *ast.ListLit:
		var items []map[string]any
		for _, it := range v.Items {
			switch it := it.(type) {
			case *ast.StringLit:
				items = append(items, map[string]any{"type": "string", "value": it.Value})
			case *ast.Star:
				items = append(items, map[string]any{"type": "star", "value": nil})
			default:
				return "", nil, false
			}
		}
		return "list", items, true
	}
	return "", nil, false
}

// description returns the text of the comment that ends on the line just
// above d, without the comment markers.
func description(prog *ast.Program, d *ast.VarDecl) string {
	for _, c := range prog.Comments {
		lines := strings.Split(c.Text, "\n")
		if c.Pos.Line+len(lines) != d.Pos.Line {
			continue
		}
		for i, l := range lines {
			lines[i] = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "//"))
		}
		return strings.Join(lines, " ")
	}
	return ""
}
