package pipeline

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/parser"
)

// binder evaluates a parsed script once, top to bottom, and builds the node
// graph (language.md §5): variables, chains, properties, lambdas.
type binder struct {
	src      *ast.Source
	opts     *Options
	vars     map[string]value
	nodes    []node
	stream   *streamNode
	dbrps    []DBRP
	errs     ast.ErrorList // errors and warnings, in the order found
	batchPos *ast.Pos      // where a batch source was first used
	input    node          // the node whose output the lambdas being bound see
	batch    *batchSource
	influx   *influxClients // shared by the nodes that talk to InfluxDB
}

// DBRP is a database and retention policy pair.
type DBRP struct {
	Database, RP string
}

// String returns "db"."rp" as written in scripts.
func (d DBRP) String() string { return strconv.Quote(d.Database) + "." + strconv.Quote(d.RP) }

func newBinder(src *ast.Source, opts *Options) *binder {
	b := &binder{src: src, opts: opts, vars: map[string]value{}}
	b.stream = &streamNode{}
	b.addNode(b.stream, registry["stream"], ast.Pos{})
	return b
}

func (b *binder) addNode(n node, s *Spec, pos ast.Pos) {
	nb := n.base()
	nb.self = n
	nb.spec = s
	nb.id = len(b.nodes)
	nb.name = s.Kind + strconv.Itoa(nb.id)
	nb.pos = pos
	b.nodes = append(b.nodes, n)
}

// report records err (an *ast.Error, an ast.ErrorList or another error at
// pos).
func (b *binder) report(pos ast.Pos, err error) {
	switch e := err.(type) {
	case *ast.Error:
		b.errs.Add(e)
	case ast.ErrorList:
		for _, x := range e {
			b.errs.Add(x)
		}
	default:
		b.errs.Add(&ast.Error{Pos: pos, Msg: err.Error()})
	}
}

func (b *binder) program(p *ast.Program) {
	for _, s := range p.Stmts {
		switch s := s.(type) {
		case *ast.DBRP:
			b.dbrps = append(b.dbrps, DBRP{s.DB.Name, s.RP.Name})
		case *ast.VarDecl:
			b.varDecl(s)
		case *ast.ExprStmt:
			if _, err := b.expr(s.X); err != nil {
				b.report(s.Position(), err)
			}
		}
	}
}

func (b *binder) varDecl(d *ast.VarDecl) {
	name := d.Name.Name
	if _, exists := b.vars[name]; exists {
		b.report(d.Name.Pos, ast.Errorf(d.Name.Pos, "attempted to redefine %s, vars are immutable", name))
		return
	}
	if d.Type != nil {
		v, err := b.typedVar(d)
		if err != nil {
			b.report(d.Pos, err)
			b.vars[name] = value{pos: d.Pos, broken: true}
			return
		}
		b.vars[name] = v
		return
	}
	v, err := b.expr(d.Value)
	if err != nil {
		b.report(d.Value.Position(), err)
		// Bind the name anyway so later uses do not add "undefined" noise.
		b.vars[name] = value{pos: d.Pos, broken: true}
		return
	}
	if s, ok := b.opts.Vars[name]; ok && v.isScalar {
		ov, err := parseVar(s, v.scalar.Kind.String(), d.Pos)
		if err != nil {
			b.report(d.Pos, err)
		} else {
			v = ov
		}
	} else if x, ok := b.opts.VarValues[name]; ok && v.node == nil {
		ov, err := b.givenVar(d, v.varType(), x)
		if err != nil {
			b.report(d.Pos, err)
		} else {
			v = ov
		}
	}
	b.vars[name] = v
}

// givenVar checks a value from a vars file against the type the script
// gives the var and converts it.
func (b *binder) givenVar(d *ast.VarDecl, typ string, x Var) (value, error) {
	if typ == "boolean" {
		typ = "bool"
	}
	if x.Type != typ {
		return value{}, ast.Errorf(d.Pos, "var %q must be of type %s, but %s gives it type %s", d.Name.Name, typ, x.Source, x.Type)
	}
	v, err := x.value(d.Pos)
	if err != nil {
		return value{}, ast.Errorf(d.Pos, "var %q from %s: %v", d.Name.Name, x.Source, err)
	}
	return v, nil
}

