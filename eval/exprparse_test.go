package eval_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tickrun/tickrun/ast"
)

// parseExpr is a small test-only parser for lambda bodies, so that test
// tables can be written as TICKscript text while the real parser is built
// elsewhere. It follows language.md §3 and §7 closely enough for tests:
// literals, references, identifiers, calls, parentheses, unary - and !,
// and the binary operators with Kapacitor's precedence.
func parseExpr(src string) (ast.Expr, error) {
	p := &tparser{src: src}
	p.next()
	x, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, fmt.Errorf("%d: unexpected %q", p.tok.pos, p.tok.text)
	}
	return x, nil
}

func mustParse(src string) ast.Expr {
	x, err := parseExpr(src)
	if err != nil {
		panic(fmt.Sprintf("parse %q: %v", src, err))
	}
	return x
}

type tkind int

const (
	tEOF tkind = iota
	tInt
	tFloat
	tDuration
	tString
	tTriple
	tRef
	tRegex
	tIdent
	tOp
	tLParen
	tRParen
	tComma
)

type token struct {
	kind tkind
	text string // raw text (operator spelling, identifier, number)
	val  string // unescaped content of strings, references, regexes
	pos  int
}

type tparser struct {
	src  string
	off  int
	tok  token
	prev tkind // kind of the previous token: decides whether / is a regex
	err  error
}

func (p *tparser) position(off int) ast.Pos { return ast.Pos{Offset: off, Line: 1, Col: off + 1} }

func (p *tparser) next() {
	p.prev = p.tok.kind
	p.tok = p.lex()
}

var durationRe = regexp.MustCompile(`^[0-9]+(ms|u|µ|ns|s|m|h|d|w)`)
var numberRe = regexp.MustCompile(`^[0-9]+(\.[0-9]*)?`)

func (p *tparser) lex() token {
	for p.off < len(p.src) && strings.ContainsRune(" \t\n\r", rune(p.src[p.off])) {
		p.off++
	}
	start := p.off
	if p.off >= len(p.src) {
		return token{kind: tEOF, pos: start}
	}
	rest := p.src[p.off:]
	c := rest[0]
	operand := p.prev == tEOF || p.prev == tOp || p.prev == tLParen || p.prev == tComma
	switch {
	case strings.HasPrefix(rest, "'''"):
		end := strings.Index(rest[3:], "'''")
		if end < 0 {
			p.err = fmt.Errorf("unterminated string")
			p.off = len(p.src)
			return token{kind: tEOF, pos: start}
		}
		p.off += end + 6
		return token{kind: tTriple, val: rest[3 : 3+end], pos: start}
	case c == '\'' || c == '"' || (c == '/' && operand):
		var b strings.Builder
		i := 1
		for ; i < len(rest); i++ {
			if rest[i] == '\\' && i+1 < len(rest) && rest[i+1] == c {
				b.WriteByte(c)
				i++
				continue
			}
			if rest[i] == c {
				break
			}
			b.WriteByte(rest[i])
		}
		if i >= len(rest) {
			p.err = fmt.Errorf("unterminated literal")
			p.off = len(p.src)
			return token{kind: tEOF, pos: start}
		}
		p.off += i + 1
		k := map[byte]tkind{'\'': tString, '"': tRef, '/': tRegex}[c]
		return token{kind: k, val: b.String(), text: rest[:i+1], pos: start}
	case c >= '0' && c <= '9':
		if m := durationRe.FindString(rest); m != "" {
			p.off += len(m)
			return token{kind: tDuration, text: m, pos: start}
		}
		m := numberRe.FindString(rest)
		p.off += len(m)
		if strings.Contains(m, ".") {
			return token{kind: tFloat, text: m, pos: start}
		}
		return token{kind: tInt, text: m, pos: start}
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		i := 0
		for i < len(rest) && (rest[i] == '_' || rest[i] >= 'a' && rest[i] <= 'z' || rest[i] >= 'A' && rest[i] <= 'Z' || rest[i] >= '0' && rest[i] <= '9') {
			i++
		}
		p.off += i
		if rest[:i] == "AND" || rest[:i] == "OR" {
			return token{kind: tOp, text: rest[:i], pos: start}
		}
		return token{kind: tIdent, text: rest[:i], pos: start}
	case c == '(':
		p.off++
		return token{kind: tLParen, text: "(", pos: start}
	case c == ')':
		p.off++
		return token{kind: tRParen, text: ")", pos: start}
	case c == ',':
		p.off++
		return token{kind: tComma, text: ",", pos: start}
	}
	for _, op := range []string{"==", "!=", "<=", ">=", "=~", "!~", "+", "-", "*", "/", "%", "<", ">", "!"} {
		if strings.HasPrefix(rest, op) {
			p.off += len(op)
			return token{kind: tOp, text: op, pos: start}
		}
	}
	p.err = fmt.Errorf("%d: unexpected character %q", start, c)
	p.off = len(p.src)
	return token{kind: tEOF, pos: start}
}

