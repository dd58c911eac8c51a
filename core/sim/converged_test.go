package sim

import (
	"testing"
	"time"
)

// Converged first rules nodes out by the count of members their events last
// put in Up. That count must never say no to a view that is converged: at
// every tick of a run through joins, a crash, restarts (new and same node
// ID), a leave and a partition, a node whose view is exactly the live
// members, all Up, has the count Converged expects.
func TestUpCountNeverRulesOutAConvergedView(t *testing.T) {
	c, err := New(Options{Nodes: 12, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	check := func() {
		live := map[string]string{}
		for i, n := range c.nodes {
			if c.IsLive(i) {
				live[n.authority] = n.id
			}
		}
		for i := range c.nodes {
			if !c.IsLive(i) || !c.viewIs(i, live) {
				continue
			}
			checked++
			if got := c.nodes[i].held.count; got != len(live)-1 {
				t.Fatalf("at %v slot %d holds the %d live members converged, but its events put %d others in Up", c.Elapsed(), i, len(live), got)
			}
		}
	}
	steps := []func(){
		func() {
			if _, ok, err := c.Bootstrap(0, 200*time.Millisecond, time.Minute); err != nil || !ok {
				t.Fatalf("bootstrap: converged %v, %v", ok, err)
			}
		},
		func() { c.Crash(3) },
		func() { _ = c.Restart(3, 0) },
		func() { _ = c.RestartSameID(5, 0) },
		func() { _ = c.Leave(7) },
		func() { c.Partition([]int{0, 1, 2, 4, 5, 6}, []int{8, 9, 10, 11}) },
		func() { c.Heal() },
	}
	for _, step := range steps {
		step()
		for range 40 * 20 { // 40 s in 50 ms ticks
			c.Run(50 * time.Millisecond)
			check()
		}
	}
	if !c.Converged() {
		t.Error("the cluster did not converge after the heal")
	}
	if checked == 0 {
		t.Fatal("no converged view was ever checked")
	}
}
