package core_test

import (
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

// One node ID started at two addresses: both stay members everywhere, and
// every node, the two claimants included, reports the conflict exactly once
// with both records.
func TestOneNodeIDAtTwoAuthoritiesIsReported(t *testing.T) {
	conflicts := map[int][]core.MemberEvent{}
	o := sim.Options{Nodes: 4, Seed: 41}
	o.OnEvent = func(at int, ev core.MemberEvent) {
		if ev.Conflict {
			conflicts[at] = append(conflicts[at], ev)
		}
	}
	c := settled(t, o)
	for range 2 {
		if _, err := c.AddNode(); err != nil {
			t.Fatal(err)
		}
	}
	id := c.NodeID(1)
	node1 := func(cfg *core.Config) { cfg.NodeID = id }
	if err := c.StartWith(4, node1, 0); err != nil { // node 1's ID, another address
		t.Fatal(err)
	}
	if _, ok := c.RunUntil(c.Converged, 10*time.Second); !ok {
		t.Fatal("the cluster with the twin did not converge")
	}
	c.Run(5 * time.Second) // no repeats
	for _, i := range c.LiveNodes() {
		evs := conflicts[i]
		if len(evs) != 1 {
			t.Errorf("node %d reported %d conflicts, want 1: %v", i, len(evs), evs)
			continue
		}
		ev := evs[0]
		pair := map[string]bool{ev.Record.Authority: true, ev.Other.Authority: true}
		if ev.Record.NodeID != id || ev.Other.NodeID != id || !pair[c.Authority(1)] || !pair[c.Authority(4)] {
			t.Errorf("node %d reported %s, want %s at %s and %s", i, core.Event{Member: &ev}, id, c.Authority(1), c.Authority(4))
		}
		if got := c.Coordinator(i).Stats().IdentityConflicts; got != 1 {
			t.Errorf("node %d counted %d identity conflicts", i, got)
		}
	}
	if c.Coordinator(4).State() != core.CoordinatorMember || c.Coordinator(1).State() != core.CoordinatorMember {
		t.Error("a claimant stopped: hearsay does not pick one")
	}

	// The conflict ends when one claim goes; a new one is reported anew.
	c.Crash(4)
	if _, ok := c.RunUntil(func() bool {
		r, _ := c.Record(0, c.Authority(4))
		return r.Status == core.StatusDead
	}, 30*time.Second); !ok {
		t.Fatal("the crashed twin is not declared Dead")
	}
	before := len(conflicts[0])
	if err := c.StartWith(5, node1, 0); err != nil {
		t.Fatal(err)
	}
	c.Run(5 * time.Second)
	if got := len(conflicts[0]) - before; got != 1 {
		t.Errorf("a second twin: node 0 reported %d conflicts, want 1", got)
	}
}
