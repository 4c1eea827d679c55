package pipeline

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/handler"
)

// handlerProps returns the alert node's properties own followed by its
// handler properties, derived from the handler kinds' rows (package
// handler): per kind, the property that adds a handler (.tcp('host:port'),
// .slack()), and per option with a property, the property that sets it
// (.mode() of .log(), .channel() of .slack(), .username() of .slack() or
// .discord()).
//
// As in Kapacitor, an option's property applies to the handler it is
// chained to: in .slack().channel('#a') the Slack handler just added, in
// .zenoss().summary('s').message('m') the Zenoss handler (its message,
// not the node's). Chained elsewhere it applies to the node's last
// handler of a kind that has the option. A name that is both a node
// property and an option (.message()) is the option only when chained to
// a handler that has it. A name that adds a handler and sets an option
// (.teams(): without arguments the Teams handler, with team names the
// teams of an OpsGenie handler) adds a handler when called without
// arguments.
func handlerProps(own []*Prop) []*Prop {
	type optionProp struct {
		opt   handler.Option
		kinds []*handler.Kind
		keys  []string // the option each kind sets, by kind
		docs  []string
	}
	adders := map[string]*handler.Kind{}
	options := map[string]*optionProp{}
	var names []string
	for _, k := range handler.Kinds() {
		if k.Property != nil {
			adders[k.Property.Name] = k
			names = append(names, k.Property.Name)
		}
		for _, o := range k.Options {
			for _, name := range propNames(o) {
				p := options[name]
				if p == nil {
					p = &optionProp{opt: o}
					options[name] = p
					names = append(names, name)
				}
				p.kinds, p.keys, p.docs = append(p.kinds, k), append(p.keys, o.Name), append(p.docs, o.Doc)
			}
		}
	}
	hc := &handlerChains{adders: adders, options: map[string]bool{}}
	for name := range options {
		hc.options[name] = true
	}
	byName := map[string]int{}
	for i, p := range own {
		byName[p.Name] = i
	}
	props := append([]*Prop(nil), own...)
	sort.Strings(names)
	for i, name := range names {
		if i > 0 && names[i-1] == name {
			continue
		}
		k, o := adders[name], options[name]
		var p *Prop
		switch {
		case k != nil && o != nil:
			add, set := adderProp(k), optionSetter(hc, name, o.opt, o.kinds, o.keys, o.docs)
			p = &Prop{Name: name, Doc: add.Doc + "; with arguments: " + set.Doc,
				Variadic: argString, MinArgs: -1,
				set: func(b *binder, x node, at *ast.Chain, a []value) error {
					if len(a) == 0 {
						return add.set(b, x, at, a)
					}
					return set.set(b, x, at, a)
				}}
		case k != nil:
			p = adderProp(k)
		default:
			p = optionSetter(hc, name, o.opt, o.kinds, o.keys, o.docs)
		}
		j, isOwn := byName[name]
		if !isOwn {
			props = append(props, p)
			continue
		}
		// A node property that is also an option: the option when chained
		// to a handler that has it. Its arguments are checked by the
		// binder against the node's property, which must agree.
		nodeProp, optProp := own[j], p
		props[j] = &Prop{Name: name, Doc: nodeProp.Doc + "; chained to " + kindProps(o.kinds) + ": " + o.docs[0],
			Args: nodeProp.Args, MinArgs: nodeProp.MinArgs, Variadic: nodeProp.Variadic,
			set: func(b *binder, x node, at *ast.Chain, a []value) error {
				if spec := hc.chained(x.(*alertNode), at); spec != nil && kindHas(o.kinds, spec.Kind) {
					return optProp.set(b, x, at, a)
				}
				return nodeProp.set(b, x, at, a)
			}}
	}
	return props
}

// propNames are the properties that set an option: Prop and its other
// spellings.
func propNames(o handler.Option) []string {
	if o.Prop == "" {
		return nil
	}
	return append([]string{o.Prop}, o.Also...)
}

// kindProps names the properties that add handlers of kinds: ".slack() or
// .discord()".
func kindProps(kinds []*handler.Kind) string {
	var of []string
	for _, k := range kinds {
		if k.Property != nil {
			of = append(of, "."+k.Property.Name+"()")
		}
	}
	return strings.Join(of, " or ")
}

func kindHas(kinds []*handler.Kind, name string) bool {
	for _, k := range kinds {
		if k.Name == name {
			return true
		}
	}
	return false
}

// handlerChains finds the handler a property is chained to.
type handlerChains struct {
	adders  map[string]*handler.Kind // properties that add a handler
	options map[string]bool          // properties that set an option
}

// chained returns the handler the property at is chained to: walking the
// receivers of at back over option properties, the handler of the
// property that added it (the node's last of its kind: properties run in
// script order); nil when at is chained to the node itself.
func (hc *handlerChains) chained(n *alertNode, at *ast.Chain) *handler.Spec {
	for e := at.Receiver; ; {
		c, ok := e.(*ast.Chain)
		if !ok || c.Op != ast.Dot {
			return nil
		}
		name := methodName(c.Method.Name)
		if k := hc.adders[name]; k != nil && (len(c.Args) == 0 || !hc.options[name]) {
			return n.lastHandler(k.Name)
		}
		if !hc.options[name] {
			return nil
		}
		e = c.Receiver
	}
}

