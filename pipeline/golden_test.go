package pipeline_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/pipeline/lineproto"
)

var update = flag.Bool("update", false, "rewrite the expected files of the golden node tests")

// TestGolden runs every case of testdata/golden: script.tick over input.lp
// (written to telegraf.autogen), with the events captured in-process and
// compared with expected.jsonl; errors.txt, when present, holds what the
// nodes logged. These are our own goldens, one or more per node kind;
// regenerate them with `go test ./pipeline -run TestGolden -update` and
// review the diff like code.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/golden/*")
	require.NoError(t, err)
	require.Greater(t, len(dirs), 0, "no golden case")
	for _, dir := range dirs {
		dir := dir
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			events, log, deliveries := runGolden(t, dir)
			check := func(name, got string) {
				path := filepath.Join(dir, name)
				if *update {
					if got == "" && name != "expected.jsonl" {
						os.Remove(path)
						return
					}
					require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
					return
				}
				want, _ := os.ReadFile(path)
				require.Equal(t, string(want), got, "%s differs (go test ./pipeline -run TestGolden -update rewrites it)", path)
			}
			check("expected.jsonl", events)
			check("errors.txt", log)
			check("deliveries.txt", deliveries)
		})
	}
}

func runGolden(t *testing.T, dir string) (events, log, deliveries string) {
	src, err := os.ReadFile(filepath.Join(dir, "script.tick"))
	require.NoError(t, err)
	var out, logBuf, sent bytes.Buffer
	opts := pipeline.Options{
		Log:     &logBuf,
		OnEvent: func(_ *pipeline.Event, payload []byte) { out.Write(payload); out.WriteByte('\n') },
		Server:  pipeline.ServerInfo{Hostname: "localhost", ClusterID: pipeline.NilUUID, ServerID: pipeline.NilUUID},
	}
	// What handlers and output nodes would send, captured instead.
	opts.Deliver.Capture = func(kind, target string, payload []byte) {
		fmt.Fprintf(&sent, "%s %s\n%s\n", kind, target, payload)
	}
	task, err := pipeline.Compile("script", "script.tick", string(src), opts)
	if err != nil {
		return "", task.ErrorText(err), ""
	}
	in, err := os.Open(filepath.Join(dir, "input.lp"))
	require.NoError(t, err)
	defer in.Close()
	_, err = task.WriteLineProtocol(in, "telegraf", "autogen", "", func(e *lineproto.LineError) { logBuf.WriteString(e.Error() + "\n") })
	require.NoError(t, err)
	require.NoError(t, task.Close(context.Background()))
	return out.String(), strings.TrimLeft(logBuf.String(), "\n"), sent.String()
}
