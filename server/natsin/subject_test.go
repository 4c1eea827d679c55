package natsin

import (
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScheme(t *testing.T) {
	tests := []struct {
		name         string
		subjects     []string
		token, parts int
		src, dest    string
		filter3      string
		filterAll    string
	}{
		{"telegraf by host", []string{"telegraf.>"}, 1, 6,
			"*.*.>", "telegraf.{{partition(6,2)}}.{{wildcard(1)}}.{{wildcard(2)}}.>",
			"telegraf.3.*.*.>", "telegraf.*.*.*.>"},
		{"telegraf by measurement", []string{"telegraf.>"}, 2, 6,
			"*.*.*.>", "telegraf.{{partition(6,3)}}.{{wildcard(1)}}.{{wildcard(2)}}.{{wildcard(3)}}.>",
			"telegraf.3.*.*.*.>", "telegraf.*.*.*.*.>"},
		{"star then more", []string{"m.*.x.>"}, 1, 4,
			"*.*.>", "telegraf.{{partition(4,2)}}.{{wildcard(1)}}.{{wildcard(2)}}.>",
			"telegraf.3.*.*.>", "telegraf.*.*.*.>"},
		{"key last", []string{"telegraf.*"}, 1, 8,
			"*.*", "telegraf.{{partition(8,2)}}.{{wildcard(1)}}.{{wildcard(2)}}",
			"telegraf.3.*.*", "telegraf.*.*.*"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newScheme("telegraf", tc.subjects, tc.token, tc.parts)
			require.NoError(t, err)
			src, dest := s.transform()
			assert.Equal(t, tc.src, src)
			assert.Equal(t, tc.dest, dest)
			assert.Equal(t, tc.filter3, s.filter(3))
			assert.Equal(t, tc.filterAll, s.filter(-1))
			assert.Equal(t, tc.parts, transformPartitions(dest))
			// nats-server accepts the mapping.
			require.NoError(t, server.ValidateMapping(src, dest))
		})
	}
}

func TestPartitionOfSubject(t *testing.T) {
	s, err := newScheme("telegraf", []string{"telegraf.>"}, 1, 6)
	require.NoError(t, err)
	tests := []struct {
		subj string
		part int32
		ok   bool
	}{
		{"telegraf.3.telegraf.host1.cpu", 3, true},
		{"telegraf.0.telegraf.host1.cpu.more.tokens", 0, true},
		{"telegraf.5.x.y.z", 5, true},
		{"telegraf.6.telegraf.host1.cpu", 0, false},  // out of range
		{"telegraf.03.telegraf.host1.cpu", 0, false}, // not as the transform writes it
		{"telegraf.-1.telegraf.host1.cpu", 0, false},
		{"telegraf.3.telegraf.host1", 0, false}, // too short for the transform
		{"telegraf.host1.cpu", 0, false},        // stored untransformed
		{"telegraf.host1", 0, false},
		{"telegraf.3..host1.cpu", 0, false},
		{"telegraf.3.telegraf.host1.", 0, false},
		{"telegrafx.3.telegraf.host1.cpu", 0, false},
		{"other.3.telegraf.host1.cpu", 0, false},
		{"telegraf.99999999999999999999.a.b.c", 0, false},
		{"", 0, false},
		{"telegraf", 0, false},
		{"telegraf.", 0, false},
		{"telegraf.3", 0, false},
		{"telegraf.3.", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.subj, func(t *testing.T) {
			p, ok := s.partition(tc.subj)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.part, p)
		})
	}
}

// FuzzPartitionOfSubject checks the parser of stored subjects (which come
// from the broker) against nats-server's own transform: a subject the
// transform rewrites parses to the partition the server put in it, a
// subject it leaves alone parses to none, and nothing panics.
func FuzzPartitionOfSubject(f *testing.F) {
	for _, seed := range []string{
		"telegraf.host1.cpu", "telegraf.host1", "telegraf.3.telegraf.h.cpu", "telegraf.a.b.c.d",
		"telegraf..x", "telegraf.h\x00.cpu", "telegraf.*.>", "telegraf.0.a.b", "telegraf.5",
	} {
		f.Add(seed, uint8(1), uint8(6))
	}
	f.Fuzz(func(t *testing.T, subj string, token, parts uint8) {
		tok := int(token%3) + 1
		n := int(parts%16) + 1
		s, err := newScheme("telegraf", []string{"telegraf.>"}, tok, n)
		require.NoError(t, err)
		// Anything at all: no panic, and a partition in range.
		if p, ok := s.partition(subj); ok {
			require.True(t, p >= 0 && int(p) < n, "partition %d of %q out of range", p, subj)
			require.Regexp(t, `^telegraf\.\d+\.`, subj)
		}
		// A published subject of the stream: what the server stores.
		pub := "telegraf." + subj
		if !validPublishSubject(pub) {
			return
		}
		src, dest := s.transform()
		tr, err := server.NewSubjectTransform(src, dest)
		require.NoError(t, err)
		stored, err := tr.Match(pub)
		if err != nil { // not transformed: stored as published
			_, ok := s.partition(pub)
			require.False(t, ok, "untransformed %q parsed as partitioned", pub)
			return
		}
		p, ok := s.partition(stored)
		require.True(t, ok, "stored %q (published %q) not parsed", stored, pub)
		tail, ok := strings.CutPrefix(stored, "telegraf.")
		require.True(t, ok)
		num, orig, _ := strings.Cut(tail, ".")
		require.Equal(t, pub, orig, "published subject not kept whole")
		require.Equal(t, num, strconv.Itoa(int(p)))
		// And the filter of its partition matches it, no other one does.
		require.True(t, subjectMatches(s.filter(p), stored))
		require.True(t, subjectMatches(s.filter(-1), stored))
		if n > 1 {
			require.False(t, subjectMatches(s.filter((p+1)%int32(n)), stored))
		}
	})
}

// validPublishSubject is what a client may publish to: tokens not empty,
// no wildcards, no whitespace.
func validPublishSubject(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\r\n\x00") {
		return false
	}
	for _, t := range strings.Split(s, ".") {
		if t == "" || t == "*" || t == ">" {
			return false
		}
	}
	return server.IsValidPublishSubject(s)
}

// subjectMatches matches a subject against a filter with '*' and '>'.
func subjectMatches(filter, subj string) bool {
	ft, st := strings.Split(filter, "."), strings.Split(subj, ".")
	for i, f := range ft {
		if f == ">" {
			return len(st) > i
		}
		if i >= len(st) || (f != "*" && f != st[i]) {
			return false
		}
	}
	return len(ft) == len(st)
}
