package core

import (
	"slices"
	"testing"
	"time"
)

// Members lists the active members only; Records keeps the tombstones of
// those that failed or left until they are pruned.
func TestMembersAreActiveRecordsAreAll(t *testing.T) {
	net := cluster(t, 5, 3)
	leaver := net.nodes[auth(3)]
	o, err := leaver.c.HandleLeave(net.now)
	if err != nil {
		t.Fatal(err)
	}
	net.deliver(auth(3), o)
	if !net.runUntil(30*time.Second, leaver.c.LeaveDone) {
		t.Fatal("the leave did not complete")
	}
	leaver.crashed = true // a node that has left stops
	net.nodes[auth(4)].crashed = true
	if !net.runUntil(30*time.Second, func() bool {
		return net.statusAt(auth(0), auth(4)) == StatusDead && net.statusAt(auth(0), auth(3)) == StatusRemoved
	}) {
		t.Fatalf("node 0 holds the crashed node %s and the leaver %s", net.statusAt(auth(0), auth(4)), net.statusAt(auth(0), auth(3)))
	}
	c := net.nodes[auth(0)].c
	var members []string
	for _, r := range c.Members() {
		if !r.Status.IsActive() {
			t.Errorf("Members lists %s as %s", r.Authority, r.Status)
		}
		members = append(members, r.Authority)
	}
	if want := []string{auth(0), auth(1), auth(2)}; !slices.Equal(members, want) {
		t.Errorf("Members = %v, want %v", members, want)
	}
	statuses := map[string]NodeStatus{}
	for _, r := range c.Records() {
		statuses[r.Authority] = r.Status
	}
	if len(statuses) != 5 || statuses[auth(3)] != StatusRemoved || statuses[auth(4)] != StatusDead {
		t.Errorf("Records = %v, want the 3 members and the Removed and Dead tombstones", statuses)
	}
}
