package parser

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/tickrun/tickrun/ast"
)

// Token types of TICKscript (language.md §3). participle reserves -1 for
// EOF; ours count down from -2.
const (
	tokError     lexer.TokenType = -2 - iota // a lexer error; Value holds the message
	tokIdent                                 // name
	tokKeyword                               // var, dbrp
	tokLambda                                // lambda:
	tokBool                                  // TRUE, FALSE
	tokNumber                                // 10, 1.5, .5, 010
	tokDuration                              // 10s, 5m, 1ms
	tokString                                // 'a', '''a''' (Value is the raw text, quotes included)
	tokReference                             // "a" (raw, quotes included)
	tokRegex                                 // /a/ (raw, slashes included)
	tokStar                                  // * in operand position
	tokOp                                    // a binary operator, AND and OR included
	tokUnary                                 // - or ! in operand position
	tokPunct                                 // ( ) [ ] , | . @ =
)

var symbols = map[string]lexer.TokenType{
	"EOF":       lexer.EOF,
	"Error":     tokError,
	"Ident":     tokIdent,
	"Keyword":   tokKeyword,
	"Lambda":    tokLambda,
	"Bool":      tokBool,
	"Number":    tokNumber,
	"Duration":  tokDuration,
	"String":    tokString,
	"Reference": tokReference,
	"Regex":     tokRegex,
	"Star":      tokStar,
	"Op":        tokOp,
	"Unary":     tokUnary,
	"Punct":     tokPunct,
}

// keywords maps reserved words to their token type (language.md §3.2).
// lambda is handled apart: it is a keyword only with the colon attached.
var keywords = map[string]lexer.TokenType{
	"var":   tokKeyword,
	"dbrp":  tokKeyword,
	"TRUE":  tokBool,
	"FALSE": tokBool,
	"AND":   tokOp,
	"OR":    tokOp,
}

// durationUnits are the units of a duration literal (language.md §3.4).
var durationUnits = map[string]time.Duration{
	"u": time.Microsecond, "µ": time.Microsecond, "ms": time.Millisecond,
	"s": time.Second, "m": time.Minute, "h": time.Hour,
	"d": 24 * time.Hour, "w": 7 * 24 * time.Hour,
}

// definition is the TICKscript lexer as a participle lexer.Definition.
type definition struct{}

var (
	_ lexer.Definition       = definition{}
	_ lexer.StringDefinition = definition{}
)

// Symbols returns the token types by name.
func (definition) Symbols() map[string]lexer.TokenType { return symbols }

// Lex reads all of r and lexes it.
func (d definition) Lex(filename string, r io.Reader) (lexer.Lexer, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return d.LexString(filename, string(b))
}

// LexString lexes s. Lexer errors do not fail here: they arrive as a
// tokError token, so the parser reports whichever problem comes first.
func (definition) LexString(filename string, s string) (lexer.Lexer, error) {
	toks, _ := lex(filename, s)
	return &sliceLexer{toks: toks}, nil
}

// sliceLexer hands out tokens lexed beforehand.
type sliceLexer struct {
	toks []lexer.Token
	i    int
}

// Next returns the next token; after the last one it keeps returning EOF.
func (s *sliceLexer) Next() (lexer.Token, error) {
	if s.i >= len(s.toks) {
		return s.toks[len(s.toks)-1], nil
	}
	t := s.toks[s.i]
	s.i++
	return t, nil
}

// scanner holds the state of one lexing run, in the style of
// text/template/parse's lexer but synchronous: tokens go into a slice.
type scanner struct {
	name     string
	input    string
	start    int                     // start of the current token
	pos      int                     // current position
	width    int                     // width of the last rune read
	line     int                     // line of pos (1-based)
	col      int                     // column of pos (1-based, in runes)
	prev     struct{ line, col int } // line and col before the last next, for backup
	startPos lexer.Position

	operand  bool // the last token ended an operand: '/' divides, '*' multiplies, '-' subtracts
	endLine  int  // the line the last token ended on, to tell trailing comments
	toks     []lexer.Token
	comments []*ast.Comment
	done     bool

	depth   nesting        // open nesting levels, to stop before the parser recurses too deep
	deep    bool           // the scan stopped at a token nested past ast.MaxNesting
	deepPos lexer.Position // where that token is
}

