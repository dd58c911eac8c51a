package sim

import (
	"testing"
	"time"
)

// Drained says whether the gossip of past changes has ended: not right after
// a bootstrap converges (the members still pass the joiners' records on),
// then yes, with every member's queue empty; a change makes it no again
// until the change has been passed on.
func TestDrainedFollowsThePiggybackQueues(t *testing.T) {
	c, err := New(Options{Nodes: 60, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.Bootstrap(0, 200*time.Millisecond, time.Minute); err != nil || !ok {
		t.Fatalf("bootstrap: converged %v, %v", ok, err)
	}
	if c.Drained() {
		t.Fatal("Drained right after the bootstrap converged, while the joiners' records still spread")
	}
	took, ok := c.RunUntil(c.Drained, time.Minute)
	if !ok {
		t.Fatal("the piggyback queues did not drain within a minute of the bootstrap")
	}
	for _, i := range c.LiveNodes() {
		if q := c.Coordinator(i).Stats().QueuedRecords; q != 0 {
			t.Fatalf("Drained, but slot %d has %d records queued", i, q)
		}
	}
	if err := c.SetMeta(4, []byte("changed")); err != nil {
		t.Fatal(err)
	}
	if c.Drained() {
		t.Fatal("Drained right after a member changed its metadata")
	}
	if _, ok := c.RunUntil(c.Drained, time.Minute); !ok {
		t.Fatal("the metadata change was still queued a minute later")
	}
	t.Logf("the bootstrap's gossip drained %v after the views agreed", took)
}
