package tickrun_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The README's Go snippet compiles as written: it is wrapped in a main
// function with the variables it assumes and built inside the module
// (through a build overlay, so nothing is written to the tree).
func TestReadmeGoSnippetCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(readme), "```go\n")
	require.True(t, ok, "README.md has a ```go block")
	snippet, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	src := `package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"strings"
	"time"

	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/pipeline/lineproto"
)

var (
	script    = "stream|from()|alert().crit(lambda: \"usage_idle\" < 10)"
	ctx       = context.Background()
	reader    io.Reader = strings.NewReader("")
	onBadLine = func(*lineproto.LineError) {}
)

func main() {
` + snippet + `
	_, _, _, _ = err, reader, onBadLine, log.Fatal
}
`
	dir, err := filepath.Abs(".")
	require.NoError(t, err)
	tmp := t.TempDir()
	file := filepath.Join(tmp, "main.go")
	require.NoError(t, os.WriteFile(file, []byte(src), 0o644))
	target := filepath.Join(dir, "internal", "readmesnippet", "main.go")
	overlay, err := json.Marshal(map[string]any{"Replace": map[string]string{target: file}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(tmp, "overlay.json"), overlay, 0o644))
	cmd := exec.Command("go", "build", "-overlay", filepath.Join(tmp, "overlay.json"), "-o", filepath.Join(tmp, "snippet"), "./internal/readmesnippet")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the README's Go snippet does not compile:\n%s\n%s", out, src)
}
