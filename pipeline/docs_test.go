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
		"\nUser-defined functions: `@name()` runs the UDF of the `[udf.functions.NAME]` section of kapacitor.conf " +
		"(a program, or a Unix socket); it wants and provides what the UDF says and its properties are the UDF's options.\n"
	if u := pipeline.UnsupportedNodes(); len(u) > 0 {
		doc += "\nKapacitor nodes tickrun rejects by name (`node \"x\" is not supported by tickrun`): `" + strings.Join(u, "`, `") + "`.\n"
	}
	doc += "\nBatch tasks (`batch|query()`) run against InfluxDB: `tickrun run --influxdb URL --start T1 --stop T2` backtests them.\n"
	const path = "../docs/nodes.md"
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), doc, "docs/nodes.md is stale: go test ./pipeline -run TestNodeDocs -update")
}
