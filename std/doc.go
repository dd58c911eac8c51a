// Package std runs the hearsay protocol on a real network: a Node is a
// cluster member over UDP, with a msgpack wire codec, address filters,
// bounded queues, an optional keyring, and one goroutine that drives the
// core coordinator.
//
// # Usage
//
// Start a node from DefaultConfig, give it seeds to join, and read the
// membership or subscribe to its events:
//
//	cfg := std.DefaultConfig() // the LAN preset over UDP
//	cfg.Core.NodeID = "a"      // default: random
//	cfg.Transport.BindAddr = "10.0.0.1:7946"
//	cfg.Seeds = []string{"10.0.0.2:7946"}
//	n, err := std.Start(ctx, cfg)
//	if err != nil { ... }
//	defer n.Close()
//	if err := n.Join(ctx); err != nil { ... } // optional: wait until a seed answered
//
//	for _, m := range n.Members() { fmt.Println(m.NodeID, m.Authority, m.Status) } // Records() adds the tombstones
//
//	n.SetMeta(ctx, []byte("role=db"))       // every member sees the new metadata
//	n.Broadcast(ctx, []byte("cache flush"))  // to every member by gossip, best effort
//	n.SendTo(ctx, member, []byte("hello"))   // to one member, one datagram, best effort
//
//	events, cancel := n.Subscribe()
//	defer cancel()
//	for e := range events {
//		if e.Member != nil { ... }   // one member's change: status, metadata (From == To), conflict
//		if e.Topology != nil { ... } // batched view: members, joined, left, dead
//		if e.User != nil { ... }     // a message from SendTo or Broadcast of another node
//	}
//
//	n.Leave(ctx) // graceful: the others see this node Removed, not Dead
//	n.Close()    // Close alone is a crash: the others declare the node Dead
//
// Messages (SendTo, Broadcast) are best effort and unordered, sealed by
// the keyring like the protocol's own, and flow between members only; a
// subscriber gets each at most once, and one that does not keep up loses
// events (counted), never slows the node. A value every member must end up
// with belongs in the metadata, which anti-entropy repairs; a broadcast is
// not repaired. core's package documentation ("User messages") has the
// rules.
//
// A seed may be a host name: it is resolved on every join attempt and all
// its addresses are seeds, so a name that does not resolve yet (a
// Kubernetes headless service before its first pod is ready) is logged and
// retried, never fatal. Node.JoinState says whether and when the node
// joined; once a join is late (three JoinRetryIntervals without an answer)
// its Problem field, and a warning in the log, say what was tried — each
// seed, its addresses, the attempts, what arrived from those addresses and
// why it was dropped (another key or label) — and the likely cause.
//
// Config has one place for each setting: Config.Core holds the node's
// identity and the protocol's timings (core.DefaultLANConfig in
// DefaultConfig; core.DefaultWANConfig and core.DefaultLocalConfig are the
// other presets), Config.Transport the socket's (addresses, label, keyring,
// datagram size, queues, the source filter). Changing one field keeps every
// other; Start rejects a bad value with an error wrapping
// core.ErrInvalidConfig that names the field. Node.Stats gathers every
// counter: datagrams and bytes, drops by reason, protocol activity, events
// lost by slow subscribers.
//
// # Security
//
// Without a keyring the cluster is open to anyone who can reach its port.
// Config.Transport.Keyring (NewKeyring, ParseKeyring) seals every datagram
// with AES-256-GCM and drops, before decoding, whatever does not open under
// one of its keys; AddKey, UseKey and RemoveKey rotate keys on a running
// cluster. SECURITY.md at the repository root has the threat model.
//
// # Inside a Node
//
//   - The wire codec (wire.go, wire_decode.go): one envelope per datagram —
//     magic, version, cluster label, then the core.Message as a msgpack
//     array. Decoding is strict and bounded and fails with an error, never
//     a panic.
//   - The UDP transport (transport.go) implements core.GossipTransport:
//     Send encodes and queues without blocking, PollDeltas drains what
//     arrived; a reader and a writer goroutine do the I/O, batched with
//     recvmmsg/sendmmsg on Linux.
//   - The gossiper (gossiper.go) owns the core.MembershipCoordinator and its
//     core.Driver on one goroutine. It steps them when a datagram arrives,
//     at the coordinator's next deadline, or a second after its last step if
//     nothing woke it sooner (one timer, re-armed after every step), and
//     sleeps in between; joins, leaves and queries are commands to that
//     goroutine.
//
// Every goroutine has an owner that stops it: Node.Close returns only once
// all of them have exited.
//
// To run the protocol over another transport (QUIC, an actor system's
// remoting), use package core alone: implement core.GossipTransport and
// drive a core.Driver.
package std
