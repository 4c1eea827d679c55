package tickrun_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allowedDeps is the import policy of tickrun's packages (STYLE.md §1):
// which of our own packages each may import. Imports point one way:
// ast <- parser, ast <- eval, ast+parser+eval <- pipeline, all <- cmd.
var allowedDeps = map[string][]string{
	"ast":         {},
	"parser":      {"ast"},
	"eval":        {"ast"},
	"pipeline":    {"ast", "eval", "parser"},
	"cmd/tickrun": {"ast", "eval", "parser", "pipeline"},
}

const module = "github.com/tickrun/tickrun/"

func TestDependencyDirection(t *testing.T) {
	for pkg, allowed := range allowedDeps {
		files, err := filepath.Glob(filepath.Join(pkg, "*.go"))
		require.NoError(t, err)
		require.NotEmpty(t, files, "package %s has no files", pkg)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			require.NoError(t, err)
			for _, imp := range parsed.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if !strings.HasPrefix(path, module) {
					continue
				}
				dep := strings.TrimPrefix(path, module)
				assert.Contains(t, allowed, dep, "%s imports %s, which the policy does not allow", f, dep)
			}
		}
	}
	// Every package of the module is in the policy.
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() || strings.HasPrefix(path, ".") && path != "." || strings.Contains(path, "testdata") {
			if d != nil && d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return err
		}
		gofiles, _ := filepath.Glob(filepath.Join(path, "*.go"))
		hasCode := false
		for _, g := range gofiles {
			hasCode = hasCode || !strings.HasSuffix(g, "_test.go")
		}
		if hasCode && path != "." && !strings.HasPrefix(path, "examples") && !strings.HasPrefix(path, "bench") {
			_, ok := allowedDeps[filepath.ToSlash(path)]
			assert.True(t, ok, "package %s is not in allowedDeps", path)
		}
		return nil
	})
	require.NoError(t, err)
}