// adderProp is the property that adds a handler of kind k, its arguments
// filling the options the kind's Property names.
func adderProp(k *handler.Kind) *Prop {
	pr := k.Property
	p := &Prop{Name: pr.Name, Doc: k.Doc}
	for range pr.Args {
		p.Args = append(p.Args, argString)
	}
	if pr.Variadic != "" {
		p.Variadic = argString
	}
	if pr.Optional || len(pr.Args) == 0 {
		p.MinArgs = -1
	}
	p.set = func(_ *binder, x node, at *ast.Chain, a []value) error {
		n := x.(*alertNode)
		id := n.name + " " + k.Name
		if same := len(n.handlersOf(k.Name)); same > 0 {
			id += fmt.Sprintf(" %d", same+1) // ids are unique in the node's topic
		}
		spec := &handler.Spec{ID: id, Kind: k.Name, Options: map[string]any{}}
		for i, key := range pr.Args {
			if i < len(a) {
				spec.Options[key] = a[i].scalar.Str()
			}
		}
		if pr.Variadic != "" {
			rest := []string{}
			for _, v := range a[min(len(pr.Args), len(a)):] {
				rest = append(rest, v.scalar.Str())
			}
			spec.Options[pr.Variadic] = rest
		}
		// A property whose arguments may be left out (.post() before
		// .endpoint()) is checked by what follows it, or when the task
		// starts.
		if len(a) > 0 || !pr.Optional {
			if err := k.Validate(spec.Options); err != nil {
				pos := at.Method.Pos
				if len(a) > 0 {
					pos = a[0].pos
				}
				return &ast.Error{Pos: pos, Msg: "." + pr.Name + "(): " + err.Error()}
			}
		}
		n.handlers = append(n.handlers, spec)
		if n.handlerPos == nil {
			n.handlerPos = map[*handler.Spec]ast.Pos{}
		}
		n.handlerPos[spec] = at.Method.Pos
		return nil
	}
	return p
}

// optionSetter is the property name that sets the option opt on the
// handler it is chained to, or else the node's last handler of one of
// kinds (keys[i] for kinds[i]).
func optionSetter(hc *handlerChains, name string, opt handler.Option, kinds []*handler.Kind, keys, docs []string) *Prop {
	last := kindProps(kinds)
	p := &Prop{Name: name, Doc: docs[0] + ", for the last " + last}
	switch opt.Type {
	case handler.String:
		p.Args = []argKind{argString}
	case handler.Int:
		p.Args = []argKind{argInt}
	case handler.Bool:
		p.Args, p.MinArgs = []argKind{argBool}, -1
	case handler.Duration:
		p.Args = []argKind{argDuration}
	case handler.Strings:
		p.Variadic, p.MinArgs = argString, 1
	case handler.Map:
		p.Args = []argKind{argString, argString}
	case handler.Values:
		p.Args = []argKind{argString, argScalar}
	case handler.Records:
		for range opt.Fields {
			p.Args = append(p.Args, argString)
		}
	}
	p.set = func(_ *binder, x node, at *ast.Chain, a []value) error {
		n := x.(*alertNode)
		var spec *handler.Spec
		var kind *handler.Kind
		key := ""
		pick := func(s *handler.Spec) {
			for j, k := range kinds {
				if s.Kind == k.Name {
					spec, kind, key = s, k, keys[j]
				}
			}
		}
		if s := hc.chained(n, at); s != nil {
			pick(s)
		}
		for i := len(n.handlers) - 1; i >= 0 && spec == nil; i-- {
			pick(n.handlers[i])
		}
		if spec == nil {
			return &ast.Error{Pos: at.Method.Pos, Msg: fmt.Sprintf(".%s() applies to the last %s; there is none before it", name, last)}
		}
		switch opt.Type {
		case handler.Bool:
			spec.Options[key] = len(a) == 0 || a[0].scalar.Bool()
		case handler.Strings:
			list, _ := spec.Options[key].([]string)
			for _, v := range a {
				list = append(list, v.scalar.Str())
			}
			spec.Options[key] = list
		case handler.Map:
			m, _ := spec.Options[key].(map[string]string)
			if m == nil {
				m = map[string]string{}
				spec.Options[key] = m
			}
			m[a[0].scalar.Str()] = a[1].scalar.Str()
		case handler.Values:
			m, _ := spec.Options[key].(map[string]any)
			if m == nil {
				m = map[string]any{}
				spec.Options[key] = m
			}
			m[a[0].scalar.Str()] = scalarOption(a[1].scalar)
		case handler.Records:
			rec := map[string]string{}
			for i, f := range opt.Fields {
				rec[f] = a[i].scalar.Str()
			}
			list, _ := spec.Options[key].([]map[string]string)
			spec.Options[key] = append(list, rec)
		default:
			spec.Options[key] = scalarOption(a[0].scalar)
		}
		validate := func() error { return kind.Validate(spec.Options) }
		if kind.Property != nil && kind.Property.Optional {
			// Options may still come (.kafka().cluster() then
			// .kafkaTopic()): the task checks the handler when it starts.
			validate = func() error { return kind.ValidateOption(key, spec.Options[key]) }
		}
		if err := validate(); err != nil {
			pos := at.Method.Pos
			if len(a) > 0 {
				pos = a[0].pos
			}
			return &ast.Error{Pos: pos, Msg: "." + name + "(): " + err.Error()}
		}
		return nil
	}
	return p
}

// scalarOption is the Go value of a handler option given in a script.
func scalarOption(v eval.Value) any {
	switch v.Kind {
	case eval.Int:
		return v.Int()
	case eval.Float:
		return v.Float()
	case eval.Bool:
		return v.Bool()
	case eval.Duration:
		return v.Duration()
	}
	return v.Str()
}
