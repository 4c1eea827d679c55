package pipeline

import (
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func chainScript(n int) string {
	var b strings.Builder
	b.WriteString("stream|from()")
	for range n {
		b.WriteString("|where(lambda: \"v\" > 1).quiet()")
	}
	return b.String()
}

// Issue 16: binding was quadratic in the length of a chain (a chain of
// 20,000 nodes took 12 s): every lambda walked up to the stream for the
// field kinds. They are kept per node now: the work grows with the chain.
func TestBindingIsLinear_issue16(t *testing.T) {
	work := func(n int) int {
		kindsComputed.Store(0)
		_, err := Compile("t", "t.tick", chainScript(n), Options{})
		require.NoError(t, err)
		return int(kindsComputed.Load())
	}
	small, large := work(500), work(4000)
	assert.LessOrEqual(t, large, 8*small+100, "500 nodes: %d, 4000 nodes: %d field-kind computations", small, large)
}

// BenchmarkCompileChain compiles chains of where nodes (issue 16: binding
// and checking linear in the script).
func BenchmarkCompileChain(b *testing.B) {
	for _, n := range []int{5000, 20000} {
		src := chainScript(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile("t", "t.tick", src, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Issue 16: binding a chain recursed once per link, so a long enough
// script overflowed the stack (a fatal error no server survives). The
// links are bound in a loop: 30,000 of them bind in a child process
// whose stack is capped at 4 MiB.
func TestLongChainBindsWithSmallStack_issue16(t *testing.T) {
	if os.Getenv("TICKRUN_LONG_CHAIN_CHILD") == "1" {
		debug.SetMaxStack(4 << 20)
		task, err := Compile("t", "t.tick", chainScript(30_000), Options{})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(3)
		}
		fmt.Println("nodes:", len(task.nodes))
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestLongChainBindsWithSmallStack_issue16$")
	cmd.Env = append(os.Environ(), "TICKRUN_LONG_CHAIN_CHILD=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", tail(string(out)))
	assert.Contains(t, string(out), "nodes: 30002")
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}
