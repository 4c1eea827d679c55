package ast

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRender(t *testing.T) {
	src := NewSource("a.tick", "stream\n\t|alert().crt(1)\n")
	got := src.Render(Errorf(Pos{Offset: 16, Line: 2, Col: 10}, "unknown property"))
	assert.Equal(t, "a.tick:2:10: unknown property\n | \t|alert().crt(1)\n | \t        ^\n", got)
}

// TestRenderLongLine: a line of a megabyte is cut to the part around the
// column, the caret still under the offending character (issue 16).
func TestRenderLongLine(t *testing.T) {
	line := strings.Repeat("(", 5000) + "x" + strings.Repeat(")", 5000)
	src := NewSource("long.tick", line)
	got := src.Render(Errorf(Pos{Offset: 5000, Line: 1, Col: 5001}, "here"))
	lines := strings.Split(got, "\n")
	assert.Equal(t, "long.tick:1:5001: here", lines[0])
	shown, caret := []rune(lines[1]), []rune(lines[2])
	assert.Equal(t, " | …", string(shown[:4]))
	assert.Equal(t, '…', shown[len(shown)-1])
	assert.LessOrEqual(t, len(shown), maxShown+5)
	assert.Equal(t, '^', caret[len(caret)-1])
	assert.Equal(t, 'x', shown[len(caret)-1], "caret under the column")
	// Near the start of a long line nothing is cut before it.
	got = src.Render(Errorf(Pos{Offset: 2, Line: 1, Col: 3}, "start"))
	assert.True(t, strings.HasPrefix(strings.Split(got, "\n")[1], " | ((("), got)
	assert.Equal(t, " |   ^", strings.Split(got, "\n")[2])
}
