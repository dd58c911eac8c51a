package core_test

import (
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

// monitorOf returns the member whose detector watches member x, or -1.
func monitorOf(c *sim.Cluster, x int) int {
	for i := range c.Len() {
		if i != x && c.Coordinator(i).IsWatched(c.Authority(x)) {
			return i
		}
	}
	return -1
}

// With one monitor per member, a crash is lost by that monitor alone; it
// asks IndirectChecks others to probe the member, the probes go unanswered,
// and each prober names itself a suspector: the monitor's suspicion reaches
// SuspicionConfirmations confirmations, all from probers, and the member is
// declared Dead SuspicionMinTimeout after the loss.
func TestProbesConfirmALoss(t *testing.T) {
	c := settled(t, sim.Options{Nodes: 8, Seed: 41})
	c.Run(time.Second) // the ring settles
	cfg := c.Config()
	x := 5
	m := monitorOf(c, x)
	if m < 0 {
		t.Fatal("nobody watches the member")
	}
	mc, xa := c.Coordinator(m), c.Authority(x)
	c.Crash(x)
	if _, ok := c.RunUntil(func() bool { return mc.SuspectsLocally(xa) }, time.Minute); !ok {
		t.Fatal("the monitor did not lose the crashed member within a minute")
	}
	lost := c.Elapsed()
	if got := mc.Stats().ProbeRequestsSent; got != uint64(cfg.IndirectChecks) {
		t.Fatalf("the monitor sent %d probe requests, want IndirectChecks = %d", got, cfg.IndirectChecks)
	}
	dead := func() bool { r, ok := mc.Member(xa); return ok && r.Status == core.StatusDead }
	if _, ok := c.RunUntil(dead, cfg.SuspicionMinTimeout+time.Second); !ok {
		t.Fatalf("the member is not Dead at its monitor %v after the loss", cfg.SuspicionMinTimeout+time.Second)
	}
	if took := c.Elapsed() - lost; took > cfg.SuspicionMinTimeout+2*c.Tick() {
		t.Errorf("Dead %v after the loss, want SuspicionMinTimeout %v (confirmed by the probes)", took, cfg.SuspicionMinTimeout)
	}
	probers := 0
	for i := range c.Len() {
		if i == m || i == x {
			continue
		}
		st := c.Coordinator(i).Stats()
		if st.ProbesFailed > 0 {
			probers++
		}
		if st.DeadDeclared > 0 {
			t.Errorf("member %d, which only probed, declared the member Dead itself", i)
		}
	}
	if probers < cfg.SuspicionConfirmations {
		t.Errorf("%d members' probes failed, want at least SuspicionConfirmations = %d", probers, cfg.SuspicionConfirmations)
	}
}

// A member whose heartbeats stop reaching its monitor, but which is alive,
// answers the probes: no prober accuses it, it learns of the suspicion from
// them and refutes, and nobody ever declares it Dead.
func TestAnsweredProbesConfirmNothing(t *testing.T) {
	c := settled(t, sim.Options{Nodes: 8, Seed: 43})
	c.Run(time.Second) // the ring settles
	x := 3
	m := monitorOf(c, x)
	if m < 0 {
		t.Fatal("nobody watches the member")
	}
	c.SetLinkDown(x, m, true)
	mc := c.Coordinator(m)
	if _, ok := c.RunUntil(func() bool { return mc.Stats().ProbeRequestsSent > 0 }, time.Minute); !ok {
		t.Fatal("the monitor never lost the member whose heartbeats it stopped getting")
	}
	c.Run(10 * time.Second)
	var sent uint64
	for i := range c.Len() {
		st := c.Coordinator(i).Stats()
		sent += st.ProbesSent
		if i != m && st.ProbesFailed != 0 { // the monitor's own probe waits for an ack the cut link drops
			t.Errorf("member %d: %d probes failed against a live member", i, st.ProbesFailed)
		}
		if r, ok := c.Coordinator(i).Member(c.Authority(x)); i != x && ok && r.Status == core.StatusDead {
			t.Errorf("member %d holds the live member Dead", i)
		}
	}
	if c.Coordinator(x).Stats().Refutations == 0 {
		t.Error("the suspected member never refuted")
	}
	if sent == 0 {
		t.Error("no member probed the lost member")
	}
}
