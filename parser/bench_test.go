package parser

import (
	"strconv"
	"strings"
	"testing"
)

// BenchmarkParseChain parses chains of 5k, 20k and 80k links, node links
// (|window()) and property links (.prop(1)), to show that parsing grows
// linearly with the chain (issue 16, item 18): compare ns/op and B/op
// across sizes, which should grow 4× per step.
func BenchmarkParseChain(b *testing.B) {
	for _, link := range []struct{ name, text string }{
		{"node", "|window()"},
		{"prop", ".prop(1)"},
	} {
		for _, n := range []int{5000, 20000, 80000} {
			src := "stream|from()" + strings.Repeat(link.text, n)
			b.Run(link.name+"/"+strconv.Itoa(n/1000)+"k", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(src)))
				for b.Loop() {
					if _, err := Parse("bench", src); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkParseBinary parses lambdas of 10k, 40k and 160k terms joined
// by +, which should also grow linearly (issue 16, item 17).
func BenchmarkParseBinary(b *testing.B) {
	for _, n := range []int{10000, 40000, 160000} {
		src := `"a"` + strings.Repeat(` + "a"`, n-1)
		b.Run(strconv.Itoa(n/1000)+"k", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if _, err := ParseExpr("bench", src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