const eof = -1

// lex splits src into tokens. The slice always ends with an EOF token; a
// lexer error is a tokError token right before it.
func lex(name, src string) ([]lexer.Token, []*ast.Comment) {
	s := scan(name, src)
	return s.toks, s.comments
}

// scan lexes src. A token nested past ast.MaxNesting ends the scan: it is
// replaced by EOF and s.deep is set.
func scan(name, src string) *scanner {
	s := &scanner{name: name, input: src, line: 1, col: 1}
	for !s.done {
		s.lexToken()
	}
	return s
}

// position returns the participle position of pos.
func (s *scanner) position() lexer.Position {
	return lexer.Position{Filename: s.name, Offset: s.pos, Line: s.line, Column: s.col}
}

func (s *scanner) next() rune {
	if s.pos >= len(s.input) {
		s.width = 0
		return eof
	}
	r, w := utf8.DecodeRuneInString(s.input[s.pos:])
	s.width = w
	s.pos += w
	s.prev.line, s.prev.col = s.line, s.col
	if r == '\n' {
		s.line++
		s.col = 1
	} else {
		s.col++
	}
	return r
}

// backup steps back over the last rune read; call at most once per next.
func (s *scanner) backup() {
	if s.width == 0 {
		return
	}
	s.pos -= s.width
	s.line, s.col = s.prev.line, s.prev.col
}

func (s *scanner) peek() rune {
	if s.pos >= len(s.input) {
		return eof
	}
	r, _ := utf8.DecodeRuneInString(s.input[s.pos:])
	return r
}

// ignore drops the text scanned so far and starts a new token at pos.
func (s *scanner) ignore() {
	s.start = s.pos
	s.startPos = s.position()
}

func (s *scanner) emit(t lexer.TokenType) {
	s.emitValue(t, s.input[s.start:s.pos])
}

func (s *scanner) emitValue(t lexer.TokenType, v string) {
	tok := lexer.Token{Type: t, Value: v, Pos: s.startPos}
	if s.depth.add(tok) {
		s.toks = append(s.toks, lexer.Token{Type: lexer.EOF, Pos: s.startPos})
		s.deep, s.deepPos, s.done = true, s.startPos, true
		return
	}
	s.toks = append(s.toks, tok)
	s.endLine = s.line
	switch t {
	case tokIdent, tokBool, tokNumber, tokDuration, tokString, tokReference, tokRegex, tokStar:
		s.operand = true
	case tokPunct:
		s.operand = v == ")" || v == "]"
	default:
		s.operand = false
	}
	s.ignore()
}

// errorf emits an error token at the start of the current token and ends
// the scan.
func (s *scanner) errorf(format string, args ...any) {
	s.toks = append(s.toks,
		lexer.Token{Type: tokError, Value: fmt.Sprintf(format, args...), Pos: s.startPos},
		lexer.Token{Type: lexer.EOF, Pos: s.position()})
	s.done = true
}

// lexToken scans one token (skipping whitespace and comments first).
func (s *scanner) lexToken() {
	for {
		s.ignore()
		r := s.next()
		switch {
		case r == eof:
			s.emitValue(lexer.EOF, "")
			s.done = true
			return
		case unicode.IsSpace(r):
			continue
		case r == '/' && s.peek() == '/':
			s.lexComment()
			continue
		case unicode.IsLetter(r):
			s.lexIdent()
		case isDigit(r), r == '.' && isDigit(s.peek()):
			s.lexNumber()
		case r == '\'':
			s.lexString()
		case r == '"':
			s.lexReference()
		case r == '/' && !s.operand:
			s.lexRegex()
		case r == '*' && !s.operand:
			s.emit(tokStar)
		case (r == '-' || r == '!') && !s.operand:
			s.emit(tokUnary)
		case r == '&' && s.peek() == '&':
			s.next()
			s.errorf(msgAndAnd)
		case r == '|' && s.peek() == '|':
			s.next()
			s.errorf(msgOrOr)
		case strings.ContainsRune("+-*/%<>=!", r):
			s.lexOperator(r)
		case strings.ContainsRune("()[],|.@", r):
			s.emit(tokPunct)
		case r == '_':
			s.errorf(msgUnderscore)
		case r == '#':
			s.errorf(msgHash)
		case r == ':' && s.afterLambda():
			s.errorf(msgLambdaSpace)
		default:
			s.errorf(msgUnexpectedChar, r)
		}
		return
	}
}

