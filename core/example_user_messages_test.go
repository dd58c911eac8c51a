package core_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// Three members; a sends b a direct message and broadcasts to everyone.
// The broadcast rides on heartbeats and gossip; every other member
// delivers each message once, as an Event whose User is set.
func ExampleMembershipCoordinator_Broadcast() {
	authorities := []string{"a:7946", "b:7946", "c:7946"}
	inboxes := map[string]*[]core.GossipInbound{}
	for _, a := range authorities {
		inboxes[a] = &[]core.GossipInbound{}
	}
	var drivers []*core.Driver
	for i, authority := range authorities {
		cfg := core.DefaultLocalConfig()
		cfg.NodeID, cfg.Authority = authority[:1], authority
		cfg.Rand = rand.New(rand.NewPCG(uint64(i+1), 9))
		c, err := core.NewMembershipCoordinator(cfg)
		if err != nil {
			panic(err)
		}
		sink := core.EventSinkFunc(func(e core.Event) {
			if u := e.User; u != nil {
				kind := "direct"
				if u.Seq != 0 {
					kind = "broadcast"
				}
				fmt.Printf("%s got a %s message from %s: %s\n", cfg.NodeID, kind, u.FromID, u.Payload)
			}
		})
		drivers = append(drivers, core.NewDriver(c, chanTransport{inboxes: inboxes, self: authority}, sink))
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	run := func(d time.Duration) {
		for end := now.Add(d); now.Before(end); {
			now = now.Add(10 * time.Millisecond)
			for _, d := range drivers {
				_ = d.Step(now)
			}
		}
	}
	for i, d := range drivers {
		out, _ := d.Coordinator().StartMember(now)
		_ = d.Apply(out)
		if i > 0 {
			out, _ = d.Coordinator().HandleJoin(now, authorities[:1])
			_ = d.Apply(out)
		}
	}
	run(2 * time.Second) // all three are Up everywhere

	a := drivers[0]
	out, err := a.Coordinator().SendTo(now, "b:7946", []byte("hello b"))
	if err != nil {
		panic(err)
	}
	_ = a.Apply(out)
	run(time.Second)
	out, err = a.Coordinator().Broadcast(now, []byte("hello all"))
	if err != nil {
		panic(err)
	}
	_ = a.Apply(out)
	run(time.Second)
	// Unordered output:
	// b got a direct message from a: hello b
	// b got a broadcast message from a: hello all
	// c got a broadcast message from a: hello all
}
