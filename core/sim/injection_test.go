package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// injectFakes has an outsider at attacker send node to gossip messages
// carrying count fake members (Up, at addresses nobody listens on), as
// many per message as fit MaxMessageBytes (500 fakes: at most 14 datagrams). It
// returns the number of messages sent.
func injectFakes(c *Cluster, to int, attacker string, count int) int {
	cfg := c.Config()
	var batch []core.NodeRecord
	sent := 0
	flush := func() {
		if len(batch) == 0 {
			return
		}
		m := core.Message{Kind: core.MessageGossip, From: attacker, FromID: "attacker", Entries: batch}
		n := c.nodes[to]
		out, _ := n.coord.HandleGossip(c.Now(), core.GossipInbound{Source: attacker, Message: m})
		c.process(n, out)
		batch, sent = nil, sent+1
	}
	for i := range count {
		r := core.NodeRecord{NodeID: fmt.Sprintf("fake-%04d", i), Authority: fmt.Sprintf("10.250.%d.%d:7946", i/250, i%250+1),
			Status: core.StatusUp, Incarnation: 1}
		m := core.Message{Kind: core.MessageGossip, From: attacker, FromID: "attacker", Entries: append(batch, r)}
		if core.EstimateSize(m) > cfg.MaxMessageBytes {
			flush()
		}
		batch = append(batch, r)
	}
	flush()
	return sent
}

// crashAfterInjection bootstraps n members (with ProveMembers as prove),
// lets them settle, has an outsider inject fakes fake members at one of
// them (none for 0) and lets them spread for a few seconds, then crashes a
// real member and returns how long until every live member held it Dead
// (ok false if that took over two minutes), and the live members some
// member suspected after the injection.
func crashAfterInjection(t *testing.T, n int, seed uint64, fakes int, prove bool) (took time.Duration, suspected []string, ok bool) {
	t.Helper()
	cfg := core.DefaultLANConfig()
	cfg.ProveMembers = prove
	c, err := New(Options{Nodes: n, Seed: seed, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.Bootstrap(0, c.Config().GossipInterval, time.Minute); err != nil || !ok {
		t.Fatalf("seed %d: bootstrap: converged %v, %v", seed, ok, err)
	}
	c.Run(15 * time.Second)
	before := map[string]bool{}
	for _, id := range c.FalseSuspects() {
		before[id] = true
	}
	if fakes > 0 {
		if sent := injectFakes(c, 1, "10.99.0.1:7946", fakes); sent > 14 {
			t.Fatalf("%d fakes took %d datagrams, want at most 14", fakes, sent)
		}
		c.Run(5 * time.Second)
	}
	victim := 2 + int(seed)%(n-2)
	id := c.NodeID(victim)
	at := c.Elapsed()
	c.Crash(victim)
	_, ok = c.RunUntil(func() bool { return c.AllLiveMarked(id, core.StatusDead) }, 2*time.Minute)
	for _, s := range c.FalseSuspects() {
		if !before[s] {
			suspected = append(suspected, s)
		}
	}
	if !ok {
		return c.Elapsed() - at, suspected, false
	}
	last, _ := c.LastMarked(id, core.StatusDead)
	return last - at, suspected, true
}

// Injected members (issue 11): an outsider that injects 500 fake members
// into an open cluster of 32 (at most 14 datagrams to one member) does not blind
// failure detection when Config.ProveMembers is set. A member watches, and
// heartbeats, only members it has heard from itself, so fakes never become
// monitors; a crash is still seen Dead everywhere within twice the time it
// takes without the fakes, and no live member is suspected meanwhile.
func TestInjectedMembersDoNotBlindDetection(t *testing.T) {
	const n, fakes = 32, 500
	for seed := uint64(1); seed <= 3; seed++ {
		clean, _, ok1 := crashAfterInjection(t, n, seed, 0, true)
		took, suspected, ok2 := crashAfterInjection(t, n, seed, fakes, true)
		if !ok1 || !ok2 {
			t.Fatalf("seed %d: the crashed member is not Dead everywhere 2 min after the crash (%v without fakes, %v with)", seed, ok1, ok2)
		}
		// The same without ProveMembers, for the record (SECURITY.md).
		off, offSuspected, offOK := crashAfterInjection(t, n, seed, fakes, false)
		t.Logf("seed %d: crash Dead everywhere after %v without fakes, %v with %d; without ProveMembers %v (Dead everywhere: %v), %d live members suspected",
			seed, clean, took, fakes, off, offOK, len(offSuspected))
		if took > 2*clean {
			t.Errorf("seed %d: with %d fakes the crash took %v to be Dead everywhere, over twice the %v without", seed, fakes, took, clean)
		}
		if len(suspected) > 0 {
			t.Errorf("seed %d: with %d fakes, live members suspected: %v", seed, fakes, suspected)
		}
	}
}