// typedVar resolves `var name type` from Options.Vars (language.md §5.3).
func (b *binder) typedVar(d *ast.VarDecl) (value, error) {
	typ := d.Type.Name
	switch typ {
	case "int", "float", "bool", "string", "regex", "duration", "lambda", "list", "star":
	default:
		return value{}, ast.Errorf(d.Type.Pos, "invalid var type %q", typ)
	}
	s, ok := b.opts.Vars[d.Name.Name]
	if !ok {
		if x, ok := b.opts.VarValues[d.Name.Name]; ok {
			return b.givenVar(d, typ, x)
		}
		var given []string
		for k := range b.opts.Vars {
			given = append(given, k)
		}
		for k := range b.opts.VarValues {
			given = append(given, k)
		}
		return value{}, ast.Errorf(d.Pos, "missing value for var %q of type %s: give it with --vars FILE or --var %s=VALUE%s", d.Name.Name, typ, d.Name.Name, strings.Replace(suggest(d.Name.Name, given), "did you mean", "a value was given for", 1))
	}
	if typ == "lambda" {
		x, err := parser.ParseExpr("var "+d.Name.Name, s)
		if err != nil {
			return value{}, ast.Errorf(d.Pos, "invalid lambda for var %q: %v", d.Name.Name, err)
		}
		return value{pos: d.Pos, lambda: &compiled{src: &ast.Lambda{Pos: d.Pos, Body: x}}}, nil
	}
	return parseVar(s, typ, d.Pos)
}

// parseVar parses a var value supplied from outside as type typ.
func parseVar(s, typ string, pos ast.Pos) (value, error) {
	bad := func(err error) (value, error) {
		return value{}, ast.Errorf(pos, "invalid value %q for a var of type %s: %v", s, typ, err)
	}
	v := value{pos: pos, isScalar: true}
	switch typ {
	case "int":
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return bad(err)
		}
		v.scalar = eval.IntValue(i)
	case "float":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return bad(err)
		}
		v.scalar = eval.FloatValue(f)
	case "bool", "boolean":
		x, err := strconv.ParseBool(s)
		if err != nil {
			return bad(err)
		}
		v.scalar = eval.BoolValue(x)
	case "string":
		v.scalar = eval.StringValue(s)
	case "duration":
		d, err := time.ParseDuration(s)
		if err != nil {
			return bad(err)
		}
		v.scalar = eval.DurationValue(d)
	case "regex":
		re, err := regexp.Compile(s)
		if err != nil {
			return bad(err)
		}
		v.scalar = eval.RegexValue(re)
	case "star":
		return value{pos: pos, star: true}, nil
	case "list":
		v = value{pos: pos}
		for _, item := range strings.Split(s, ",") {
			v.list = append(v.list, value{pos: pos, isScalar: true, scalar: eval.StringValue(strings.TrimSpace(item))})
		}
	default:
		return bad(fmt.Errorf("unsupported type"))
	}
	return v, nil
}

// env is what lambdas and constant expressions see of the script.
func (b *binder) env() *eval.Env {
	known := knownFields(b.input)
	return &eval.Env{Field: func(name string) (eval.Kind, bool) {
		k, ok := known[name]
		return k, ok
	}, Var: func(name string) (eval.Value, error) {
		v, ok := b.vars[name]
		if !ok {
			return eval.Value{}, b.undefined(name)
		}
		if v.broken {
			return eval.Value{}, errBrokenVar
		}
		if !v.isScalar {
			return eval.Value{}, fmt.Errorf("variable %q holds %s and cannot be used in an expression", name, v.describe())
		}
		return v.scalar, nil
	}}
}

