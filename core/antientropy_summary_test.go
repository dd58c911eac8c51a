package core_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

// In a table larger than a summary, the periodic exchanges send summaries of
// summaryBuckets (16) buckets, so their bytes do not grow with the table; a
// record only anti-entropy carries (a newer tombstone learnt from a repair,
// which neither gossip nor the heartbeats' table hash spreads) still reaches every
// member, the peers that find a summary differing in more records than one
// message holds descending into an exchange of their whole digest.
func TestSummariesRepairALargeTable(t *testing.T) {
	const nodes = 140 // 140 records: 32 buckets, over a summary's 16
	o := sim.Options{Nodes: nodes, Seed: 21}
	o.Config = core.DefaultLANConfig()
	// Records of about 250 bytes: a summary bucket (about 9 records)
	// holds more than one message's worth, so a difference is descended.
	o.Config.Meta = bytes.Repeat([]byte("m"), 200)
	var summaries, whole int
	summarySeqs := map[uint64]bool{} // the exchange numbers of the summaries sent
	summaryParts := map[uint64]int{} // by summary: the parts of its answer that carry records
	o.OnOutcome = func(_ int, out core.Outcome) {
		for _, m := range out.Outbound {
			switch {
			case m.Message.Kind == core.MessageDigest && len(m.Message.Digest) == 16:
				summaries++
				summarySeqs[m.Message.Seq] = true
			case m.Message.Kind == core.MessageDigest && len(m.Message.Digest) == 32:
				whole++
			case m.Message.Kind == core.MessageDigestReply && len(m.Message.Entries) > 0 && summarySeqs[m.Message.Seq]:
				summaryParts[m.Message.Seq]++
			}
		}
	}
	c := settled(t, o)
	cfg := c.Config()
	c.Run(15 * time.Second) // the join's gossip drains
	summaries, whole = 0, 0
	c.Run(cfg.AntiEntropyInterval)
	if n, _, _ := c.Coordinator(0).DigestBuckets(); n != 32 {
		t.Fatalf("%d members digest over %d buckets, want 32", nodes, n)
	}
	if summaries < nodes/2 || whole > summaries/10 {
		t.Fatalf("in steady state, over one anti-entropy interval: %d summaries and %d whole digests sent; want mostly summaries", summaries, whole)
	}

	// Member y leaves; once every member holds its tombstone, member x
	// alone learns a newer one, from a repair (merged, not gossiped on, and
	// not in the heartbeats' table hash, which counts active records).
	const x, y = 7, 11
	if err := c.Leave(y); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.RunUntil(func() bool { return c.HasLeft(y) && c.AllLiveMarked(c.NodeID(y), core.StatusRemoved) }, time.Minute); !ok {
		t.Fatal("the leave did not reach every member in a minute")
	}
	left, ok := c.Record(x, c.Authority(y))
	if !ok {
		t.Fatalf("member %d does not hold the tombstone of member %d", x, y)
	}
	ghost := left
	ghost.Status, ghost.Incarnation = core.StatusDead, left.Incarnation+1
	err := c.Inject(x, core.GossipInbound{Message: core.Message{
		Kind: core.MessageGossip, From: c.Authority(3), FromID: c.NodeID(3), Seq: 1, Entries: []core.NodeRecord{ghost},
	}})
	if err != nil {
		t.Fatal(err)
	}
	holders := func() int {
		n := 0
		for _, i := range c.LiveNodes() {
			for _, r := range c.Coordinator(i).Records() {
				if r.Authority == ghost.Authority && r.Status == core.StatusDead && r.Incarnation == ghost.Incarnation {
					n++
					break
				}
			}
		}
		return n
	}
	if h := holders(); h != 1 {
		t.Fatalf("after the injected repair %d members hold the newer tombstone, want 1", h)
	}
	// Anti-entropy spreads it as an epidemic of exchanges: each member runs
	// one per interval, so the members that hold it double about every
	// interval.
	limit := cfg.TombstoneRetention - 2*time.Minute // before the tombstone is pruned
	var took time.Duration
	for took = 0; took < limit && holders() < nodes-1; took += 5 * time.Second {
		c.Run(5 * time.Second)
	}
	if h := holders(); h < nodes-1 {
		t.Fatalf("after %v, %d of %d members hold the newer tombstone", took, h, nodes-1)
	}
	var descended uint64
	for _, i := range c.LiveNodes() {
		descended += c.Coordinator(i).Stats().SummariesDescended
	}
	if descended == 0 {
		t.Error("no member descended from a summary: the tombstone spread some other way")
	}
	// A summary is answered with records only when they fit one message;
	// more, and the peer descends instead.
	for seq, parts := range summaryParts {
		if parts > 1 {
			t.Errorf("summary %x was answered with records in %d messages", seq, parts)
		}
	}
	t.Logf("the tombstone reached all %d members in %v; %d summaries descended", nodes-1, took, descended)
	if !c.Converged() {
		t.Error("the views do not agree")
	}
}
