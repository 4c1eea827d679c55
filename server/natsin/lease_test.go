package natsin

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPlan(t *testing.T) {
	now := time.Unix(1700000000, 0)
	live := func(inst string) leaseEntry {
		return leaseEntry{lease: lease{Instance: inst, Expires: now.Add(time.Second)}, rev: 1}
	}
	dead := func(inst string) leaseEntry {
		return leaseEntry{lease: lease{Instance: inst, Expires: now.Add(-time.Millisecond)}, rev: 1}
	}
	free := leaseEntry{}
	members := func(es ...leaseEntry) map[string]leaseEntry {
		m := map[string]leaseEntry{}
		for _, e := range es {
			m[memberKey(e.Instance)] = e
		}
		return m
	}
	held := func(ps ...int32) map[int32]bool {
		m := map[int32]bool{}
		for _, p := range ps {
			m[p] = true
		}
		return m
	}
	tests := []struct {
		name                   string
		in                     planInput
		take, overflow, giveUp []int32
	}{
		{
			name: "alone takes all",
			in:   planInput{self: "a", parts: []leaseEntry{free, free, free}, members: members(live("a"))},
			take: []int32{1, 2, 0}, // from an offset of its own
		},
		{
			name: "before its own announcement shows",
			in:   planInput{self: "a", parts: []leaseEntry{free, free}, members: members(live("b"))},
			take: []int32{0},
		},
		{
			name: "three share six",
			in: planInput{self: "a", parts: []leaseEntry{free, free, free, free, free, free},
				members: members(live("a"), live("b"), live("c"))},
			take: []int32{4, 5},
		},
		{
			name: "at fair share takes no more",
			in: planInput{self: "a", parts: []leaseEntry{live("a"), live("a"), free, live("b"), live("c"), live("c")},
				members: members(live("a"), live("b"), live("c")), held: held(0, 1)},
		},
		{
			name: "expired leases are free",
			in: planInput{self: "a", parts: []leaseEntry{live("a"), live("a"), dead("b"), dead("b"), live("c"), live("c")},
				members: members(live("a"), dead("b"), live("c")), held: held(0, 1)},
			take: []int32{2},
		},
		{
			name: "newcomer makes extras",
			in: planInput{self: "a", parts: []leaseEntry{live("a"), live("a"), live("a"), live("c"), live("c"), live("c")},
				members: members(live("a"), live("c"), live("d")), held: held(0, 1, 2)},
			giveUp: []int32{2},
		},
		{
			name: "partition 0 goes last",
			in: planInput{self: "a", parts: []leaseEntry{live("a"), live("a"), live("b"), live("b")},
				members: members(live("a"), live("b"), live("c"), live("d")), held: held(0, 1)},
			giveUp: []int32{1},
		},
		{
			name: "sticky extra is kept",
			in: planInput{self: "a", parts: []leaseEntry{live("a"), live("a"), live("a")},
				members: members(live("a"), live("b"), live("c")), held: held(0, 1, 2),
				sticky: map[int32]time.Time{1: now.Add(time.Second), 2: now.Add(time.Second)}},
			giveUp: []int32{0},
		},
		{
			name: "free too long is taken over the share",
			in: planInput{self: "a", parts: []leaseEntry{live("a"), free, live("b")},
				members: members(live("a"), live("b"), live("c")), held: held(0),
				freeSince: map[int32]time.Time{1: now.Add(-7 * time.Second)}, overflowAfter: 6 * time.Second},
			overflow: []int32{1},
		},
		{
			name: "refused partition is left alone",
			in: planInput{self: "a", parts: []leaseEntry{free, free},
				members: members(live("a")), refused: map[int32]time.Time{0: now.Add(time.Second)}},
			take: []int32{1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.now = now
			if tc.in.held == nil {
				tc.in.held = map[int32]bool{}
			}
			take, overflow, giveUp := plan(tc.in)
			assert.Equal(t, tc.take, take, "take")
			assert.Equal(t, tc.overflow, overflow, "overflow")
			assert.Equal(t, tc.giveUp, giveUp, "give up")
		})
	}
}

func TestMemberKey(t *testing.T) {
	assert.Equal(t, "member.host-1_2", memberKey("host-1_2"))
	assert.Equal(t, "member.a=2eb=20c=ff", memberKey("a.b c\xff"))
}

func TestTableSet(t *testing.T) {
	tb := newTable(3)
	tb.set("p.1", encodeLease(lease{Instance: "a"}), 5, false)
	tb.set("p.1", encodeLease(lease{Instance: "b"}), 4, false) // older: ignored
	tb.set("p.01", []byte("x"), 9, false)                      // not a partition key
	tb.set("p.7", []byte("x"), 9, false)                       // out of range
	tb.set("member.a", []byte("not json"), 2, false)
	parts, members := tb.view()
	assert.Equal(t, "a", parts[1].Instance)
	assert.Equal(t, uint64(5), parts[1].rev)
	assert.True(t, members["member.a"].free(time.Now()), "an unreadable lease counts as expired")
	tb.set("member.a", nil, 3, true)
	_, members = tb.view()
	assert.Empty(t, members)
}
