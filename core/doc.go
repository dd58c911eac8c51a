// Package core is the hearsay membership protocol as a synchronous state
// machine: the membership table and its merge rules, the phi-accrual failure
// detector, quarantine, the gossip engine (piggybacked dissemination and
// anti-entropy), the MembershipCoordinator that owns them, and the Driver that
// binds a coordinator to a GossipTransport.
//
// Core uses the standard library only. It never starts a goroutine, opens a
// socket, reads the clock or touches a global random source: every entry
// point takes now, and randomness comes from Config.Rand, so a run is
// reproducible from a seed. Package core/sim runs many coordinators over a
// simulated network in virtual time; package std (a sibling module) adds UDP.
//
// # Usage
//
// Build a config from a preset, create a coordinator, and drive it: feed it
// what the transport delivered, call Poll as time passes, and send what it
// returns.
//
//	cfg := core.DefaultLANConfig()
//	cfg.NodeID, cfg.Authority = "a", "10.0.0.1:7946"
//	cfg.Rand = rand.New(rand.NewPCG(1, 2))
//	c, err := core.NewMembershipCoordinator(cfg)
//	...
//	d := core.NewDriver(c, transport, sink)
//	for now := range ticker.C {
//		if err := d.Step(now); err != nil { ... } // drain, poll, publish, send
//	}
package core
