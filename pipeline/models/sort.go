package models

import (
	"slices"
	"strings"
)

// smallSort is the longest list sorted by insertion: tag and field lists
// are short and usually sorted already, so that is the hot path, and it
// never allocates. Longer lists (a line may carry 100k fields) are sorted
// in O(n log n), which insertion sort is not.
const smallSort = 16

// SortTags sorts tags by key in place and reports whether the keys are
// unique.
func SortTags(t []Tag) bool {
	if len(t) <= smallSort {
		for i := 1; i < len(t); i++ {
			for j := i; j > 0 && t[j].Key < t[j-1].Key; j-- {
				t[j], t[j-1] = t[j-1], t[j]
			}
		}
	} else if !slices.IsSortedFunc(t, compareTags) {
		// Not stable, which does not matter: duplicate tag keys reject
		// the line.
		slices.SortFunc(t, compareTags)
	}
	return TagsSorted(t)
}

func compareTags(a, b Tag) int { return strings.Compare(a.Key, b.Key) }

func compareFields(a, b Field) int { return strings.Compare(a.Key, b.Key) }

// TagsSorted reports whether the keys are sorted and unique.
func TagsSorted(t []Tag) bool {
	for i := 1; i < len(t); i++ {
		if t[i].Key <= t[i-1].Key {
			return false
		}
	}
	return true
}

// FieldsSorted reports whether the keys are sorted and unique.
func FieldsSorted(f []Field) bool {
	for i := 1; i < len(f); i++ {
		if f[i].Key <= f[i-1].Key {
			return false
		}
	}
	return true
}

// SortFields sorts fields by key; of duplicate keys the last one written
// wins, as in Kapacitor. It sorts in place and returns f shortened by the
// duplicates.
func SortFields(f []Field) []Field {
	if FieldsSorted(f) { // the common case: unique keys written in order
		return f
	}
	// Both sorts are stable: of equal keys the last written stays last.
	if len(f) <= smallSort {
		insertionSortFields(f)
	} else {
		mergeSortFields(f)
	}
	out := f[:0]
	for i := range f {
		if i+1 < len(f) && f[i+1].Key == f[i].Key {
			continue
		}
		out = append(out, f[i])
	}
	return out
}

// insertionSortFields sorts f stably by key.
func insertionSortFields(f []Field) {
	for i := 1; i < len(f); i++ {
		for j := i; j > 0 && f[j].Key < f[j-1].Key; j-- {
			f[j], f[j-1] = f[j-1], f[j]
		}
	}
}

// mergeSortFields sorts f stably by key in O(n log n) moves, with a buffer
// as long as f: runs of smallSort fields sorted by insertion, then merged
// pairwise. (slices.SortStableFunc merges in place, in O(n log² n) moves,
// several times slower on 100k fields.)
func mergeSortFields(f []Field) {
	for i := 0; i < len(f); i += smallSort {
		insertionSortFields(f[i:min(i+smallSort, len(f))])
	}
	src, dst := f, make([]Field, len(f))
	for width := smallSort; width < len(f); width *= 2 {
		for lo := 0; lo < len(f); lo += 2 * width {
			mid, hi := min(lo+width, len(f)), min(lo+2*width, len(f))
			mergeFields(dst[lo:hi], src[lo:mid], src[mid:hi])
		}
		src, dst = dst, src
	}
	if &src[0] != &f[0] {
		copy(f, src)
	}
}

// mergeFields merges the sorted a and b into out, taking from a first
// when keys are equal (a was written first), so the merge is stable.
func mergeFields(out, a, b []Field) {
	i, j, k := 0, 0, 0
	for i < len(a) && j < len(b) {
		if b[j].Key < a[i].Key {
			out[k] = b[j]
			j++
		} else {
			out[k] = a[i]
			i++
		}
		k++
	}
	k += copy(out[k:], a[i:])
	copy(out[k:], b[j:])
}