func (p *tparser) expr(minPrec int) (ast.Expr, error) {
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tOp {
		op, ok := ast.BinaryOps[p.tok.text]
		if !ok || op.Precedence() < minPrec {
			break
		}
		opPos := p.position(p.tok.pos)
		p.next()
		y, err := p.expr(op.Precedence() + 1)
		if err != nil {
			return nil, err
		}
		x = &ast.Binary{Pos: x.Position(), OpPos: opPos, Op: op, X: x, Y: y}
	}
	return x, p.err
}

func (p *tparser) unary() (ast.Expr, error) {
	if p.tok.kind == tOp && (p.tok.text == "-" || p.tok.text == "!") {
		pos := p.position(p.tok.pos)
		op := ast.OpNeg
		if p.tok.text == "!" {
			op = ast.OpNot
		}
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &ast.Unary{Pos: pos, Op: op, X: x}, nil
	}
	return p.primary()
}

func (p *tparser) primary() (ast.Expr, error) {
	t := p.tok
	pos := p.position(t.pos)
	if p.err != nil {
		return nil, p.err
	}
	p.next()
	switch t.kind {
	case tInt:
		base := 10
		if len(t.text) > 1 && t.text[0] == '0' {
			base = 8
		}
		v, err := strconv.ParseInt(t.text, base, 64)
		return &ast.IntLit{Pos: pos, Value: v, Raw: t.text}, err
	case tFloat:
		v, err := strconv.ParseFloat(t.text, 64)
		return &ast.FloatLit{Pos: pos, Value: v, Raw: t.text}, err
	case tDuration:
		text := strings.Replace(strings.Replace(t.text, "d", "h", 1), "w", "h", 1)
		if strings.HasSuffix(text, "u") {
			text += "s"
		}
		d, err := time.ParseDuration(text)
		if strings.HasSuffix(t.text, "d") {
			d *= 24
		} else if strings.HasSuffix(t.text, "w") {
			d *= 24 * 7
		}
		return &ast.DurationLit{Pos: pos, Value: d, Raw: t.text}, err
	case tString:
		return &ast.StringLit{Pos: pos, Value: t.val}, nil
	case tTriple:
		return &ast.StringLit{Pos: pos, Value: t.val, Triple: true}, nil
	case tRef:
		return &ast.Reference{Pos: pos, Name: t.val}, nil
	case tRegex:
		re, err := regexp.Compile(t.val)
		return &ast.RegexLit{Pos: pos, Pattern: t.val, Regexp: re}, err
	case tIdent:
		switch t.text {
		case "TRUE":
			return &ast.BoolLit{Pos: pos, Value: true}, nil
		case "FALSE":
			return &ast.BoolLit{Pos: pos, Value: false}, nil
		}
		id := &ast.Ident{Pos: pos, Name: t.text}
		if p.tok.kind != tLParen {
			return id, nil
		}
		p.next()
		call := &ast.Call{Pos: pos, Func: id}
		for p.tok.kind != tRParen {
			a, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			call.Args = append(call.Args, a)
			if p.tok.kind == tComma {
				p.next()
			} else if p.tok.kind != tRParen {
				return nil, fmt.Errorf("%d: expected , or ) in call", p.tok.pos)
			}
		}
		p.next()
		return call, nil
	case tLParen:
		x, err := p.expr(0)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, fmt.Errorf("%d: expected )", p.tok.pos)
		}
		p.next()
		return &ast.Paren{Pos: pos, X: x}, nil
	}
	return nil, fmt.Errorf("%d: unexpected %q", t.pos, t.text)
}
