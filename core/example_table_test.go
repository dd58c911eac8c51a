package core_test

import (
	"fmt"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// Gossip about one member arrives from several peers, out of order and
// repeated. Each record is merged on its own: the higher incarnation wins, and
// at equal incarnation the stronger status. Whatever the order, every member
// ends up with the same table.
func ExampleMembershipTable_Merge() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	table := core.NewMembershipTable(core.TableConfig{MaxMembers: 100, MaxMetadataBytes: 64})

	gossip := []core.NodeRecord{
		{NodeID: "b-7f3a", Authority: "10.0.0.2:7946", Status: core.StatusUp, Incarnation: 4},
		{NodeID: "a-19c2", Authority: "10.0.0.1:7946", Status: core.StatusUp, Incarnation: 1, Meta: []byte("zone=a")},
		{NodeID: "b-7f3a", Authority: "10.0.0.2:7946", Status: core.StatusSuspect, Incarnation: 4}, // a monitor suspects b
		{NodeID: "b-7f3a", Authority: "10.0.0.2:7946", Status: core.StatusUp, Incarnation: 5},      // b refutes
		{NodeID: "b-7f3a", Authority: "10.0.0.2:7946", Status: core.StatusSuspect, Incarnation: 4}, // late, stale
	}
	for _, r := range gossip {
		changed, err := table.Merge(now, r)
		fmt.Printf("merge %s %s@%d: changed=%v err=%v\n", r.Authority, r.Status, r.Incarnation, changed, err)
	}
	for _, ev := range table.DrainEvents() {
		fmt.Printf("event %s %s (%s@%d)\n", ev.Kind, ev.Record.Authority, ev.Record.Status, ev.Record.Incarnation)
	}
	for _, r := range table.Snapshot() {
		fmt.Printf("member %s %s %s@%d %q\n", r.Authority, r.NodeID, r.Status, r.Incarnation, r.Meta)
	}
	fmt.Println("version", table.Version())
	// Output:
	// merge 10.0.0.2:7946 up@4: changed=true err=<nil>
	// merge 10.0.0.1:7946 up@1: changed=true err=<nil>
	// merge 10.0.0.2:7946 suspect@4: changed=true err=<nil>
	// merge 10.0.0.2:7946 up@5: changed=true err=<nil>
	// merge 10.0.0.2:7946 suspect@4: changed=false err=<nil>
	// event joined 10.0.0.2:7946 (up@4)
	// event joined 10.0.0.1:7946 (up@1)
	// event suspect 10.0.0.2:7946 (suspect@4)
	// event up 10.0.0.2:7946 (up@5)
	// member 10.0.0.1:7946 a-19c2 up@1 "zone=a"
	// member 10.0.0.2:7946 b-7f3a up@5 ""
	// version 4
}
