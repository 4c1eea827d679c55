package handler

import (
	"fmt"
	"sort"
	"strings"
)

// Docs returns the Markdown reference of every kind, generated from the
// kinds' rows (docs/handlers.md is this text, checked by a test, so it
// cannot drift from the code): per kind what it sends, the alert-node
// property that adds it, its options with their types, defaults and
// properties, and the keys of its kapacitor.conf section.
func Docs() string {
	var b strings.Builder
	b.WriteString("# Handler kinds\n\nGenerated from the handler registry by `go test ./pipeline/handler -run TestHandlerDocs -update`.\n\n")
	b.WriteString("Every kind is available in scripts (the property that adds it) and in topic handler files (`kind:` and `options:`). ")
	b.WriteString("Every kind also takes `queue-size` (events queued; when full, new events are dropped).\n\n")
	b.WriteString("| kind | script | sends |\n|---|---|---|\n")
	for _, k := range Kinds() {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s |\n", k.Name, k.Name, k.propertyText(), k.Doc)
	}
	for _, k := range Kinds() {
		fmt.Fprintf(&b, "\n## %s\n\n%s.\n\n", k.Name, upper(k.Doc))
		if k.Property != nil {
			fmt.Fprintf(&b, "Script: %s.\n\n", k.propertyText())
		}
		b.WriteString("| option | type | default | script property | meaning |\n|---|---|---|---|---|\n")
		for _, o := range k.Options {
			prop := optionPropText(o)
			for i, a := range k.propertyArgs() {
				if a == o.Name {
					prop = fmt.Sprintf("argument %d of `.%s()`", i+1, k.Property.Name)
				}
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", o.Name, o.Type, o.Default, prop, o.Doc)
		}
		if k.Section != "" {
			var keys []string
			for key := range k.Config.Keys {
				keys = append(keys, "`"+key+"`")
			}
			sort.Strings(keys)
			header := "[" + k.Section + "]"
			if k.Config.Multi {
				header = "[[" + k.Section + "]]"
			}
			fmt.Fprintf(&b, "\nkapacitor.conf `%s` keys read: %s.", header, strings.Join(keys, ", "))
			if k.Global {
				b.WriteString(" With `global = true` every alert node sends to it; `state-changes-only = true` then makes those nodes send only level changes.")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// propertyText shows the property that adds the kind: `.tcp(address)`.
func (k *Kind) propertyText() string {
	if k.Property == nil {
		return "handler files only"
	}
	args := k.propertyArgs()
	if k.Property.Variadic != "" {
		args = append(args, k.Property.Variadic+"...")
	}
	s := strings.Join(args, ", ")
	if k.Property.Optional && s != "" {
		s = "[" + s + "]"
	}
	return "`." + k.Property.Name + "(" + s + ")`"
}

func (k *Kind) propertyArgs() []string {
	if k.Property == nil {
		return nil
	}
	return append([]string(nil), k.Property.Args...)
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// optionPropText shows the properties that set an option, with their
// arguments where they take more than one: `.data(oid, type, value)`.
func optionPropText(o Option) string {
	args := ""
	switch o.Type {
	case Map, Values:
		args = "key, value"
	case Records:
		args = strings.Join(o.Fields, ", ")
	}
	var out []string
	for _, name := range append([]string{o.Prop}, o.Also...) {
		if name != "" {
			out = append(out, "`."+name+"("+args+")`")
		}
	}
	return strings.Join(out, " or ")
}
