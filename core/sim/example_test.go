package sim_test

import (
	"fmt"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

// Five nodes join through the first one; one of them crashes and every other
// member declares it Dead.
func Example() {
	c, err := sim.New(sim.Options{Nodes: 5, Seed: 1})
	if err != nil {
		panic(err)
	}
	_, ok, err := c.Bootstrap(0, time.Second, time.Minute)
	if err != nil {
		panic(err)
	}
	fmt.Println("converged:", ok)

	c.Crash(3)
	id := c.NodeID(3)
	_, ok = c.RunUntil(func() bool { return c.AllLiveMarked(id, core.StatusDead) }, time.Minute)
	fmt.Println("crash detected by all:", ok)
	fmt.Println("live members wrongly declared dead:", len(c.FalseDead()))
	fmt.Println("live members:", len(c.LiveNodes()))
	// Output:
	// converged: true
	// crash detected by all: true
	// live members wrongly declared dead: 0
	// live members: 4
}

// The explorer runs a fault schedule — here one written out, usually one
// drawn from a seed — and checks every invariant during and after it.
func ExampleExplore() {
	s := sim.Schedule{
		Seed: 1, Nodes: 8, Slots: 8, Seeds: []int{0}, Window: 20 * time.Second,
		Faults: []sim.Fault{
			{ID: 1, Kind: sim.FaultCrash, At: 2 * time.Second, Node: 5},
			{ID: 2, Kind: sim.FaultLoss, At: 5 * time.Second, For: 4 * time.Second, Loss: 0.1},
			{ID: 3, Kind: sim.FaultLeave, At: 10 * time.Second, Node: 6},
		},
	}
	r, err := sim.Explore(sim.ExploreOptions{Schedule: &s})
	if err != nil {
		panic(err)
	}
	fmt.Print(s.String())
	fmt.Println("invariants hold:", r.OK())
	// Output:
	// schedule of seed 1: 8 members, seeds {0}, fault window 20s, 3 faults (times from the window's start):
	//     1. +2s                    crash node 5
	//     2. +5s       for 4s       loss 10% on every link
	//     3. +10s                   node 6 leaves gracefully
	// invariants hold: true
}