// undefined is Kapacitor's message for an unknown name (language.md §5.2).
func (b *binder) undefined(name string) error {
	names := []string{"stream"}
	for n := range b.vars {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Errorf("name %q is undefined. Names in scope: %s%s", name, strings.Join(names, ","), suggest(name, names))
}

// expr evaluates a script expression to a value.
func (b *binder) expr(x ast.Expr) (value, error) {
	switch x := x.(type) {
	case *ast.Ident:
		switch x.Name {
		case "stream":
			if b.batch != nil {
				return value{}, ast.Errorf(x.Pos, "a task reads either stream or batch: this one already queries with batch (line %d)", b.batchPos.Line)
			}
			return value{pos: x.Pos, node: b.stream}, nil
		case "batch":
			if b.batch == nil {
				if len(b.stream.children) > 0 {
					return value{}, ast.Errorf(x.Pos, "a task reads either stream or batch: this one already reads stream")
				}
				// A batch task's source is node 0 (batch0, query1, ...),
				// as in Kapacitor: the stream node leaves the graph.
				if len(b.nodes) == 1 {
					b.nodes = b.nodes[:0]
				}
				b.batch = &batchSource{}
				b.addNode(b.batch, registry["batch"], x.Pos)
				b.batch.out = batchEdge
				p := x.Pos
				b.batchPos = &p
			}
			return value{pos: x.Pos, node: b.batch}, nil
		}
		v, ok := b.vars[x.Name]
		if !ok {
			return value{}, ast.Errorf(x.Pos, "%s", b.undefined(x.Name).Error())
		}
		if v.broken {
			return value{}, errAlreadyReported
		}
		v.pos = x.Pos
		return v, nil
	case *ast.Reference:
		return value{pos: x.Pos, ref: x}, nil
	case *ast.Star:
		return value{pos: x.Pos, star: true}, nil
	case *ast.Lambda:
		return value{pos: x.Pos, lambda: &compiled{src: x}}, nil
	case *ast.ListLit:
		v := value{pos: x.Pos, list: []value{}}
		for _, item := range x.Items {
			iv, err := b.expr(item)
			if err != nil {
				return value{}, err
			}
			v.list = append(v.list, iv)
		}
		return v, nil
	case *ast.Chain:
		return b.chain(x)
	case *ast.Call:
		if x.Func.Name == "time" {
			// time(d[, offset]) groups a batch query by time; only the
			// query node's groupBy reads it (call), elsewhere it is an
			// opaque string.
			return value{pos: x.Pos, isScalar: true, scalar: eval.StringValue(ast.FormatExpr(x)), call: x}, nil
		}
	}
	c, err := eval.Const(x, b.env())
	if err != nil {
		return value{}, err
	}
	if c.Kind == eval.Regex || c.Kind != eval.Missing {
		return value{pos: x.Position(), isScalar: true, scalar: c}, nil
	}
	return value{pos: x.Position(), isScalar: true, scalar: c}, nil
}

// methodName maps Kapacitor's accepted capitalised spelling (|Alert()) to
// the documented one.
func methodName(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// chain evaluates a chain of links, innermost first, in a loop: a script
// of a million links costs no deep recursion.
func (b *binder) chain(c *ast.Chain) (value, error) {
	links := c.Links()
	recv, err := b.expr(links[0].Receiver)
	if err != nil {
		return value{}, err
	}
	for _, l := range links {
		if recv, err = b.link(l, recv); err != nil {
			return value{}, err
		}
	}
	return recv, nil
}

// link evaluates one link `recv|m(args)`, `recv.m(args)` or `recv@m(args)`
// of a chain, its receiver evaluated.
func (b *binder) link(c *ast.Chain, recv value) (value, error) {
	if recv.node == nil {
		return value{}, ast.Errorf(c.Method.Pos, "cannot call %s%s on %s: only nodes have methods", c.Op, c.Method.Name, recv.describe())
	}
	var args []value
	for _, a := range c.Args {
		v, err := b.expr(a)
		if err != nil {
			return value{}, err
		}
		args = append(args, v)
	}
	if len(args) == 1 && args[0].list != nil {
		args = args[0].list
	}
	name := methodName(c.Method.Name)
	n := recv.node
	spec := n.base().spec
	switch c.Op {
	case ast.At:
		return b.udfChain(c, n, args)
	case ast.Pipe:
		child, ok := registry[name]
		if !ok || name == "stream" || name == "batch" || (spec.Method == "stream" && name != "from") ||
			(spec.Method == "batch") != (name == "query" || name == "queryFlux") {
			return value{}, b.noMethod(c, spec, name, true)
		}
		if !c.Parens {
			return value{}, ast.Errorf(c.Method.Pos, "chaining method %q needs parentheses: |%s()", name, name)
		}
		if err := checkArgs(name+"()", c, child.Args, child.MinArgs, child.Variadic, args); err != nil {
			return value{}, err
		}
		in := n.base().out
		if in == batchEdge && child.Wants == streamEdge {
			return value{}, ast.Errorf(c.Method.Pos, "%s() needs points, but %s provides batches: add an aggregate such as |mean('field') first, or place %s() before the window", name, spec.Method, name)
		}
		b.input = n
		out, err := child.New(b, c, args)
		if err != nil {
			return value{}, positioned(c.Method.Pos, err)
		}
		if _, ok := out.(batchNode); in == batchEdge && !ok {
			return value{}, ast.Errorf(c.Method.Pos, "%s() on batches is not supported by tickrun: add an aggregate such as |mean('field') after the window first", name)
		}
		out.base().out = child.Provides
		if child.Provides == anyEdge {
			out.base().out = in
		}
		b.addNode(out, child, c.Method.Pos)
		out.base().parent = n
		n.base().children = append(n.base().children, out)
		return value{pos: c.Pos, node: out}, nil
	default: // ast.Dot
		p := spec.prop(name)
		if p == nil {
			b.report(c.Method.Pos, b.noMethod(c, spec, name, false))
			return value{pos: c.Pos, node: n}, nil
		}
		if !c.Parens {
			return value{}, ast.Errorf(c.Method.Pos, "property %q needs parentheses: .%s(...)", name, name)
		}
		// A bad property is reported and the chain goes on, so one check
		// shows every mistake of a script.
		if err := checkArgs("."+name+"()", c, p.Args, p.MinArgs, p.Variadic, args); err != nil {
			b.report(c.Method.Pos, err)
		} else {
			b.input = n.base().parent // a property's lambdas see the node's input
			forgetKinds(n)
			if err := p.set(b, n, c, args); err != nil {
				b.report(c.Method.Pos, positioned(c.Method.Pos, err))
			}
		}
		return value{pos: c.Pos, node: n}, nil
	}
}

// noMethod explains a method the receiver does not have, in Kapacitor's
// terms (language.md §6) plus a suggestion.
func (b *binder) noMethod(c *ast.Chain, spec *Spec, name string, piped bool) error {
	on := spec.Method
	_, isChain := registry[name]
	isProp := spec.prop(name) != nil
	switch {
	case piped && isProp:
		return ast.Errorf(c.Method.Pos, "no chaining method %q on %s, but property does exist. Use '.' operator instead: 'node.%s(..)'.", name, on, name)
	case !piped && isChain && spec.Method != "stream" || !piped && name == "from" && spec.Method == "stream":
		return ast.Errorf(c.Method.Pos, "no property method %q on %s, but chaining method does exist. Use '|' operator instead: 'node|%s(..)'.", name, on, name)
	case piped && isChain && spec.Method == "stream":
		return ast.Errorf(c.Method.Pos, "no chaining method %q on stream: a stream task starts with stream|from()", name)
	}
	if piped && unsupportedNodes[name] {
		return ast.Errorf(c.Method.Pos, "node %q is not supported by tickrun", name)
	}
	if !piped && unsupportedProps[spec.Method+"."+name] {
		return ast.Errorf(c.Method.Pos, "property %q of %s is not supported by tickrun", name, on)
	}
	var candidates []string
	if spec.Method == "stream" {
		candidates = []string{"from"}
	} else {
		for m := range registry {
			if m != "stream" {
				candidates = append(candidates, m)
			}
		}
	}
	for _, p := range spec.Props {
		candidates = append(candidates, p.Name)
	}
	return ast.Errorf(c.Method.Pos, "no method or property %q on %s%s", name, on, suggest(name, candidates))
}

// compileLambda compiles a lambda argument for one use site.
func (b *binder) compileLambda(v value, want eval.Kind) (*compiled, error) {
	l, problems := eval.Compile(v.lambda.src.Body, b.env(), want)
	for _, p := range problems {
		if p.Msg != errBrokenVar.Error() {
			b.errs.Add(p)
		}
	}
	if problems.Err() != nil {
		return nil, errAlreadyReported
	}
	return &compiled{src: v.lambda.src, lambda: l}, nil
}

// errAlreadyReported stops a property whose problems are already in the
// binder's list.
var errAlreadyReported = &ast.Error{Msg: "already reported"}

// errBrokenVar is what a lambda sees of a variable whose definition failed;
// the problem it causes is dropped (the definition's error says it all).
var errBrokenVar = errors.New("variable with an invalid definition")

// unsupportedNodes are Kapacitor chain methods tickrun rejects by name
// rather than calling them unknown (nodes.md §22). Since issue 14 tickrun
// has every node of Kapacitor 1.8.
var unsupportedNodes = map[string]bool{}

// unsupportedProps are Kapacitor properties tickrun rejects by name.
var unsupportedProps = map[string]bool{
	"alert.all": false,
}
