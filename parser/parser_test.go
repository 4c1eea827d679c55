package parser

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/ast"
)

var update = flag.Bool("update", false, "rewrite the .golden files of testdata")

// tree prints an expression with every operator node in parentheses, to
// show how the parser grouped it: Paren as [x], Unary as (op x).
func tree(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Binary:
		return "(" + tree(e.X) + " " + e.Op.String() + " " + tree(e.Y) + ")"
	case *ast.Unary:
		return "(" + e.Op.String() + tree(e.X) + ")"
	case *ast.Paren:
		return "[" + tree(e.X) + "]"
	case *ast.Call:
		args := make([]string, len(e.Args))
		for i, a := range e.Args {
			args[i] = tree(a)
		}
		return e.Func.Name + "(" + strings.Join(args, ", ") + ")"
	case *ast.Lambda:
		return "lambda: " + tree(e.Body)
	}
	return ast.FormatExpr(e)
}

func TestParseExprPrecedence(t *testing.T) {
	tests := []struct{ src, want string }{
		{`1-2-3`, `((1 - 2) - 3)`},
		{`1 - 2 - 3`, `((1 - 2) - 3)`},
		{`1 + 2 * 3`, `(1 + (2 * 3))`},
		{`1 * 2 + 3`, `((1 * 2) + 3)`},
		{`8 / 4 / 2`, `((8 / 4) / 2)`},
		{`7 % 4 * 2`, `((7 % 4) * 2)`},
		{`"a" == "b" < "c"`, `("a" == ("b" < "c"))`},
		{`1 < 2 == TRUE`, `((1 < 2) == TRUE)`},
		{`!"v" > 5`, `((!"v") > 5)`},
		{`!("v" > 5)`, `(![("v" > 5)])`},
		{`-"a" + 1`, `((-"a") + 1)`},
		{`-("a" + 1)`, `(-[("a" + 1)])`},
		{`--5`, `(-(-5))`},
		{`!!TRUE`, `(!(!TRUE))`},
		{`1 - -2`, `(1 - (-2))`},
		{`"a" OR "b" AND "c"`, `("a" OR ("b" AND "c"))`},
		{`"a" AND "b" OR "c" AND "d"`, `(("a" AND "b") OR ("c" AND "d"))`},
		{`"a" > 1 AND "b" =~ /x/ OR "c" != 'y'`, `((("a" > 1) AND ("b" =~ /x/)) OR ("c" != 'y'))`},
		{`"a" =~ /x/ == TRUE`, `(("a" =~ /x/) == TRUE)`},
		{`level() >= WARNING AND "host" == 'web01'`, `((level() >= WARNING) AND ("host" == 'web01'))`},
		{`sigma("value", 2,) > 3.0`, `(sigma("value", 2) > 3.0)`},
		{`if("a" > 1, 'x', 'y')`, `if(("a" > 1), 'x', 'y')`},
		{`"a" / "b"`, `("a" / "b")`},
		{`"a"/"b"/2`, `(("a" / "b") / 2)`},
		{`("a") / 2`, `(["a"] / 2)`},
		{`"a" * 2`, `("a" * 2)`},
		{`"a"*"b"`, `("a" * "b")`},
		{`5m * 2`, `(5m * 2)`},
		{`x // comment` + "\n" + `+ 1`, `(x + 1)`},
		{`"a" !~ /^web\/[0-9]+$/`, `("a" !~ /^web\/[0-9]+$/)`},
		{`"time" - 1h < 5`, `(("time" - 1h) < 5)`},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			e, err := ParseExpr("test", tc.src)
			require.NoError(t, err)
			assert.Equal(t, tc.want, tree(e))
		})
	}
}

