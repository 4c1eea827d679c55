package handler

import (
	"flag"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite docs/handlers.md")

// docs/handlers.md is generated from the kinds' rows; rewrite it with
// go test ./pipeline/handler -run TestHandlerDocs -update.
func TestHandlerDocs(t *testing.T) {
	const path = "../../docs/handlers.md"
	doc := Docs()
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), doc, "docs/handlers.md is stale: go test ./pipeline/handler -run TestHandlerDocs -update")
}

// Every kind is documented and every option says what it does.
func TestKindRowsComplete(t *testing.T) {
	require.NotEmpty(t, Kinds())
	for _, k := range Kinds() {
		require.NotEmpty(t, k.Doc, k.Name)
		require.NotNil(t, k.open, k.Name)
		for _, o := range k.Options {
			require.NotEmpty(t, o.Doc, "%s.%s", k.Name, o.Name)
		}
		if k.Property != nil {
			for _, a := range append(k.propertyArgs(), k.Property.Variadic) {
				if a != "" {
					_, ok := k.Option(a)
					require.True(t, ok, "%s: property argument %s is not an option", k.Name, a)
				}
			}
		}
	}
}

// A property several kinds share (.source() of .sensu() and
// .serviceNow()) takes the same arguments for all of them: the alert node
// checks its arguments once.
func TestSharedPropertiesAgree(t *testing.T) {
	seen := map[string]Option{}
	for _, k := range Kinds() {
		for _, o := range k.Options {
			for _, name := range append([]string{o.Prop}, o.Also...) {
				if name == "" {
					continue
				}
				if first, ok := seen[name]; ok {
					require.Equal(t, first.Type, o.Type, "%s.%s: .%s() is also a %s", k.Name, o.Name, name, first.Type)
					require.Equal(t, first.Fields, o.Fields, "%s.%s: .%s()", k.Name, o.Name, name)
				}
				seen[name] = o
			}
		}
	}
}
