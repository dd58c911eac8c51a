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

// A monitor feeds heartbeat arrivals to the detector and checks it as time
// passes; phi grows with the silence, and Check reports the loss once.
func ExamplePhiAccrualDetector() {
	d := core.NewPhiAccrualDetector(core.DefaultPhiConfig(time.Second)) // Akka's defaults at a 1 s heartbeat
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	last := start
	for i := range 30 { // a heartbeat every second
		last = start.Add(time.Duration(i) * time.Second)
		d.Heartbeat("10.0.0.2:7946", last)
	}
	for _, silence := range []time.Duration{time.Second, 4 * time.Second, 4300 * time.Millisecond, 5 * time.Second} {
		now := last.Add(silence)
		fmt.Printf("after %v: phi %.2f\n", silence, d.Phi("10.0.0.2:7946", now))
		for _, ev := range d.Check(now) {
			fmt.Printf("  %s %s (phi %.2f)\n", ev.Kind, ev.Authority, ev.Phi)
		}
	}
	now := last.Add(6 * time.Second)
	d.Heartbeat("10.0.0.2:7946", now)
	for _, ev := range d.Check(now) {
		fmt.Printf("heartbeat again: %s %s (phi %.2f)\n", ev.Kind, ev.Authority, ev.Phi)
	}
	// Output:
	// after 1s: phi 0.00
	// after 4s: phi 0.30
	// after 4.3s: phi 2.91
	// after 5s: phi 37.58
	//   suspect 10.0.0.2:7946 (phi 37.58)
	// heartbeat again: reachable 10.0.0.2:7946 (phi 0.00)
}