func TestParseExprPositions(t *testing.T) {
	e, err := ParseExpr("m", "level() >= WARNING\n  AND \"host\" == 'web01'")
	require.NoError(t, err)
	and := e.(*ast.Binary)
	assert.Equal(t, ast.OpAnd, and.Op)
	assert.Equal(t, ast.Pos{Offset: 0, Line: 1, Col: 1}, and.Pos)
	assert.Equal(t, ast.Pos{Offset: 21, Line: 2, Col: 3}, and.OpPos)
	eq := and.Y.(*ast.Binary)
	assert.Equal(t, ast.Pos{Offset: 25, Line: 2, Col: 7}, eq.Pos)
	assert.Equal(t, ast.Pos{Offset: 32, Line: 2, Col: 14}, eq.OpPos)
	s := eq.Y.(*ast.StringLit)
	assert.Equal(t, ast.Pos{Offset: 35, Line: 2, Col: 17}, s.Pos)
}

func TestChainShape(t *testing.T) {
	p, err := Parse("c", "stream|from().measurement('cpu')")
	require.NoError(t, err)
	require.Len(t, p.Stmts, 1)
	meas := p.Stmts[0].(*ast.ExprStmt).X.(*ast.Chain)
	assert.Equal(t, ast.Dot, meas.Op)
	assert.Equal(t, "measurement", meas.Method.Name)
	assert.True(t, meas.Parens)
	require.Len(t, meas.Args, 1)
	assert.Equal(t, "cpu", meas.Args[0].(*ast.StringLit).Value)
	assert.Equal(t, ast.Pos{Offset: 13, Line: 1, Col: 14}, meas.Pos)
	from := meas.Receiver.(*ast.Chain)
	assert.Equal(t, ast.Pipe, from.Op)
	assert.Equal(t, "from", from.Method.Name)
	assert.Equal(t, []ast.Expr{}, from.Args)
	assert.Equal(t, ast.Pos{Offset: 6, Line: 1, Col: 7}, from.Pos)
	assert.Equal(t, ast.Pos{Offset: 7, Line: 1, Col: 8}, from.Method.Pos)
	stream := from.Receiver.(*ast.Ident)
	assert.Equal(t, "stream", stream.Name)
}

