package core

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Each record that becomes active under a node ID (new, back from a
// tombstone, or another instance) comes with exactly the other authorities
// active under that node ID just before, sorted, through random changes that
// grow the node ID index and leave gaps in its probe runs; a scan of the
// table is the reference. A record staying active under its node ID lists
// none.
func TestNodeIDIndexAgainstAScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tbl := newMembershipTable(tableConfig{})
	now := time.Unix(0, 0)
	statuses := []NodeStatus{StatusUp, StatusSuspect, StatusDead, StatusJoining}
	for step := range 20000 {
		a := fmt.Sprintf("10.0.0.%d:7946", rng.IntN(300))
		r := NodeRecord{NodeID: fmt.Sprintf("n%d", rng.IntN(100)), Authority: a, Status: statuses[rng.IntN(len(statuses))], Incarnation: 1}
		prev, had := tbl.Get(a)
		if had {
			r.Incarnation = prev.Incarnation + 1
		}
		var want []string
		if r.Status.IsActive() && !(had && prev.Status.IsActive() && prev.NodeID == r.NodeID) {
			for _, o := range tbl.Snapshot() {
				if o.Status.IsActive() && o.NodeID == r.NodeID && o.Authority != a {
					want = append(want, o.Authority)
				}
			}
		}
		if _, err := tbl.Merge(now, r); err != nil {
			t.Fatal(err)
		}
		evs := tbl.DrainEvents()
		if len(evs) != 1 {
			t.Fatalf("step %d: %d events", step, len(evs))
		}
		if got := evs[0].sameNodeID; !slices.Equal(got, want) {
			t.Fatalf("step %d: %s active under %s: others %v, want %v", step, a, r.NodeID, got, want)
		}
		if step%1000 == 0 {
			active := 0
			for _, o := range tbl.Snapshot() {
				if o.Status.IsActive() {
					active++
				}
			}
			if tbl.ids.len() != active {
				t.Fatalf("step %d: %d indexed, %d active", step, tbl.ids.len(), active)
			}
		}
	}
}
