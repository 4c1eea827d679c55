package models

// SortTags sorts tags by key in place (insertion sort: tag lists are short
// and usually sorted already) and reports whether the keys are unique.
func SortTags(t []Tag) bool {
	for i := 1; i < len(t); i++ {
		for j := i; j > 0 && t[j].Key < t[j-1].Key; j-- {
			t[j], t[j-1] = t[j-1], t[j]
		}
	}
	return TagsSorted(t)
}

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
// wins, as in Kapacitor.
func SortFields(f []Field) []Field {
	if FieldsSorted(f) { // the common case: unique keys written in order
		return f
	}
	for i := 1; i < len(f); i++ {
		for j := i; j > 0 && f[j].Key < f[j-1].Key; j-- {
			f[j], f[j-1] = f[j-1], f[j]
		}
	}
	// Insertion sort is stable: of equal keys the last written is last.
	out := f[:0]
	for i := range f {
		if i+1 < len(f) && f[i+1].Key == f[i].Key {
			continue
		}
		out = append(out, f[i])
	}
	return out
}
