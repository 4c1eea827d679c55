package natsin

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// scheme is how the stream's messages are partitioned and stored: a
// message published to a subject of Subjects whose key is token key
// (0-based, of the whole subject) is stored as
//
//	<stream>.<partition>.<subject as published>
//
// by the stream's subject transform, which computes the partition with
// JetStream's {{partition(N,k)}} (a hash of the key token). Keeping the
// published subject whole after two fixed tokens makes the stored subject
// readable (nats stream view) and its partition parseable without knowing
// the published subjects.
type scheme struct {
	stream string
	key    int  // 0-based token of the published subject carrying the key
	tail   bool // the published subjects have tokens after the key
	parts  int
}

// newScheme finds the key token of subjects: the token-th wildcard token
// of each, counting the tokens a trailing '>' stands for. Every subject
// must put it at the same position, as the stream has one transform.
func newScheme(stream string, subjects []string, token, parts int) (scheme, error) {
	s := scheme{stream: stream, parts: parts, key: -1}
	if len(subjects) == 0 {
		return s, fmt.Errorf("[nats-input] subjects: want at least one subject")
	}
	for _, subj := range subjects {
		key, tail, err := keyToken(subj, token)
		if err != nil {
			return s, fmt.Errorf("[nats-input] subjects: %q: %w", subj, err)
		}
		if s.key >= 0 && (key != s.key || tail != s.tail) {
			return s, fmt.Errorf("[nats-input] subjects: %q puts partition-token %d at another place than %q: the stream has one transform, so every subject must carry the key at the same token", subj, token, subjects[0])
		}
		s.key, s.tail = key, tail
	}
	return s, nil
}

// keyToken returns the 0-based position of the token-th wildcard token of
// subj and whether tokens may follow it.
func keyToken(subj string, token int) (key int, tail bool, err error) {
	toks := strings.Split(subj, ".")
	n := 0
	for i, t := range toks {
		switch {
		case t == "":
			return 0, false, fmt.Errorf("empty token")
		case t == ">":
			if i != len(toks)-1 {
				return 0, false, fmt.Errorf("'>' must be the last token")
			}
			// '>' stands for one or more tokens: the key is the
			// (token-n)-th of them, and more may follow it.
			return i + token - n - 1, true, nil
		case t == "*":
			n++
			if n == token {
				return i, i < len(toks)-1, nil
			}
		case strings.ContainsAny(t, "*> \t\r\n"):
			return 0, false, fmt.Errorf("token %q: want '*', '>' or a token without them", t)
		}
	}
	return 0, false, fmt.Errorf("partition-token %d: the subject has only %d wildcard tokens", token, n)
}

// transform returns the stream's subject transform. Its source matches any
// subject long enough to have the key (the stream's own subjects select
// what comes in); a message too short for it is stored as published, under
// no partition, and read by no one.
func (s scheme) transform() (src, dest string) {
	n := s.key + 1
	stars := strings.Repeat("*.", n)
	var d strings.Builder
	fmt.Fprintf(&d, "%s.{{partition(%d,%d)}}", s.stream, s.parts, n)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&d, ".{{wildcard(%d)}}", i)
	}
	if s.tail {
		return stars + ">", d.String() + ".>"
	}
	return stars[:len(stars)-1], d.String()
}

// filter returns the subject filter of partition p; filter(-1) matches
// every partition. It asks for the tokens of a transformed subject, so a
// message stored untransformed (too few tokens) never matches.
func (s scheme) filter(p int32) string {
	var b strings.Builder
	b.WriteString(s.stream)
	if p < 0 {
		b.WriteString(".*")
	} else {
		b.WriteByte('.')
		b.WriteString(strconv.Itoa(int(p)))
	}
	b.WriteString(strings.Repeat(".*", s.key+1))
	if s.tail {
		b.WriteString(".>")
	}
	return b.String()
}

// partition returns the partition of a stored subject, false for a subject
// the transform did not write. Subjects come from the broker: it never
// panics, whatever they hold.
func (s scheme) partition(subj string) (int32, bool) {
	rest, ok := strings.CutPrefix(subj, s.stream)
	if !ok || len(rest) < 2 || rest[0] != '.' {
		return 0, false
	}
	rest = rest[1:]
	dot := strings.IndexByte(rest, '.')
	if dot <= 0 {
		return 0, false
	}
	num := rest[:dot]
	if len(num) > 1 && num[0] == '0' { // the transform writes no leading zeros
		return 0, false
	}
	p := 0
	for i := 0; i < len(num); i++ {
		c := num[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		p = p*10 + int(c-'0')
		if p >= s.parts {
			return 0, false
		}
	}
	// The published subject follows: key+1 tokens, and more if tail.
	pub := rest[dot+1:]
	n, lastDot := 1, true
	for i := 0; i < len(pub); i++ {
		if pub[i] == '.' {
			if lastDot {
				return 0, false
			}
			n++
		}
		lastDot = pub[i] == '.'
	}
	if lastDot || (s.tail && n < s.key+2) || (!s.tail && n != s.key+1) {
		return 0, false
	}
	return int32(p), true
}

// partitionsRE finds the partition count of a transform destination.
var partitionsRE = regexp.MustCompile(`\{\{\s*[pP]artition\s*\(\s*(\d+)`)

// transformPartitions returns the partition count a transform destination
// computes, or -1 if it computes none.
func transformPartitions(dest string) int {
	m := partitionsRE.FindStringSubmatch(dest)
	if m == nil {
		return -1
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return -1
	}
	return n
}
