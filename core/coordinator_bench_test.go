package core

import (
	"fmt"
	"testing"
	"time"
)

// bigMember returns a member that knows n-1 others (fed as one join reply)
// and has run its first Poll.
func bigMember(tb testing.TB, n int) (*MembershipCoordinator, time.Time) {
	c, err := NewMembershipCoordinator(testConfig("self", "10.255.255.1:7946", 1))
	if err != nil {
		tb.Fatal(err)
	}
	now := epoch
	if _, err := c.StartMember(now); err != nil {
		tb.Fatal(err)
	}
	if _, err := c.HandleJoin(now, []string{"10.0.0.0:7946"}); err != nil {
		tb.Fatal(err)
	}
	var view []NodeRecord
	for i := 0; i < n-1; i++ {
		view = append(view, NodeRecord{NodeID: fmt.Sprintf("n%04d", i), Authority: fmt.Sprintf("10.0.%d.%d:7946", i/250, i%250), Status: StatusUp, Incarnation: 1})
	}
	for _, m := range packMessages(Message{Kind: MessageJoinReply, From: "10.0.0.0:7946", FromID: "n0000"}, view, 1<<20, false) {
		if _, err := c.HandleGossip(now, GossipInbound{Message: m}); err != nil {
			tb.Fatal(err)
		}
	}
	for i := 0; i < 100; i++ { // run the start-up work (topology, first gossip)
		now = now.Add(10 * time.Millisecond)
		c.Poll(now)
	}
	return c, now
}

// TestIdlePollIsCheap: at 1,000 members, a Poll with nothing due allocates
// nothing (and, see BenchmarkIdlePoll, takes nanoseconds).
func TestIdlePollIsCheap(t *testing.T) {
	c, now := bigMember(t, 1000)
	c.Poll(now)
	if allocs := testing.AllocsPerRun(100, func() { c.Poll(now) }); allocs != 0 {
		t.Fatalf("idle Poll allocates %v times", allocs)
	}
}

func BenchmarkIdlePoll(b *testing.B) {
	c, now := bigMember(b, 1000)
	c.Poll(now)
	b.ReportAllocs()
	for b.Loop() {
		c.Poll(now)
	}
}

// BenchmarkPollSteady polls a 1,000-member node every 10 ms of virtual time,
// everything due included (heartbeats, detector checks, anti-entropy...).
func BenchmarkPollSteady(b *testing.B) {
	c, now := bigMember(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(10 * time.Millisecond)
		c.Poll(now)
	}
}