// afterLambda reports whether the last token is the identifier lambda, so
// that "lambda :" gets a hint.
func (s *scanner) afterLambda() bool {
	n := len(s.toks)
	return n > 0 && s.toks[n-1].Type == tokIdent && s.toks[n-1].Value == "lambda"
}

func isDigit(r rune) bool { return '0' <= r && r <= '9' }

// lexComment scans "//" to the end of the line, merging comments on
// consecutive lines into one (language.md §2), except after code: a
// trailing comment is a block of its own.
func (s *scanner) lexComment() {
	pos := s.startPos
	trailing := len(s.toks) > 0 && s.endLine == pos.Line
	var lines []string
	for {
		end := strings.IndexByte(s.input[s.pos:], '\n')
		if end < 0 {
			end = len(s.input) - s.pos
		}
		lines = append(lines, strings.TrimRight(s.input[s.start:s.pos+end], "\r"))
		s.col += utf8.RuneCountInString(s.input[s.pos : s.pos+end])
		s.pos += end
		// Is the next line, after indentation, another comment? A
		// trailing comment stays one line: the comment below it belongs
		// to what follows.
		rest := s.input[s.pos:]
		if trailing || !strings.HasPrefix(rest, "\n") {
			break
		}
		trimmed := strings.TrimLeftFunc(rest[1:], func(r rune) bool { return r != '\n' && unicode.IsSpace(r) })
		if !strings.HasPrefix(trimmed, "//") {
			break
		}
		s.pos++ // the newline
		s.line++
		indent := len(rest) - 1 - len(trimmed)
		s.col = utf8.RuneCountInString(rest[1:1+indent]) + 1
		s.pos += indent
		s.start = s.pos
		s.pos += 2
		s.col += 2
	}
	s.comments = append(s.comments, &ast.Comment{Pos: toPos(pos), Text: strings.Join(lines, "\n"), Trailing: trailing})
}

// lexIdent scans an identifier, a keyword or "lambda:".
func (s *scanner) lexIdent() {
	for {
		r := s.next()
		if r == eof {
			break
		}
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			s.backup()
			break
		}
	}
	word := s.input[s.start:s.pos]
	if word == "lambda" && s.peek() == ':' {
		s.next()
		s.emit(tokLambda)
		return
	}
	if t, ok := keywords[word]; ok {
		s.emit(t)
		return
	}
	s.emit(tokIdent)
}

// lexNumber scans a number or a duration (language.md §3.3, §3.4). The
// first rune has been read.
func (s *scanner) lexNumber() {
	decimal := s.input[s.start] == '.'
	for {
		r := s.next()
		switch {
		case isDigit(r):
			continue
		case r == '.':
			if decimal {
				s.errorf(msgMultipleDecimals)
				return
			}
			decimal = true
			continue
		case r == eof:
		default:
			s.backup()
			if !decimal {
				if unit := s.durationUnit(); unit != "" {
					s.lexDuration(unit)
					return
				}
			}
		}
		break
	}
	raw := s.input[s.start:s.pos]
	if decimal {
		if _, err := strconv.ParseFloat(raw, 64); err != nil {
			s.errorf(msgIllegalNumber, raw)
			return
		}
	} else if _, err := strconv.ParseInt(raw, 0, 64); err != nil {
		s.errorf(msgIllegalNumber, raw)
		return
	}
	s.emit(tokNumber)
	s.checkSuffix(raw, false)
}

// durationUnit returns the duration unit at pos, or "".
func (s *scanner) durationUnit() string {
	rest := s.input[s.pos:]
	if strings.HasPrefix(rest, "ms") {
		return "ms"
	}
	r, _ := utf8.DecodeRuneInString(rest)
	if _, ok := durationUnits[string(r)]; ok && r != utf8.RuneError {
		return string(r)
	}
	return ""
}