func TestTokens(t *testing.T) {
	one := func(t *testing.T, src string) ast.Expr {
		p, err := Parse("tok", "var x = "+src)
		require.NoError(t, err)
		require.Len(t, p.Stmts, 1)
		return p.Stmts[0].(*ast.VarDecl).Value
	}
	t.Run("numbers", func(t *testing.T) {
		for src, want := range map[string]int64{"0": 0, "42": 42, "010": 8, "007": 7, "9223372036854775807": 1<<63 - 1} {
			n := one(t, src).(*ast.IntLit)
			assert.Equal(t, want, n.Value, src)
			assert.Equal(t, src, n.Raw)
		}
		for src, want := range map[string]float64{"1.5": 1.5, ".5": 0.5, "5.": 5, "0.25": 0.25, "010.5": 10.5} {
			n := one(t, src).(*ast.FloatLit)
			assert.Equal(t, want, n.Value, src)
			assert.Equal(t, src, n.Raw)
		}
	})
	t.Run("durations", func(t *testing.T) {
		for src, want := range map[string]string{
			"10u": "10µs", "10µ": "10µs", "5ms": "5ms", "3s": "3s", "05m": "5m0s",
			"2h": "2h0m0s", "1d": "24h0m0s", "1w": "168h0m0s",
		} {
			d := one(t, src).(*ast.DurationLit)
			assert.Equal(t, want, d.Value.String(), src)
			assert.Equal(t, src, d.Raw)
		}
	})
	t.Run("strings", func(t *testing.T) {
		for src, want := range map[string]string{
			`'abc'`: "abc", `''`: "", `'a\'b'`: "a'b", `'a\nb'`: `a\nb`, `'a\\b'`: `a\\b`,
			`'it\'s "fine"'`: `it's "fine"`, "'two\nlines'": "two\nlines", `'\\\''`: `\\'`,
		} {
			s := one(t, src).(*ast.StringLit)
			assert.Equal(t, want, s.Value, src)
			assert.False(t, s.Triple)
		}
		for src, want := range map[string]string{
			`'''it's "fine"'''`: `it's "fine"`, "'''a\nb'''": "a\nb", `''''''`: "", `'''a\'''`: `a\`,
			`'''x''y'''`: "x''y",
		} {
			s := one(t, src).(*ast.StringLit)
			assert.Equal(t, want, s.Value, src)
			assert.True(t, s.Triple)
		}
	})
	t.Run("references", func(t *testing.T) {
		for src, want := range map[string]string{`"host"`: "host", `"a\"b"`: `a"b`, `"a\nb"`: `a\nb`, `"usage idle"`: "usage idle"} {
			assert.Equal(t, want, one(t, src).(*ast.Reference).Name, src)
		}
	})
	t.Run("regexes", func(t *testing.T) {
		for src, want := range map[string]string{`/^web/`: "^web", `/a\/b/`: "a/b", `/\d+\.\d/`: `\d+\.\d`, `/[/]/`: "[", `/a b/`: "a b"} {
			if src == `/[/]/` {
				continue // '/' ends the regex even inside a class
			}
			r := one(t, src).(*ast.RegexLit)
			assert.Equal(t, want, r.Pattern, src)
			require.NotNil(t, r.Regexp)
			assert.Equal(t, want, r.Regexp.String())
		}
	})
	t.Run("others", func(t *testing.T) {
		assert.Equal(t, &ast.BoolLit{Pos: ast.Pos{Offset: 8, Line: 1, Col: 9}, Value: true}, one(t, "TRUE"))
		assert.Equal(t, false, one(t, "FALSE").(*ast.BoolLit).Value)
		assert.IsType(t, &ast.Star{}, one(t, "*"))
		assert.Equal(t, "true", one(t, "true").(*ast.Ident).Name)
		assert.Equal(t, "lambda", one(t, "lambda").(*ast.Ident).Name)
		assert.Equal(t, "héllo_2", one(t, "héllo_2").(*ast.Ident).Name)
		l := one(t, "[a, 'b', *,]").(*ast.ListLit)
		require.Len(t, l.Items, 3)
		assert.IsType(t, &ast.Ident{}, l.Items[0])
		assert.IsType(t, &ast.StringLit{}, l.Items[1])
		assert.IsType(t, &ast.Star{}, l.Items[2])
		assert.Empty(t, one(t, "[]").(*ast.ListLit).Items)
		lam := one(t, `lambda: "v" > 5`).(*ast.Lambda)
		assert.Equal(t, `("v" > 5)`, tree(lam.Body))
		assert.Equal(t, ast.Pos{Offset: 8, Line: 1, Col: 9}, lam.Pos)
	})
}

func TestStatements(t *testing.T) {
	p, err := Parse("s", `var a = 1 var b = 2 var t int dbrp "db"."rp" 5 + 3 lambda: 5`)
	require.NoError(t, err)
	require.Len(t, p.Stmts, 6)
	assert.Equal(t, "t", p.Stmts[2].(*ast.VarDecl).Name.Name)
	assert.Equal(t, "int", p.Stmts[2].(*ast.VarDecl).Type.Name)
	assert.Nil(t, p.Stmts[2].(*ast.VarDecl).Value)
	d := p.Stmts[3].(*ast.DBRP)
	assert.Equal(t, "db", d.DB.Name)
	assert.Equal(t, "rp", d.RP.Name)
	assert.Equal(t, "(5 + 3)", tree(p.Stmts[4].(*ast.ExprStmt).X))
	assert.IsType(t, &ast.Lambda{}, p.Stmts[5].(*ast.ExprStmt).X)
}

