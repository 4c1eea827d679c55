package eval

import "strings"

// kindSet is a set of Kinds: what a node may produce at run time.
type kindSet uint16

// numKinds is the number of Kinds; tables are indexed by Kind.
const numKinds = int(Regex) + 1

func setOf(ks ...Kind) kindSet {
	var s kindSet
	for _, k := range ks {
		s |= 1 << k
	}
	return s
}

func (s kindSet) has(k Kind) bool { return s&(1<<k) != 0 }

// single returns the only kind of s and true, or false if s has zero or
// several kinds.
func (s kindSet) single() (Kind, bool) {
	if s == 0 || s&(s-1) != 0 {
		return 0, false
	}
	for k := Kind(0); int(k) < numKinds; k++ {
		if s.has(k) {
			return k, true
		}
	}
	return 0, false
}

// kinds lists the kinds of s, missing last.
func (s kindSet) kinds() []Kind {
	var out []Kind
	for k := Kind(1); int(k) < numKinds; k++ {
		if s.has(k) {
			out = append(out, k)
		}
	}
	if s.has(Missing) {
		out = append(out, Missing)
	}
	return out
}

// String lists the kinds as "float, int or string".
func (s kindSet) String() string {
	ks := s.kinds()
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.String()
	}
	switch len(names) {
	case 0:
		return "nothing"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// refKinds is what a field or tag reference may hold.
var refKinds = setOf(Float, Int, String, Bool, Missing)