func (s *scanner) lexDuration(unit string) {
	digits := s.input[s.start:s.pos]
	s.advance(len(unit))
	if _, err := parseDuration(digits, unit); err != nil {
		s.errorf("%v", err)
		return
	}
	s.emit(tokDuration)
	s.checkSuffix(digits+unit, true)
}

// checkSuffix reports a number or duration lit that runs straight into
// letters or digits, as 5mins, 10secs, 1.5m or 1h30m do. No TICKscript
// literal continues that way, and the parser would only say "unexpected
// identifier ins" (or nothing, if the rest happens to form a statement), so
// the lexer explains the duration units at the letters, where Kapacitor
// points too. AND and OR may follow a number directly; 1e3 is told that
// numbers have no exponent.
func (s *scanner) checkSuffix(lit string, duration bool) {
	if s.done {
		return
	}
	rest := s.input[s.pos:]
	end := strings.IndexFunc(rest, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' })
	if end < 0 {
		end = len(rest)
	}
	word := rest[:end]
	r, _ := utf8.DecodeRuneInString(word)
	switch {
	case word == "", !unicode.IsLetter(r) && !(duration && isDigit(r)):
		return // "_" has its own message; digits after a number are part of it
	case keywords[word] == tokOp:
		return
	case !duration && isExponent(word):
		if word == rest[:1] && len(rest) > 1 && (rest[1] == '-' || rest[1] == '+') {
			// 1e-3: the sign and the digits belong to the exponent.
			n := 2
			for n < len(rest) && isDigit(rune(rest[n])) {
				n++
			}
			word = rest[:n]
		}
		s.errorf(msgExponent, lit+word)
		return
	}
	msg := fmt.Sprintf(msgBadDuration, lit+word)
	if fix := durationFix(lit + word); fix != "" {
		msg += "; write " + fix
	}
	s.errorf("%s", msg)
}

// isExponent reports whether w is the exponent part of 1e3 (or the "e" of
// 1e-3).
func isExponent(w string) bool {
	if w[0] != 'e' && w[0] != 'E' {
		return false
	}
	return strings.IndexFunc(w[1:], func(r rune) bool { return !isDigit(r) }) < 0
}

// unitWords maps unit names of other languages to TICKscript's units.
var unitWords = map[string]string{
	"us": "u", "µs": "u", "usec": "u", "usecs": "u", "microsecond": "u", "microseconds": "u",
	"msec": "ms", "msecs": "ms", "millisecond": "ms", "milliseconds": "ms",
	"sec": "s", "secs": "s", "second": "s", "seconds": "s",
	"min": "m", "mins": "m", "minute": "m", "minutes": "m",
	"hr": "h", "hrs": "h", "hour": "h", "hours": "h",
	"day": "d", "days": "d",
	"wk": "w", "wks": "w", "week": "w", "weeks": "w",
}

// durationFix returns the TICKscript duration meant by text, such as 5m
// for 5mins, 90s for 1.5m or 90m for 1h30m, or "" when there is none.
func durationFix(text string) string {
	digits := text[:strings.IndexFunc(text, func(r rune) bool { return !isDigit(r) && r != '.' })]
	unit := text[len(digits):]
	if u, ok := unitWords[strings.ToLower(unit)]; ok && len(unit) > 1 {
		unit = u
	}
	if strings.Contains(digits, ".") {
		f, err := strconv.ParseFloat(digits, 64)
		u, ok := durationUnits[unit]
		if err != nil || !ok {
			return ""
		}
		return canonicalDuration(f * float64(u))
	}
	// One or more whole number and unit pairs: 5m, 1h30m.
	var sum float64
	for text := digits + unit; text != ""; {
		i := strings.IndexFunc(text, func(r rune) bool { return !isDigit(r) })
		if i <= 0 {
			return ""
		}
		n, _ := strconv.ParseFloat(text[:i], 64)
		text = text[i:]
		j := strings.IndexFunc(text, isDigit)
		if j < 0 {
			j = len(text)
		}
		name := text[:j]
		if w, ok := unitWords[strings.ToLower(name)]; ok && len(name) > 1 {
			name = w
		}
		u, ok := durationUnits[name]
		if !ok {
			return ""
		}
		sum += n * float64(u)
		text = text[j:]
	}
	return canonicalDuration(sum)
}

// canonicalDuration writes ns nanoseconds with the largest unit that
// divides it exactly, or "" if none does (or it overflows).
func canonicalDuration(ns float64) string {
	if ns <= 0 || ns > math.MaxInt64 || ns != math.Trunc(ns) {
		return ""
	}
	d := time.Duration(ns)
	for _, u := range []string{"w", "d", "h", "m", "s", "ms", "u"} {
		if d%durationUnits[u] == 0 {
			return strconv.FormatInt(int64(d/durationUnits[u]), 10) + u
		}
	}
	return ""
}

// parseDuration computes digits×unit, rejecting overflow.
func parseDuration(digits, unit string) (time.Duration, error) {
	n, err := strconv.ParseInt(digits, 10, 64)
	u := durationUnits[unit]
	if err != nil || n > math.MaxInt64/int64(u) {
		return 0, fmt.Errorf(msgDurationRange, digits+unit)
	}
	return time.Duration(n) * u, nil
}

// splitDuration splits the raw text of a duration token into digits and unit.
func splitDuration(raw string) (string, string) {
	i := strings.IndexFunc(raw, func(r rune) bool { return !isDigit(r) })
	return raw[:i], raw[i:]
}

// lexString scans a single- or triple-quoted string (language.md §3.5).
// The opening quote has been read.
func (s *scanner) lexString() {
	rest := s.input[s.pos:]
	switch {
	case strings.HasPrefix(rest, "''"):
		end := strings.Index(rest[2:], "'''")
		if end < 0 {
			s.errorf(msgUnterminatedString)
			return
		}
		s.advance(2 + end + 3)
	case strings.HasPrefix(rest, "'"):
		s.advance(1)
	default:
		if !s.scanQuoted('\'') {
			s.errorf(msgUnterminatedString)
			return
		}
	}
	s.emit(tokString)
}

// scanQuoted scans to the closing quote q, where \q stands for q. It
// reports false at the end of input.
func (s *scanner) scanQuoted(q rune) bool {
	for {
		switch s.next() {
		case '\\':
			if s.peek() == q {
				s.next()
			}
		case q:
			return true
		case eof:
			return false
		}
	}
}

// advance moves pos forward by n bytes, keeping line and column right.
func (s *scanner) advance(n int) {
	end := s.pos + n
	for s.pos < end {
		s.next()
	}
}

func (s *scanner) lexReference() {
	if !s.scanQuoted('"') {
		s.errorf(msgUnterminatedReference)
		return
	}
	s.emit(tokReference)
}

// lexRegex scans /.../ in operand position and checks that it compiles.
func (s *scanner) lexRegex() {
	if !s.scanQuoted('/') {
		s.errorf(msgUnterminatedRegex)
		return
	}
	raw := s.input[s.start:s.pos]
	if _, err := regexp.Compile(unquote(raw, '/')); err != nil {
		s.errorf("%v", err)
		return
	}
	s.emit(tokRegex)
}

// lexOperator scans a binary operator whose first rune r has been read.
func (s *scanner) lexOperator(r rune) {
	switch r {
	case '=':
		switch s.peek() {
		case '=', '~':
			s.next()
			s.emit(tokOp)
		default:
			s.emit(tokPunct)
		}
		return
	case '!', '<', '>':
		switch p := s.peek(); {
		case p == '=', r == '!' && p == '~':
			s.next()
		}
	}
	if s.input[s.start:s.pos] == "!" {
		// '!' after an operand: not a binary operator, let the parser say so.
		s.emit(tokUnary)
		return
	}
	s.emit(tokOp)
}

// unquote strips the delimiters q from raw and replaces \q by q, the only
// escape of strings, references and regexes.
func unquote(raw string, q byte) string {
	body := raw[1 : len(raw)-1]
	return strings.ReplaceAll(body, `\`+string(q), string(q))
}

// toPos converts a participle position to an ast.Pos.
func toPos(p lexer.Position) ast.Pos {
	return ast.Pos{Offset: p.Offset, Line: p.Line, Col: p.Column}
}
