package parser

import (
	"strings"
	"testing"
	"time"
)

// TestPathological guards against exponential backtracking: deeply nested
// or long inputs, valid or broken, must parse in well under a second.
func TestPathological(t *testing.T) {
	const n = 200
	inputs := map[string]string{
		"nested parens":        "var x = " + strings.Repeat("(", n) + "1" + strings.Repeat(")", n),
		"nested parens broken": "var x = " + strings.Repeat("(", n) + "1",
		"nested calls":         "var x = " + strings.Repeat("f(", n) + "1" + strings.Repeat(")", n),
		"nested calls broken":  "var x = " + strings.Repeat("f(", n) + "1" + strings.Repeat(")", n-1) + ",",
		"nested links":         strings.Repeat("a|b(", n) + strings.Repeat(")", n),
		"nested links broken":  strings.Repeat("a|b(", n) + strings.Repeat(")", n-1),
		"nested unary":         "var x = " + strings.Repeat("-", 5*n) + "1",
		"long binary":          "var x = 1" + strings.Repeat(" + 1", 10*n),
		"long chain":           "stream" + strings.Repeat("|a().b(1)", 10*n),
		"nested lists":         strings.Repeat("a|b([x,", n) + strings.Repeat("])", n),
		"nested lambdas":       strings.Repeat("a|b(lambda: f(", n) + strings.Repeat("))", n),
	}
	for name, src := range inputs {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, _ = Parse("p", src)
			if d := time.Since(start); d > time.Second {
				t.Fatalf("took %v", d)
			}
			t.Logf("%v", time.Since(start))
		})
	}
}
