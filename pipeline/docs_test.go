package pipeline_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/pipeline"
)

// docs/nodes.md is generated from the registry; rewrite it with
// go test ./pipeline -run TestNodeDocs -update.
func TestNodeDocs(t *testing.T) {
	doc := "# Nodes\n\nGenerated from the node registry by `go test ./pipeline -run TestNodeDocs -update`.\n\n" +
		pipeline.NodeTable() +
		"\nKapacitor nodes tickrun rejects by name (`node \"x\" is not supported by tickrun`): " +
		"`" + strings.Join(pipeline.UnsupportedNodes(), "`, `") + "`. Batch tasks (`batch|query()`) run against InfluxDB: `tickrun run --influxdb URL --start T1 --stop T2` backtests them.\n"
	const path = "../docs/nodes.md"
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), doc, "docs/nodes.md is stale: go test ./pipeline -run TestNodeDocs -update")
}
