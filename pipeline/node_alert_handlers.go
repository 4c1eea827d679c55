package pipeline

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/handler"
)

// handlerProps are the alert node's handler properties, derived from the
// handler kinds' rows (package handler): per kind, the property that adds
// a handler (.tcp('host:port'), .slack()), and per option with a property,
// the property that sets it on the node's last handler of a kind that has
// it (.mode() of .log(), .channel() of .slack(), .username() of .slack()
// or .discord()). A name that does both (.teams(): without arguments the
// Teams handler, with team names the teams of the last .opsGenie2()) adds
// a handler when called without arguments.
func handlerProps() []*Prop {
	type optionProp struct {
		typ   handler.OptType
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
			if o.Prop == "" {
				continue
			}
			p := options[o.Prop]
			if p == nil {
				p = &optionProp{typ: o.Type}
				options[o.Prop] = p
				names = append(names, o.Prop)
			}
			p.kinds, p.keys, p.docs = append(p.kinds, k), append(p.keys, o.Name), append(p.docs, o.Doc)
		}
	}
	sort.Strings(names)
	var props []*Prop
	for i, name := range names {
		if i > 0 && names[i-1] == name {
			continue
		}
		k, o := adders[name], options[name]
		switch {
		case k != nil && o != nil:
			add, set := adderProp(k), optionSetter(name, o.typ, o.kinds, o.keys, o.docs)
			props = append(props, &Prop{Name: name, Doc: add.Doc + "; with arguments: " + set.Doc,
				Variadic: argString, MinArgs: -1,
				set: func(b *binder, x node, at *ast.Chain, a []value) error {
					if len(a) == 0 {
						return add.set(b, x, at, a)
					}
					return set.set(b, x, at, a)
				}})
		case k != nil:
			props = append(props, adderProp(k))
		default:
			props = append(props, optionSetter(name, o.typ, o.kinds, o.keys, o.docs))
		}
	}
	return props
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
		return nil
	}
	return p
}

// optionSetter is the property name that sets an option on the node's
// last handler of one of kinds (keys[i] for kinds[i]).
func optionSetter(name string, typ handler.OptType, kinds []*handler.Kind, keys, docs []string) *Prop {
	var of []string
	for _, k := range kinds {
		if k.Property != nil {
			of = append(of, "."+k.Property.Name+"()")
		}
	}
	last := strings.Join(of, " or ")
	p := &Prop{Name: name, Doc: docs[0] + ", for the last " + last}
	switch typ {
	case handler.String:
		p.Args = []argKind{argString}
	case handler.Int:
		p.Args = []argKind{argInt}
	case handler.Duration:
		p.Args = []argKind{argDuration}
	case handler.Strings:
		p.Variadic, p.MinArgs = argString, 1
	case handler.Map:
		p.Args = []argKind{argString, argString}
	}
	p.set = func(_ *binder, x node, at *ast.Chain, a []value) error {
		n := x.(*alertNode)
		var spec *handler.Spec
		var kind *handler.Kind
		key := ""
		for i := len(n.handlers) - 1; i >= 0 && spec == nil; i-- {
			for j, k := range kinds {
				if n.handlers[i].Kind == k.Name {
					spec, kind, key = n.handlers[i], k, keys[j]
				}
			}
		}
		if spec == nil {
			return &ast.Error{Pos: at.Method.Pos, Msg: fmt.Sprintf(".%s() applies to the last %s; there is none before it", name, last)}
		}
		switch typ {
		case handler.Bool:
			spec.Options[key] = true
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
		default:
			spec.Options[key] = scalarOption(a[0].scalar)
		}
		if err := kind.Validate(spec.Options); err != nil {
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
	case eval.Duration:
		return v.Duration()
	}
	return v.Str()
}
