package parser

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/participle/v2/lexer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/ast"
)

// kinds returns "Type:value" for each token before EOF.
func kinds(src string) []string {
	toks, _ := lex("k", src)
	names := lexer.SymbolsByRune(definition{})
	var out []string
	for _, t := range toks {
		if t.Type == lexer.EOF {
			break
		}
		out = append(out, names[t.Type]+":"+t.Value)
	}
	return out
}

func TestLexerContext(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{`"a" / "b"`, `Reference:"a" Op:/ Reference:"b"`},
		{`"a" =~ /b/`, `Reference:"a" Op:=~ Regex:/b/`},
		{`"a"!~/b/`, `Reference:"a" Op:!~ Regex:/b/`},
		{`var r = /x\/y/`, `Keyword:var Ident:r Punct:= Regex:/x\/y/`},
		{`f(/x/, /y/)`, `Ident:f Punct:( Regex:/x/ Punct:, Regex:/y/ Punct:)`},
		{`(1) / 2`, `Punct:( Number:1 Punct:) Op:/ Number:2`},
		{`x / 2`, `Ident:x Op:/ Number:2`},
		{`5m / 2`, `Duration:5m Op:/ Number:2`},
		{`'s' / 2`, `String:'s' Op:/ Number:2`},
		{`TRUE / 2`, `Bool:TRUE Op:/ Number:2`},
		{`lambda: /x/`, `Lambda:lambda: Regex:/x/`},
		{`1 // comment`, `Number:1`},
		{`// comment`, ``},
		{`groupBy(*)`, `Ident:groupBy Punct:( Star:* Punct:)`},
		{`"a" * 2`, `Reference:"a" Op:* Number:2`},
		{`2 * *`, `Number:2 Op:* Star:*`},
		{`[a, *]`, `Punct:[ Ident:a Punct:, Star:* Punct:]`},
		{`-1 - -2`, `Unary:- Number:1 Op:- Unary:- Number:2`},
		{`!TRUE != FALSE`, `Unary:! Bool:TRUE Op:!= Bool:FALSE`},
		{`a AND b OR c`, `Ident:a Op:AND Ident:b Op:OR Ident:c`},
		{`a and b`, `Ident:a Ident:and Ident:b`},
		{`1<=2>=3<4>5==6`, `Number:1 Op:<= Number:2 Op:>= Number:3 Op:< Number:4 Op:> Number:5 Op:== Number:6`},
		{`7%2`, `Number:7 Op:% Number:2`},
		{`a|b().c@d()`, `Ident:a Punct:| Ident:b Punct:( Punct:) Punct:. Ident:c Punct:@ Ident:d Punct:( Punct:)`},
		{`lambda:x lambda x`, `Lambda:lambda: Ident:x Ident:lambda Ident:x`},
		{`10 us 5m i 1h 30m`, `Number:10 Ident:us Duration:5m Ident:i Duration:1h Duration:30m`},
		{`10AND 5mOR 1`, `Number:10 Op:AND Duration:5m Op:OR Number:1`},
		{`a & b`, `Ident:a Error:unexpected character '&'`},
		{`x.5`, `Ident:x Number:.5`},
		{"a\u00a0b\tc\r\nd", `Ident:a Ident:b Ident:c Ident:d`},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			assert.Equal(t, tc.want, strings.Join(kinds(tc.src), " "))
		})
	}
}

// unitsText is the explanation of every bad duration.
const unitsText = "a duration is a whole number and one unit: u or µ (microseconds), ms, s, m, h, d or w"

func TestLexerErrors(t *testing.T) {
	tests := map[string]string{
		"_x":                    "Error:unexpected character '_': identifiers must start with a letter",
		"a # b":                 "Ident:a Error:unexpected character '#': comments start with //",
		"lambda :":              `Ident:lambda Error:unexpected character ':': write "lambda:" without a space before the colon`,
		"09":                    `Error:illegal number syntax: "09"`,
		"1.2.3":                 "Error:multiple decimals in number",
		"'abc":                  "Error:unterminated string",
		`"abc`:                  "Error:unterminated reference",
		"x =~ /abc":             "Ident:x Op:=~ Error:unterminated regex",
		"/[/":                   "Error:error parsing regexp: missing closing ]: `[`",
		"99999999999999999999s": `Error:duration out of range: "99999999999999999999s"`,
		"9999999999999999w":     `Error:duration out of range: "9999999999999999w"`,
		// Issue 16: what other languages write, explained.
		"a && b": `Ident:a Error:unexpected "&&": use AND for a logical and`,
		"a || b": `Ident:a Error:unexpected "||": use OR for a logical or`,
		"1e3":    "Number:1 Error:invalid number 1e3: TICKscript numbers have no exponent",
		"2.5E-3": "Number:2.5 Error:invalid number 2.5E-3: TICKscript numbers have no exponent",
		"1.5m":   "Number:1.5 Error:invalid duration 1.5m: " + unitsText + "; write 90s",
		"10us":   "Duration:10u Error:invalid duration 10us: " + unitsText + "; write 10u",
		"5mi":    "Duration:5m Error:invalid duration 5mi: " + unitsText,
		"5mins":  "Duration:5m Error:invalid duration 5mins: " + unitsText + "; write 5m",
		"5MIN":   "Number:5 Error:invalid duration 5MIN: " + unitsText + "; write 5m",
		"10secs": "Duration:10s Error:invalid duration 10secs: " + unitsText + "; write 10s",
		"1h30m":  "Duration:1h Error:invalid duration 1h30m: " + unitsText + "; write 90m",
		"1d12h":  "Duration:1d Error:invalid duration 1d12h: " + unitsText + "; write 36h",
		"2weeks": "Duration:2w Error:invalid duration 2weeks: " + unitsText + "; write 2w",
		"1.25s":  "Number:1.25 Error:invalid duration 1.25s: " + unitsText + "; write 1250ms",
		"10ns":   "Number:10 Error:invalid duration 10ns: " + unitsText,
		"10x":    "Number:10 Error:invalid duration 10x: " + unitsText,
	}
	for src, want := range tests {
		t.Run(src, func(t *testing.T) {
			assert.Equal(t, want, strings.Join(kinds(src), " "))
		})
	}
}

// TestLexerPositions checks every token position against ast.Source, which
// counts lines and rune columns on its own.
func TestLexerPositions(t *testing.T) {
	files, err := filepath.Glob("testdata/*.tick")
	require.NoError(t, err)
	srcs := []string{"é // c\n  // d\n\tx 'ü\nü' \"a\nb\" /r\nx/ 5µ"}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		srcs = append(srcs, string(b))
	}
	for _, src := range srcs {
		source := ast.NewSource("p", src)
		toks, comments := lex("p", src)
		for _, tok := range toks {
			assert.Equal(t, source.PosOf(tok.Pos.Offset), toPos(tok.Pos), "%q in %q", tok.Value, src)
		}
		for _, c := range comments {
			assert.Equal(t, source.PosOf(c.Pos.Offset), c.Pos, "%q", c.Text)
		}
	}
}

func TestDefinition(t *testing.T) {
	l, err := definition{}.Lex("r", strings.NewReader("a|b()"))
	require.NoError(t, err)
	toks, err := lexer.ConsumeAll(l)
	require.NoError(t, err)
	require.Len(t, toks, 6)
	assert.Equal(t, lexer.EOF, toks[5].Type)
	assert.Equal(t, "b", toks[2].Value)
	assert.Equal(t, 3, toks[2].Pos.Column)
}
