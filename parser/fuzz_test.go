package parser

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tickrun/tickrun/ast"
)

// FuzzParse asks more than "no panic": a parse error must be an *ast.Error
// positioned inside the input, and a successful parse must survive
// Format → Parse with an equal tree and a stable Format.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/*.tick", "testdata/errors/*.tick", "testdata/format/*.tick", "../testdata/conformance/*/script.tick", "../examples/*/script.tick"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if src, err := os.ReadFile(file); err == nil {
				f.Add(string(src))
			}
		}
	}
	f.Add(`lambda: "a" / "b" * -2 =~ /x\/y/ AND !TRUE`)
	f.Add("var x = [a, 'b', *,]\n// c\n// d\n")
	// Issue 16: the nesting limit, either side of it, in each shape.
	n := ast.MaxNesting
	f.Add("var x = " + strings.Repeat("(", n) + "1" + strings.Repeat(")", n))
	f.Add("var x = " + strings.Repeat("(", n+1) + "1" + strings.Repeat(")", n+1))
	f.Add("stream|where(lambda: " + strings.Repeat("!", n) + "TRUE)")
	f.Add("var x = " + strings.Repeat("-(", n/2) + "1" + strings.Repeat(")", n/2))
	f.Add("var x = " + strings.Repeat("f(", n+1) + "1" + strings.Repeat(")", n+1))
	f.Add(strings.Repeat("a|b(", n) + strings.Repeat(")", n))
	f.Add("var x = 1 +\nvar y = " + strings.Repeat("(", n+1) + "1")
	// Long runs, which open no level.
	f.Add(`var x = "a"` + strings.Repeat(` + "a" * 2 AND "b" OR "c"`, 100))
	f.Add("stream|from()" + strings.Repeat("|window().period(1m)", 100))
	// Issue 16: hints.
	f.Add(`stream|where(lambda: "a" > 1 && "b" < 2 || "c")`)
	f.Add(`stream|where(lambda: "host" = 'web01')` + "\nx = 5")
	f.Add("stream|window().period(5mins).every(10secs)\nvar d = 1h30m + 1.5m + 1e3 + 10us")
	// Issue 16: comments where they were written.
	f.Add("var a = 1 // one\n// two\nstream // s\n    // f\n    |from() // f2\n        .m(lambda: 1 // a\n        // b\n        + 2 // c\n        ) // d\n// end\n")
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Parse("fuzz", src)
		if err != nil {
			var e *ast.Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, not *ast.Error: %v", err, err)
			}
			if e.Pos.Offset < 0 || e.Pos.Offset > len(src) || e.Pos.Line < 1 || e.Pos.Col < 1 {
				t.Fatalf("error position %+v outside input of %d bytes: %v", e.Pos, len(src), e)
			}
			want := ast.NewSource("fuzz", src).PosOf(e.Pos.Offset)
			if want != e.Pos {
				t.Fatalf("error position %+v, offset says %+v", e.Pos, want)
			}
			return
		}
		out := ast.Format(p)
		q, err := Parse("formatted", out)
		if err != nil {
			t.Fatalf("formatted program does not parse: %v\n%s", err, out)
		}
		if a, b := dump(p), dump(q); a != b {
			t.Fatalf("round trip changed the tree\nformatted:\n%s\nbefore:\n%s\nafter:\n%s", out, a, b)
		}
		if again := ast.Format(q); again != out {
			t.Fatalf("Format not idempotent:\n%s\n---\n%s", out, again)
		}
	})
}