func TestComments(t *testing.T) {
	src := "// one\n  // two\n\n// three\nvar a = 1 // four\nstream\n  // five\n  |from( // six\n  )\n"
	p, err := Parse("c", src)
	require.NoError(t, err)
	var texts []string
	for _, c := range p.Comments {
		texts = append(texts, c.Text)
	}
	assert.Equal(t, []string{"// one\n// two", "// three", "// four", "// five", "// six"}, texts)
	assert.Equal(t, ast.Pos{Offset: 0, Line: 1, Col: 1}, p.Comments[0].Pos)
	assert.Equal(t, ast.Pos{Offset: 36, Line: 5, Col: 11}, p.Comments[2].Pos)
}

func TestErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"leading underscore", "var _tmp = 1", "1:5: unexpected character '_': identifiers must start with a letter"},
		{"hash", "# comment", "1:1: unexpected character '#': comments start with //"},
		{"lambda space colon", "stream|from()|alert().crit(lambda : TRUE)", `1:35: unexpected character ':': write "lambda:" without a space before the colon`},
		{"lower and", "stream|alert().crit(lambda: \"v\" > 1 and \"v\" < 5)", `1:37: unexpected identifier and: use AND (operators are upper case)`},
		{"lower or", "stream|where(lambda: TRUE or FALSE)", `1:27: unexpected identifier or: use OR (operators are upper case)`},
		{"exponent", "var x = f(1e3)", `1:12: invalid number 1e3: TICKscript numbers have no exponent`},
		{"octal 09", "var x = 09", `1:9: illegal number syntax: "09"`},
		{"octal 08", "var x = 1 + 08", `1:13: illegal number syntax: "08"`},
		{"int overflow", "var x = 9223372036854775808", `1:9: illegal number syntax: "9223372036854775808"`},
		{"multiple decimals", "var x = 1.2.3", "1:9: multiple decimals in number"},
		{"fractional duration", "stream|window().period(1.5m)", `1:27: invalid duration 1.5m: ` + unitsText + `; write 90s`},
		{"compound duration", "stream|window().period(1h30m)", `1:26: invalid duration 1h30m: ` + unitsText + `; write 90m`},
		{"ns", "stream|window().period(10ns)", `1:26: invalid duration 10ns: ` + unitsText},
		{"us", "stream|window().period(10us)", `1:27: invalid duration 10us: ` + unitsText + `; write 10u`},
		{"duration space", "stream|window().period(10 s)", `1:27: unexpected identifier s, expected ")"`},
		{"duration then letters", "stream|window().period(5mi)", `1:26: invalid duration 5mi: ` + unitsText},
		// Issue 16: hints for what other languages write.
		{"double ampersand", `stream|where(lambda: "a" > 1 && "b" < 2)`, `1:30: unexpected "&&": use AND for a logical and`},
		{"double bar", `stream|where(lambda: "a" > 1 || "b" < 2)`, `1:30: unexpected "||": use OR for a logical or`},
		{"double bar outside a lambda", `var x = a || b`, `1:11: unexpected "||": use OR for a logical or`},
		{"single equals in a lambda", `stream|where(lambda: "host" = 'a')`, `1:29: unexpected "=": use == to compare`},
		{"single equals after a group", `stream|where(lambda: ("a") = 1)`, `1:28: unexpected "=": use == to compare`},
		{"single equals in a call", `var x = f(a = 1)`, `1:13: unexpected "=": use == to compare`},
		{"assignment without var", "stream|from()\ny = 3", `2:3: unexpected "=": declare a variable with var y = …`},
		{"five mins", "stream|window().period(5mins)", `1:26: invalid duration 5mins: ` + unitsText + `; write 5m`},
		{"ten secs", "stream|window().every(10secs)", `1:26: invalid duration 10secs: ` + unitsText + `; write 10s`},
		{"mins outside a call", "var p = 5mins", `1:11: invalid duration 5mins: ` + unitsText + `; write 5m`},
		{"single quoted dbrp", "dbrp 'db'.'rp'", "1:6: unexpected string 'db', expected reference"},
		{"dbrp missing dot", `dbrp "db"`, `1:10: unexpected end of script, expected "."`},
		{"unterminated string", "var x = 'abc", "1:9: unterminated string"},
		{"string ending in backslash", `var x = 'a\\'`, "1:9: unterminated string"},
		{"unterminated triple", "var x = '''abc''", "1:9: unterminated string"},
		{"unterminated reference", `var x = "abc`, "1:9: unterminated reference"},
		{"unterminated regex", `var x = /abc`, "1:9: unterminated regex"},
		{"invalid regex", `stream|where(lambda: "host" =~ /web[0-/)`, "1:32: error parsing regexp: missing closing ]: `[0-`"},
		{"missing paren after chain method", "stream|alert.crit(lambda: TRUE)", `1:13: unexpected ".", expected "("`},
		{"missing paren after udf", "stream@udf", `1:11: unexpected end of script, expected "("`},
		{"dangling operator", `stream|where(lambda: "v" >)`, `1:27: unexpected ")", expected an operand: number, duration, string, reference, regex, identifier, TRUE, FALSE, "(", "-" or "!"`},
		{"dangling operator at end", `var x = 5 +`, `1:12: unexpected end of script, expected an operand: number, duration, string, reference, regex, identifier, TRUE, FALSE, "(", "-" or "!"`},
		{"two operands", `stream|where(lambda: "a" "b")`, `1:26: unexpected reference "b", expected ")"`},
		{"stray at", "stream|from() @\n  |alert()", `2:3: unexpected "|", expected identifier`},
		{"pipe needs name", "stream|", "1:8: unexpected end of script, expected identifier"},
		{"empty argument", "stream|from(,)", `1:13: unexpected ",", expected an argument or ")"`},
		{"unclosed call", "stream|from(\n  .measurement('cpu')", `2:3: unexpected ".", expected an argument or ")"`},
		{"list item", "stream|groupBy([a,,])", `1:19: unexpected ",", expected a list item (identifier, string or "*") or "]"`},
		{"list of numbers", "stream|groupBy([1])", `1:17: unexpected number 1, expected a list item (identifier, string or "*") or "]"`},
		{"leading pipe", "|window()", `1:1: unexpected "|", expected a statement (var, dbrp or an expression)`},
		{"close paren", "stream)", `1:7: unexpected ")", expected a statement (var, dbrp or an expression)`},
		{"var without name", "var = 5", `1:5: unexpected "=", expected identifier`},
		{"var keyword name", "var var = 5", `1:5: unexpected keyword var, expected identifier`},
		{"var without value", "var x", `1:6: unexpected end of script, expected "=" or a type name`},
		{"var empty value", "var x = ", `1:9: unexpected end of script, expected an expression (a name, a literal, lambda: or a list)`},
		{"nested lambda", "stream|where(lambda: f(lambda: 1))", `1:24: unexpected lambda:, expected an argument or ")"`},
		{"chain after literal", "'a'|from()", `1:4: unexpected "|", only a name or a call can start a chain`},
		{"chain after binary", "a + b|from()", `1:6: unexpected "|", only a name or a call can start a chain`},
		{"regex on the left", `var x = 1 /x/`, `1:14: unexpected end of script, expected an operand: number, duration, string, reference, regex, identifier, TRUE, FALSE, "(", "-" or "!"`},
		{"bang after operand", `var x = 1 ! )`, `1:13: unexpected ")", expected an operand: number, duration, string, reference, regex, identifier, TRUE, FALSE, "(", "-" or "!"`},
		{"colon", `var x = a:b`, `1:10: unexpected character ':'`},
		{"first error wins", "stream|from(.x) #", `1:13: unexpected ".", expected an argument or ")"`},
		{"unicode column", "var é = 'é' + )", `1:15: unexpected ")", expected an operand: number, duration, string, reference, regex, identifier, TRUE, FALSE, "(", "-" or "!"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("e.tick", tc.src)
			require.Error(t, err)
			var e *ast.Error
			require.True(t, errors.As(err, &e), "%T", err)
			assert.Equal(t, tc.want, e.Error())
			assert.LessOrEqual(t, e.Pos.Offset, len(tc.src))
		})
	}
}

func TestParseExprErrors(t *testing.T) {
	_, err := ParseExpr("match", `level() >= `)
	require.EqualError(t, err, `1:12: unexpected end of script, expected an operand: number, duration, string, reference, regex, identifier, TRUE, FALSE, "(", "-" or "!"`)
	_, err = ParseExpr("match", `"a" == 1 var`)
	require.EqualError(t, err, `1:10: unexpected keyword var, expected an operator or the end of the expression`)
	_, err = ParseExpr("match", ``)
	require.Error(t, err)
}

// TestGolden parses each testdata/*.tick and compares the position-free
// dump of the tree, or the rendered error, with the .golden file next to it.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.tick")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".tick")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(file)
			require.NoError(t, err)
			var got string
			p, err := Parse(filepath.Base(file), string(src))
			if err != nil {
				got = ast.NewSource(filepath.Base(file), string(src)).Render(err)
			} else {
				got = dump(p)
			}
			golden := strings.TrimSuffix(file, ".tick") + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./parser -update")
			assert.Equal(t, string(want), got)
		})
	}
}

// roundTripFiles lists every script that must parse and survive Format.
func roundTripFiles(t *testing.T) []string {
	var files []string
	for _, pattern := range []string{
		"testdata/*.tick",
		"testdata/format/*.tick",
		"testdata/format/*.golden",
		"../testdata/conformance/*/script.tick",
		"../examples/*/script.tick",
		"../pipeline/testdata/golden/*/script.tick",
		"../pipeline/testdata/handlers/*/script.tick",
		"../cmd/tickrun/testdata/*/*.tick",
		"../bench/*.tick",
	} {
		m, err := filepath.Glob(pattern)
		require.NoError(t, err)
		files = append(files, m...)
	}
	require.NotEmpty(t, files)
	return files
}

// TestRoundTrip checks that Parse(Format(p)) equals p up to positions and
// that Format is idempotent.
func TestRoundTrip(t *testing.T) {
	n := 0
	for _, file := range roundTripFiles(t) {
		src, err := os.ReadFile(file)
		require.NoError(t, err)
		p, err := Parse(file, string(src))
		if err != nil {
			continue // error goldens
		}
		n++
		t.Run(file, func(t *testing.T) {
			checkRoundTrip(t, p)
		})
	}
	require.Greater(t, n, 10)
}

func checkRoundTrip(t *testing.T, p *ast.Program) {
	t.Helper()
	out := ast.Format(p)
	q, err := Parse("formatted", out)
	require.NoError(t, err, "formatted:\n%s", out)
	require.Equal(t, dump(p), dump(q), "formatted:\n%s", out)
	require.Equal(t, out, ast.Format(q))
}

// TestFormatGolden formats each testdata/format/*.tick and compares the
// result with the .golden file next to it; the result must parse back to
// the same tree and comments, and format to itself (issue 16, item 13).
func TestFormatGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/format/*.tick")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".tick"), func(t *testing.T) {
			src, err := os.ReadFile(file)
			require.NoError(t, err)
			p, err := Parse(file, string(src))
			require.NoError(t, err)
			got := ast.Format(p)
			checkRoundTrip(t, p)
			golden := strings.TrimSuffix(file, ".tick") + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./parser -update")
			assert.Equal(t, string(want), got)
		})
	}
}

// TestExamplesFormatted requires the scripts of examples/ to be in fmt
// style, so that what the README points people to is what tickrun fmt
// writes (issue 16, item 13).
func TestExamplesFormatted(t *testing.T) {
	files, err := filepath.Glob("../examples/*/*.tick")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		src, err := os.ReadFile(file)
		require.NoError(t, err)
		p, err := Parse(file, string(src))
		require.NoError(t, err)
		assert.Equal(t, string(src), ast.Format(p), "%s is not in fmt style: run tickrun fmt -w %s", file, file)
	}
}
