package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// specNodes are the chain methods of nodes.md (§1–§21), which tickrun
// implements.
var specNodes = []string{
	"from", "where", "eval", "default", "delete", "groupBy", "window",
	"count", "sum", "mean", "median", "mode", "spread", "stddev",
	"first", "last", "min", "max", "percentile", "distinct", "top", "bottom",
	"difference", "cumulativeSum", "movingAverage", "elapsed",
	"derivative", "stateDuration", "stateCount", "deadman", "log", "httpOut",
	"shift", "sample", "changeDetect", "flatten", "union", "join", "stats", "alert",
}

// Every node of the spec has a registered Spec; every registered chain
// method is exercised by a conformance or golden case; the nodes out of
// tickrun's scope are rejected by name.
func TestRegistryCoversSpec(t *testing.T) {
	for _, m := range specNodes {
		_, ok := registry[m]
		assert.True(t, ok, "node %q of nodes.md has no registered Spec", m)
		assert.False(t, unsupportedNodes[m], "node %q is registered and also listed as unsupported", m)
	}
	var scripts strings.Builder
	for _, glob := range []string{"testdata/golden/*/script.tick", "../testdata/conformance/*/script.tick", "../testdata/batch-cases/*/script.tick"} {
		files, err := filepath.Glob(glob)
		require.NoError(t, err)
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			scripts.Write(b)
		}
	}
	all := scripts.String()
	for m := range registry {
		switch m {
		case "stream", "batch": // sources
			continue
		}
		assert.True(t, strings.Contains(all, "|"+m+"(") || m == "stats" && strings.Contains(all, "|deadman("),
			"node %q has no conformance or golden case", m)
	}
}
