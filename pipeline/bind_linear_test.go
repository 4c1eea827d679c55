package pipeline

import (
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
		kindsComputed = 0
		_, err := Compile("t", "t.tick", chainScript(n), Options{})
		require.NoError(t, err)
		return kindsComputed
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
