package core_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

// strangerMessage returns the i-th message of a flood from distinct senders
// that are not members: heartbeats carrying a table hash that differs from
// everyone's, digests, join requests without a record (as a client sends),
// digest replies wanting every bucket, and gossip saying nothing new. Each
// names its own sender, which is also its source.
func strangerMessage(i int) core.GossipInbound {
	from := fmt.Sprintf("198.18.%d.%d:%d", i/65536%256, i/256%256, 1024+i%256)
	id := fmt.Sprintf("stranger-%016d", i) // longer than the members' IDs: room for a reply
	m := core.Message{From: from, FromID: id, Seq: uint64(i + 1)}
	switch i % 5 {
	case 0, 1:
		m.Kind, m.Digest = core.MessageHeartbeat, []uint64{uint64(i) * 0x9e3779b97f4a7c15}
	case 2:
		m.Kind, m.Digest = core.MessageDigest, []uint64{uint64(i)}
	case 3:
		m.Kind = core.MessageJoinRequest
	case 4:
		m.Kind, m.Want = core.MessageDigestReply, []uint32{0}
	}
	return core.GossipInbound{Source: from, Message: m}
}

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// A flood of 300,000 distinct senders leaves nothing behind: every map a
// sender's choice of address or name keys is bounded while the flood lasts
// and swept after it, so an hour later the live heap is where it was and the
// per-peer state is the members' again.
func TestDistinctSenderFloodLeavesNoState(t *testing.T) {
	const senders = 300_000
	c := settled(t, sim.Options{Nodes: 5, Seed: 11})
	c.Run(10 * time.Second) // the members' own per-peer state settles in the first second
	target := c.Coordinator(0)
	entriesBefore := target.PeerStateEntries()
	heapBefore := heapInUse()

	// 2,000 messages per 10 ms tick: 300,000 over 1.5 s of virtual time,
	// more new senders per half GossipInterval than any limit holds.
	peak := 0
	for i := 0; i < senders; {
		for range 2000 {
			_, _ = target.HandleGossip(c.NodeNow(0), strangerMessage(i)) // replies go nowhere
			i++
		}
		c.Run(c.Tick())
		peak = max(peak, target.PeerStateEntries()+target.ReplyStateEntries())
	}
	// Every limit keyed by a sender is full at worst: the notice limit, the
	// three per-source reply limits, the log of requests answered and the
	// cookies held.
	if bound := entriesBefore + core.MaxNoticeTargets + 5*core.MaxReplyTargets; peak > bound {
		t.Errorf("peer and reply state reached %d entries during the flood, over %d", peak, bound)
	}
	if target.Stats().RepliesLimited == 0 {
		t.Errorf("the flood never filled a reply limit: stats %+v", target.Stats())
	}
	if err := c.SetTick(250 * time.Millisecond); err != nil { // an hour of virtual time, polled every 250 ms
		t.Fatal(err)
	}
	c.Run(time.Hour)

	heapAfter := heapInUse()
	growth := int64(heapAfter) - int64(heapBefore)
	t.Logf("live heap %d -> %d bytes (%+d) after %d senders and an hour; peer state entries %d, at most %d during the flood, %d after",
		heapBefore, heapAfter, growth, senders, entriesBefore, peak, target.PeerStateEntries())
	if growth > 4<<20 {
		t.Errorf("live heap grew by %d bytes, over 4 MiB", growth)
	}
	if got := target.PeerStateEntries(); got > entriesBefore+5 {
		t.Errorf("PeerStateEntries = %d an hour after the flood, was %d before", got, entriesBefore)
	}
	if !c.Converged() {
		t.Error("the cluster did not stay converged through the flood")
	}
}
