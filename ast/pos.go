package ast

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Pos is a position in a script: a byte offset and the 1-based line and
// column (columns count runes, as participle does).
type Pos struct {
	Offset int // byte offset from the start of the source
	Line   int // 1-based line
	Col    int // 1-based column, in runes
}

// String returns "line:col".
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// IsValid reports whether p was set (Line is 1-based, so the zero Pos is unset).
func (p Pos) IsValid() bool { return p.Line > 0 }

// Error is a positioned script error. Every phase (lexer, parser, binder,
// lambda checker) reports problems as an *Error so that Source.Render can
// print them the same way.
type Error struct {
	Pos Pos    // where the problem is
	Msg string // what is wrong, lower case, no trailing period
	// Warning marks a problem Kapacitor only finds per point; tickrun run
	// reports it and goes on, tickrun check rejects the script.
	Warning bool
}

// Errorf returns an *Error at pos with a formatted message.
func Errorf(pos Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Error returns "line:col: message"; use Source.Render for the full form
// with file name and caret.
func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// MaxErrors caps the number of errors an ErrorList keeps, as cel-go does:
// past that, more errors only bury the first ones.
const MaxErrors = 100

// ErrorList is a list of positioned errors, sorted by position.
type ErrorList []*Error

// Add appends err unless the list is full.
func (l *ErrorList) Add(err *Error) {
	if len(*l) < MaxErrors {
		*l = append(*l, err)
	}
}

// Sort orders the list by position (stable, so equal positions keep the
// order in which they were found).
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool { return l[i].Pos.Offset < l[j].Pos.Offset })
}

// Err returns the list as an error, or nil if it holds no error (warnings
// do not count).
func (l ErrorList) Err() error {
	for _, e := range l {
		if !e.Warning {
			return l
		}
	}
	return nil
}

// Errors returns the entries that are not warnings.
func (l ErrorList) Errors() ErrorList {
	var out ErrorList
	for _, e := range l {
		if !e.Warning {
			out = append(out, e)
		}
	}
	return out
}

// Warnings returns the entries that are warnings.
func (l ErrorList) Warnings() ErrorList {
	var out ErrorList
	for _, e := range l {
		if e.Warning {
			out = append(out, e)
		}
	}
	return out
}

// Error joins the entries, one per line.
func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Source is the text of one script together with its name (usually a file
// path). It renders positioned errors.
type Source struct {
	Name  string // file name shown in errors
	Text  string // the script
	lines []int  // byte offsets of line starts, computed once
}

// NewSource returns a Source for text named name.
func NewSource(name, text string) *Source {
	s := &Source{Name: name, Text: text}
	s.lines = append(s.lines, 0)
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			s.lines = append(s.lines, i+1)
		}
	}
	return s
}

// PosOf returns the position of a byte offset in the source.
func (s *Source) PosOf(offset int) Pos {
	if offset < 0 {
		offset = 0
	}
	if offset > len(s.Text) {
		offset = len(s.Text)
	}
	line := sort.Search(len(s.lines), func(i int) bool { return s.lines[i] > offset }) - 1
	start := s.lines[line]
	return Pos{Offset: offset, Line: line + 1, Col: utf8.RuneCountInString(s.Text[start:offset]) + 1}
}

// Line returns the text of 1-based line n without its newline.
func (s *Source) Line(n int) string {
	if n < 1 || n > len(s.lines) {
		return ""
	}
	start := s.lines[n-1]
	end := len(s.Text)
	if n < len(s.lines) {
		end = s.lines[n] - 1
	}
	return strings.TrimSuffix(s.Text[start:end], "\r")
}

// Render formats err for a person. An *Error or ErrorList prints each entry
// as "file:line:col: message" (with "warning: " before warnings), followed by
// the source line and a caret under the column; tabs in the source line are
// kept in the caret line so the caret stays aligned. Any other error prints
// as "file: message".
func (s *Source) Render(err error) string {
	var b strings.Builder
	switch e := err.(type) {
	case *Error:
		s.renderOne(&b, e)
	case ErrorList:
		for _, x := range e {
			s.renderOne(&b, x)
		}
	default:
		fmt.Fprintf(&b, "%s: %v\n", s.Name, err)
	}
	return b.String()
}

func (s *Source) renderOne(b *strings.Builder, e *Error) {
	kind := ""
	if e.Warning {
		kind = "warning: "
	}
	fmt.Fprintf(b, "%s:%d:%d: %s%s\n", s.Name, e.Pos.Line, e.Pos.Col, kind, e.Msg)
	line := s.Line(e.Pos.Line)
	if line == "" && e.Pos.Line > len(s.lines) {
		return
	}
	line, at := window(line, e.Pos.Col)
	fmt.Fprintf(b, " | %s\n", line)
	var caret strings.Builder
	col := 1
	for _, r := range line {
		if col >= at {
			break
		}
		if r == '\t' {
			caret.WriteByte('\t')
		} else {
			caret.WriteByte(' ')
		}
		col++
	}
	for ; col < at; col++ {
		caret.WriteByte(' ')
	}
	fmt.Fprintf(b, " | %s^\n", caret.String())
}

// maxShown is how many runes of a source line Render shows.
const maxShown = 160

// window cuts a line longer than maxShown runes to the maxShown around
// column col, marking the cuts with "…", and returns it with the column in
// the cut line: a script on one line of megabytes is not echoed whole.
func window(line string, col int) (string, int) {
	if utf8.RuneCountInString(line) <= maxShown {
		return line, col
	}
	r := []rune(line)
	start := max(0, min(col-1-maxShown/2, len(r)-maxShown))
	end := start + maxShown
	out := string(r[start:end])
	if end < len(r) {
		out += "…"
	}
	if start > 0 {
		return "…" + out, col - start + 1
	}
	return out, col
}
