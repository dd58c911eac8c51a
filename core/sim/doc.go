// Package sim runs many hearsay coordinators over a simulated network in
// virtual time: a deterministic discrete-event loop, reproducible from a
// seed, with no goroutines and no clock.
//
// A Cluster holds node slots. Each slot has a fixed authority and runs one
// core.MembershipCoordinator at a time (a restart puts a new instance, with a
// new NodeID, at the same authority). The loop pops events from a priority
// queue ordered by virtual time: message deliveries and each node's poll tick
// (every Options.Tick, with a per-node phase). Whatever a coordinator returns
// is acted on at once: its member events are recorded, its messages are put on
// the wire with the configured delay and jitter, or dropped.
//
// The network can lose messages (globally and per directed link), delay them,
// partition the nodes into groups that cannot reach one another and heal, and
// it refuses (and counts) any message whose core.EstimateSize exceeds the MTU.
// Nodes can crash (their messages in flight still arrive), restart at the same
// authority, leave gracefully, and pause (a stop-the-world stall: messages to
// a paused node queue up and are handled when it resumes). Every node's
// messages and bytes, sent and received, are counted.
//
// For assertions, the cluster tracks every member event: how many nodes ever
// marked a NodeID in some status and when (Marked, MarkTimes, AllLiveMarked),
// which live instances were ever marked Dead or Suspect (FalseDead,
// FalseSuspects), and whether every live view agrees (Converged).
// RunScenario packages the standard scenarios (bootstrap, crash, leave, loss,
// partition, pause, restart, spread) with their measurements and checks; the
// hearsay-sim command and this package's tests both use it.
//
// The fault explorer (Explore) is deterministic simulation testing in the
// manner of FoundationDB's simulator and TigerBeetle's VOPR: from one seed it
// draws a random schedule of faults (DrawSchedule: loss, one-way and two-way
// partitions between any groups, flapping links, delay spikes, pauses,
// crashes, restarts with the same or a new NodeID, graceful leaves, joins,
// deaf and mute nodes), plays it on a cluster, heals everything, lets it
// settle, and checks named invariants during and after the run
// (Invariants: completeness, convergence, accuracy, no resurrection,
// bounded state), with bounds derived from the configuration
// (ExploreBounds). A failing seed replays exactly; Shrink reduces its
// schedule, by delta debugging, to a minimal one that still fails;
// ExploreOptions.Trace writes what the run did about chosen slots. The
// hearsay-sim command runs it over ranges of seeds (-scenario explore).
//
// The network can also cut single directions (SetLinkDown), make links flap
// (SetLinkFlap) and make nodes deaf or mute (SetDeaf, SetMute).
//
// A node can run on a clock of its own (SetClockOffset: its coordinator is
// called with the cluster's time plus an offset, which may step back), start
// with a Config of its own (StartWith: a given InitialIncarnation, NodeID,
// metadata or Admit hook), and be handed a message from any address
// (Inject: a stranger, a spoofed source, a replayed message). SetTick
// changes the poll interval during a run.
//
// All randomness derives from Options.Seed: the network's (loss, jitter),
// the scripts' (Rand), the node IDs and each node's Config.Rand. Two runs with
// the same seed and the same calls are identical.
//
// # Usage
//
//	c, err := sim.New(sim.Options{Nodes: 50, Seed: 1}) // LAN config, 1-2 ms links
//	if err != nil { ... }
//	took, ok, err := c.Bootstrap(0, time.Second, time.Minute) // all join slot 0
//	c.Crash(7)
//	id := c.NodeID(7)
//	_, ok = c.RunUntil(func() bool { return c.AllLiveMarked(id, core.StatusDead) }, time.Minute)
//	fmt.Println(c.FalseDead(), c.Stats().Sent)
//
// Or run a packaged scenario:
//
//	r, err := sim.RunScenario("partition", sim.ScenarioOptions{Nodes: 100, Seed: 1})
//	if !r.OK() { fmt.Print(r.Failures()) }
//
// Or explore a seed, and shrink its schedule if it fails:
//
//	o := sim.ExploreOptions{Nodes: 20, Seed: 42}
//	r, err := sim.Explore(o)
//	if !r.OK() {
//		small, _, _ := sim.Shrink(o, r.First().Invariant, 300)
//		fmt.Print(r.String(), small.String()) // violations and schedules
//	}
package sim
