package core_test

import (
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

// A node that leaves while still Joining in its own view (its join request
// sent, no reply back yet) leaves: the seeds that may have admitted it are
// told, no member ever suspects it or declares it Dead, and every member
// that holds it holds it Removed. Jitter reorders the join request and the
// leave on the way.
func TestLeaveWhileJoiningIsALeave(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		// A round trip takes at least 4 ms: a leave 0 or 1 ms after the
		// join is always unanswered.
		wait := time.Duration(seed%2) * time.Millisecond
		c, err := sim.New(sim.Options{Nodes: 6, Seed: seed, Tick: 10 * time.Millisecond, Delay: 2 * time.Millisecond, Jitter: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(0); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < 5; i++ {
			if err := c.Join(i, 0); err != nil {
				t.Fatal(err)
			}
		}
		if _, ok := c.RunUntil(c.Converged, time.Minute); !ok {
			t.Fatalf("seed %d: 5 members did not converge", seed)
		}
		if err := c.Join(5, 0, 1); err != nil {
			t.Fatal(err)
		}
		c.Run(wait)
		if st := c.Coordinator(5).LocalNode().Status; st != core.StatusJoining {
			t.Fatalf("seed %d: the joiner is %s in its own view %v after its join, want joining", seed, st, wait)
		}
		if err := c.Leave(5); err != nil {
			t.Fatal(err)
		}
		c.Run(time.Minute)
		id := c.NodeID(5)
		if d, s := c.Marked(id, core.StatusDead), c.Marked(id, core.StatusSuspect); d > 0 || s > 0 {
			t.Errorf("seed %d: the node that left while joining was declared dead by %d members, suspected by %d", seed, d, s)
		}
		if !c.HasLeft(5) {
			t.Errorf("seed %d: the leaver did not stop", seed)
		}
		held := 0
		for i := range 5 {
			if r, ok := c.Record(i, c.Authority(5)); ok {
				held++
				if r.Status != core.StatusRemoved {
					t.Errorf("seed %d: node %d holds the leaver as %s, want removed", seed, i, r.Status)
				}
			}
		}
		if held == 0 && c.Marked(id, core.StatusUp) > 0 {
			t.Errorf("seed %d: members saw the leaver up, and none holds its leave", seed)
		}
	}
}
