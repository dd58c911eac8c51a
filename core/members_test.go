package core_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

// Members lists the active members only (EachMember too, one by one);
// Records keeps the tombstones of those that failed or left until they are
// pruned.
func TestMembersAreActiveRecordsAreAll(t *testing.T) {
	c := settled(t, sim.Options{Nodes: 5, Seed: 3})
	if err := c.Leave(3); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.RunUntil(func() bool { return c.HasLeft(3) }, 30*time.Second); !ok {
		t.Fatal("the leave did not complete")
	}
	c.Crash(4)
	statusAt0 := func(i int) core.NodeStatus {
		r, _ := c.Record(0, c.Authority(i))
		return r.Status
	}
	if _, ok := c.RunUntil(func() bool {
		return statusAt0(4) == core.StatusDead && statusAt0(3) == core.StatusRemoved
	}, 30*time.Second); !ok {
		t.Fatalf("node 0 holds the crashed node %s and the leaver %s", statusAt0(4), statusAt0(3))
	}
	coord := c.Coordinator(0)
	var members []string
	for _, r := range coord.Members() {
		if !r.Status.IsActive() {
			t.Errorf("Members lists %s as %s", r.Authority, r.Status)
		}
		members = append(members, r.Authority)
	}
	if want := []string{c.Authority(0), c.Authority(1), c.Authority(2)}; !slices.Equal(members, want) {
		t.Errorf("Members = %v, want %v", members, want)
	}
	var each []core.NodeRecord
	coord.EachMember(func(r core.NodeRecord) bool {
		each = append(each, r)
		return true
	})
	if !slices.EqualFunc(each, coord.Members(), core.NodeRecord.Equal) {
		t.Errorf("EachMember gave %v, Members %v", each, coord.Members())
	}
	var first []core.NodeRecord
	coord.EachMember(func(r core.NodeRecord) bool {
		first = append(first, r)
		return false
	})
	if len(first) != 1 || !first[0].Equal(coord.Members()[0]) {
		t.Errorf("EachMember went on after fn returned false: %v", first)
	}
	statuses := map[string]core.NodeStatus{}
	for _, r := range coord.Records() {
		statuses[r.Authority] = r.Status
	}
	if len(statuses) != 5 || statuses[c.Authority(3)] != core.StatusRemoved || statuses[c.Authority(4)] != core.StatusDead {
		t.Errorf("Records = %v, want the 3 members and the Removed and Dead tombstones", statuses)
	}
}
