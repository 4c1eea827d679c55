package parser

import (
	"fmt"
	"reflect"
	"strings"
)

// dump prints a syntax tree as an indented outline without positions, so
// that two trees are equal up to positions when their dumps are equal.
func dump(v any) string {
	var b strings.Builder
	dumpValue(&b, reflect.ValueOf(v), 0)
	return b.String()
}

func dumpValue(b *strings.Builder, v reflect.Value, depth int) {
	indent := strings.Repeat("  ", depth)
	if !v.IsValid() {
		b.WriteString("nil\n")
		return
	}
	if s, ok := v.Interface().(fmt.Stringer); ok && v.Kind() != reflect.Pointer && v.Kind() != reflect.Interface {
		fmt.Fprintf(b, "%s\n", s)
		return
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			b.WriteString("nil\n")
			return
		}
		dumpValue(b, v.Elem(), depth)
	case reflect.Struct:
		fmt.Fprintf(b, "%s\n", v.Type().Name())
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			switch f.Name {
			case "Pos", "OpPos", "Regexp", "Trailing": // layout, not meaning
				continue
			}
			if v.Field(i).IsZero() && (f.Type.Kind() == reflect.Pointer || f.Type.Kind() == reflect.Interface) {
				continue
			}
			fmt.Fprintf(b, "%s  %s: ", indent, f.Name)
			dumpValue(b, v.Field(i), depth+1)
		}
	case reflect.Slice:
		if v.Len() == 0 {
			b.WriteString("[]\n")
			return
		}
		b.WriteString("[\n")
		for i := 0; i < v.Len(); i++ {
			fmt.Fprintf(b, "%s  - ", indent)
			dumpValue(b, v.Index(i), depth+1)
		}
		fmt.Fprintf(b, "%s]\n", indent)
	case reflect.String:
		fmt.Fprintf(b, "%q\n", v.String())
	default:
		fmt.Fprintf(b, "%v\n", v.Interface())
	}
}
