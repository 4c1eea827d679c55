package eval

import (
	"fmt"
	"strings"
	"sync"

	"github.com/tickrun/tickrun/ast"
)

// signature is one overload of a function: argument kinds and result kind.
type signature struct {
	args   []Kind
	result Kind
}

// sig returns the overload (args...) → result.
func sig(result Kind, args ...Kind) signature { return signature{args: args, result: result} }

// builtin is one entry of the function table: its overloads, read by the
// checker, and its implementation, called by the runtime once the argument
// kinds matched an overload (lambda.md §8, §11).
type builtin struct {
	name     string
	sigs     []signature
	pure     bool // the result depends only on the arguments: calls on constants fold
	stateful bool // keeps state in the Expr (count, sigma, spread)
	call     func(e *Expr, s Scope, args []Value) (Value, error)
}

// builtins is the function table, filled by the builtins_*.go files.
var builtins = map[string]*builtin{}

func register(bs ...*builtin) {
	for _, b := range bs {
		if _, dup := builtins[b.name]; dup {
			panic("eval: function registered twice: " + b.name)
		}
		builtins[b.name] = b
	}
}

// match returns the overload accepting args, if any.
func (b *builtin) match(args []Value) bool {
	for _, s := range b.sigs {
		if len(s.args) != len(args) {
			continue
		}
		ok := true
		for i, k := range s.args {
			if args[i].Kind != k {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// results returns the kinds a call may produce given its arguments' kinds.
func (b *builtin) results(args []kindSet) kindSet {
	var out kindSet
	for _, s := range b.sigs {
		if len(s.args) != len(args) {
			continue
		}
		ok := true
		for i, k := range s.args {
			if !args[i].has(k) {
				ok = false
				break
			}
		}
		if ok {
			out |= 1 << s.result
		}
	}
	return out
}

func (c *compiler) lookupFunc(name string) *builtin {
	if b, ok := builtins[name]; ok {
		return b
	}
	if c.env == nil {
		return nil
	}
	f, ok := c.env.Funcs[name]
	if !ok || f == nil {
		return nil
	}
	b := &builtin{name: name}
	for _, s := range f.Signatures {
		b.sigs = append(b.sigs, sig(f.Result, s...))
	}
	call := f.Call
	b.call = func(_ *Expr, s Scope, args []Value) (Value, error) {
		if call == nil {
			return Value{}, fmt.Errorf("function %q has no implementation", name)
		}
		return call(s, args)
	}
	return b
}

// callSite is what a call node needs at run time to report a failure.
type callSite struct {
	b    *builtin
	args []ast.Expr // the arguments, printed back for messages
	once sync.Once
	src  []string
}

// source returns the arguments printed back. They are printed the first
// time a message needs them, not at compile time: printing every argument
// of every call of f(f(f(…))) is quadratic in the nesting.
func (site *callSite) source() []string {
	site.once.Do(func() {
		site.src = make([]string, len(site.args))
		for i, a := range site.args {
			site.src[i] = FormatExpr(a)
		}
	})
	return site.src
}

func (c *compiler) call(x *ast.Call) *node {
	if x.Func == nil {
		c.errorf(x, "missing function name")
		return failing(fmt.Errorf("missing function name"))
	}
	name := x.Func.Name
	args := make([]*node, len(x.Args))
	for i, a := range x.Args {
		args[i] = c.compile(a)
	}
	b := c.lookupFunc(name)
	if b == nil {
		err := fmt.Errorf(msgUndefinedFunc, name)
		// The runtime error keeps Kapacitor's wording; the problem
		// reported before any data also suggests a name.
		c.probs.Add(&ast.Error{Pos: x.Func.Pos, Msg: err.Error() + c.suggestFunc(name), Warning: true})
		return failing(err)
	}
	if c.constMode && (!b.pure) {
		err := fmt.Errorf("function %q can only be used inside a lambda", name)
		c.probs.Add(&ast.Error{Pos: x.Func.Pos, Msg: err.Error()})
		return failing(err)
	}
	if b.stateful {
		c.lambda.stateful = true
	}
	site := &callSite{b: b, args: x.Args}
	off := c.lambda.bufSize
	c.lambda.bufSize += len(args)
	n := &node{fn: callFn(site, args, off)}

	kinds := make([]kindSet, len(args))
	allConst := true
	for i, a := range args {
		if a.kinds == 0 {
			return n // reported already
		}
		kinds[i] = a.kinds
		allConst = allConst && a.isConst
	}
	n.kinds = b.results(kinds)
	if n.kinds == 0 {
		c.warnf(x, "%s", site.staticSignatureError(kinds))
		return n
	}
	if allConst && b.pure {
		return c.fold(n, x)
	}
	return n
}

// callFn evaluates the arguments eagerly, left to right, into the
// instance's argument slots, checks them against the overloads and calls
// the implementation (lambda.md §8).
func callFn(site *callSite, args []*node, off int) evalFn {
	fns := make([]evalFn, len(args))
	for i, a := range args {
		fns[i] = a.fn
	}
	n, b := len(args), site.b
	return func(e *Expr, s Scope) (Value, error) {
		vals := e.buf[off : off+n : off+n]
		for i, f := range fns {
			v, err := f(e, s)
			if err != nil {
				//lint:ignore ST1005 Kapacitor's wording, kept for users who grep logs (lambda.md §8)
				return Value{}, fmt.Errorf(msgArgFailed, i+1, err)
			}
			vals[i] = v
		}
		if !b.match(vals) {
			return Value{}, site.signatureError(e, vals)
		}
		v, err := b.call(e, s, vals)
		if err != nil {
			return Value{}, fmt.Errorf(msgCallFailed, b.name, err)
		}
		return v, nil
	}
}

// signatureError is Kapacitor's message for arguments no overload accepts:
// the missing-argument form if some are missing, else the signature list.
func (site *callSite) signatureError(e *Expr, vals []Value) error {
	var missing []string
	missingNames := map[string]bool{}
	src := site.source()
	for i, v := range vals {
		if v.Kind == Missing {
			missing = append(missing, src[i])
			missingNames[strings.Trim(src[i], `"`)] = true
		}
	}
	if len(missing) > 0 {
		var scope []string
		if e != nil && e.l != nil {
			for _, r := range e.l.refs {
				if !missingNames[r] {
					scope = append(scope, r)
				}
			}
		}
		format := msgMissingArg
		if len(missing) > 1 {
			format = msgMissingArgs
		}
		return fmt.Errorf(format, site.b.name, strings.Join(missing, ", "), strings.Join(scope, ", "))
	}
	kinds := make([]string, len(vals))
	for i, v := range vals {
		kinds[i] = v.Kind.String()
	}
	//lint:ignore ST1005 Kapacitor's wording, kept for users who grep logs (lambda.md §8)
	return fmt.Errorf(msgWrongSignature, site.b.name, argsString(src, kinds), signaturesString(site.b.sigs))
}

// staticSignatureError is the compile-time form: with one possible kind per
// argument it is exactly the runtime message.
func (site *callSite) staticSignatureError(args []kindSet) string {
	kinds := make([]string, len(args))
	for i, a := range args {
		if k, ok := a.single(); ok {
			kinds[i] = k.String()
		} else {
			kinds[i] = a.String()
		}
	}
	return fmt.Sprintf(msgWrongSignature, site.b.name, argsString(site.source(), kinds), signaturesString(site.b.sigs))
}

// suggestFunc returns ` (did you mean "x"?)` for the known function
// closest to name, or "".
func (c *compiler) suggestFunc(name string) string {
	var names []string
	for n := range builtins {
		names = append(names, n)
	}
	if c.env != nil {
		for n := range c.env.Funcs {
			names = append(names, n)
		}
	}
	return ast.Suggest(name, names)
}
