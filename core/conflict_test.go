package core

import (
	"testing"
	"time"
)

// One node ID started at two addresses: both stay members everywhere, and
// every node, the two claimants included, reports the conflict exactly once
// with both records.
func TestOneNodeIDAtTwoAuthoritiesIsReported(t *testing.T) {
	net := cluster(t, 4, 41)
	conflicts := map[string][]MemberEvent{}
	net.observe = func(at string, ev MemberEvent) {
		if ev.Conflict {
			conflicts[at] = append(conflicts[at], ev)
		}
	}
	twin := net.add(nodeID(1), auth(4), nil) // node 1's ID, another address
	net.join(auth(4), auth(0))
	if !net.runUntil(10*time.Second, net.converged) {
		t.Fatal("the cluster with the twin did not converge")
	}
	net.run(5 * time.Second) // no repeats
	for _, a := range net.live() {
		evs := conflicts[a]
		if len(evs) != 1 {
			t.Errorf("%s reported %d conflicts, want 1: %v", a, len(evs), evs)
			continue
		}
		ev := evs[0]
		pair := map[string]bool{ev.Record.Authority: true, ev.Other.Authority: true}
		if ev.Record.NodeID != nodeID(1) || ev.Other.NodeID != nodeID(1) || !pair[auth(1)] || !pair[auth(4)] {
			t.Errorf("%s reported %s, want node-001 at %s and %s", a, Event{Member: &ev}, auth(1), auth(4))
		}
		if got := net.nodes[a].c.Stats().IdentityConflicts; got != 1 {
			t.Errorf("%s counted %d identity conflicts", a, got)
		}
	}
	if twin.State() != CoordinatorMember || net.nodes[auth(1)].c.State() != CoordinatorMember {
		t.Error("a claimant stopped: hearsay does not pick one")
	}

	// The conflict ends when one claim goes; a new one is reported anew.
	net.nodes[auth(4)].crashed = true
	if !net.runUntil(30*time.Second, func() bool { return net.statusAt(auth(0), auth(4)) == StatusDead }) {
		t.Fatal("the crashed twin is not declared Dead")
	}
	before := len(conflicts[auth(0)])
	net.add(nodeID(1), auth(5), nil)
	net.join(auth(5), auth(0))
	net.run(5 * time.Second)
	if got := len(conflicts[auth(0)]) - before; got != 1 {
		t.Errorf("a second twin: node 0 reported %d conflicts, want 1", got)
	}
}
