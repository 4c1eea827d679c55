package models

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tickrun/tickrun/eval"
)

// shuffledFields returns n fields with keys f000000... in random order;
// with dups, every tenth key is written again later with another value.
func shuffledFields(n int, dups bool, seed int64) []Field {
	r := rand.New(rand.NewSource(seed))
	f := make([]Field, 0, n+n/10)
	for i := range n {
		f = append(f, Field{Key: fmt.Sprintf("f%06d", i), Value: eval.IntValue(int64(i))})
	}
	if dups {
		for i := 0; i < n; i += 10 {
			f = append(f, Field{Key: fmt.Sprintf("f%06d", i), Value: eval.IntValue(int64(-i))})
		}
	}
	r.Shuffle(len(f), func(i, j int) { f[i], f[j] = f[j], f[i] })
	return f
}

// wantSorted is the reference: a stable sort by key, then of each run of
// equal keys the last one written.
func wantSorted(f []Field) []Field {
	s := slices.Clone(f)
	slices.SortStableFunc(s, func(a, b Field) int { return strings.Compare(a.Key, b.Key) })
	out := []Field{}
	for i := range s {
		if i+1 < len(s) && s[i+1].Key == s[i].Key {
			continue
		}
		out = append(out, s[i])
	}
	return out
}

// SortFields sorts by key and keeps the last of duplicate keys, for short
// lists (insertion sort) and long ones (merge sort) alike.
func TestSortFields_issue17(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, smallSort - 1, smallSort, smallSort + 1, 100, 1000, 10000} {
		for _, dups := range []bool{false, true} {
			for seed := range int64(3) {
				in := shuffledFields(n, dups, seed)
				// Runs of one key written many times, last one wins.
				if n > 3 {
					for i := range in {
						if i%7 == 0 {
							in[i].Key = "dup"
							in[i].Value = eval.IntValue(int64(i))
						}
					}
				}
				want := wantSorted(in)
				got := SortFields(slices.Clone(in))
				assert.Equal(t, want, got, "n=%d dups=%v seed=%d", n, dups, seed)
				assert.True(t, FieldsSorted(got))
			}
		}
	}
}

// SortTags sorts by key and reports duplicates, for short and long lists.
func TestSortTags_issue17(t *testing.T) {
	for _, n := range []int{0, 1, 2, smallSort, smallSort + 1, 1000, 10000} {
		r := rand.New(rand.NewSource(int64(n)))
		in := make([]Tag, n)
		for i := range in {
			in[i] = Tag{Key: fmt.Sprintf("t%06d", i), Value: fmt.Sprint(i)}
		}
		r.Shuffle(n, func(i, j int) { in[i], in[j] = in[j], in[i] })
		want := slices.Clone(in)
		slices.SortFunc(want, func(a, b Tag) int { return strings.Compare(a.Key, b.Key) })
		got := slices.Clone(in)
		assert.True(t, SortTags(got), "n=%d unique", n)
		assert.Equal(t, want, got, "n=%d", n)
		if n > 1 {
			got := slices.Clone(in)
			got[n/2].Key = got[0].Key
			assert.False(t, SortTags(got), "n=%d with a duplicate", n)
			assert.True(t, slices.IsSortedFunc(got, func(a, b Tag) int { return strings.Compare(a.Key, b.Key) }))
		}
	}
}

// Sorting the fields of one line grows as n log n: before the change
// (insertion sort) 100k fields took seconds and 200k minutes.
func BenchmarkSortFields_issue17(b *testing.B) {
	for _, n := range []int{10, 10_000, 100_000, 200_000} {
		in := shuffledFields(n, true, 1)
		buf := make([]Field, len(in))
		b.Run(fmt.Sprintf("fields=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				copy(buf, in)
				SortFields(buf)
			}
		})
	}
}

// A short list sorts without allocating: it is the decoder's hot path.
func TestSortFieldsShortAllocations(t *testing.T) {
	in := shuffledFields(smallSort-2, true, 1) // 16 with the duplicates
	buf := make([]Field, len(in))
	allocs := testing.AllocsPerRun(100, func() {
		copy(buf, in)
		SortFields(buf)
		SortTags([]Tag{{Key: "b"}, {Key: "a"}})
	})
	assert.Zero(t, allocs)
}
