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
