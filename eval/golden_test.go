package eval_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

var update = flag.Bool("update", false, "rewrite the .golden files of testdata")

// TestGolden compiles each testdata/*.lambda as the condition of a where
// node (want boolean) and compares the rendered problems — or, without
// any, the lambda printed back with its result kind — with the .golden
// file next to it (rewrite with go test ./eval -update).
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.lambda")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".lambda"), func(t *testing.T) {
			b, err := os.ReadFile(file)
			require.NoError(t, err)
			src := strings.TrimSuffix(string(b), "\n")
			x, err := parseExpr(src)
			require.NoError(t, err)
			l, probs := eval.Compile(x, testEnv(), eval.Bool)
			var got string
			if len(probs) > 0 {
				got = ast.NewSource(name, src).Render(probs)
			} else {
				kind := "several kinds"
				if k, ok := l.ResultKind(); ok {
					kind = k.String()
				}
				got = "ok: " + l.String() + " returns " + kind + "\n"
			}
			golden := strings.TrimSuffix(file, ".lambda") + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./eval -update")
			assert.Equal(t, string(want), got)
		})
	}
}
