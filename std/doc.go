// Package std runs the hearsay protocol on a real network: a msgpack wire
// codec, a UDP transport with address filters and bounded queues, a
// ticker-driven Gossiper, and the Node façade most users want.
//
// # Usage
//
// Start a node, give it seeds to join, and read the membership or subscribe
// to its events:
//
//	n, err := std.Start(ctx, std.Config{
//		NodeID:   "a", // default: random
//		BindAddr: "10.0.0.1:7946",
//		Seeds:    []string{"10.0.0.2:7946"},
//	})
//	if err != nil { ... }
//	defer n.Close()
//	if err := n.Join(ctx); err != nil { ... } // optional: wait until a seed answered
//
//	for _, m := range n.Members() { fmt.Println(m.NodeID, m.Authority, m.Status) }
//
//	events, cancel := n.Subscribe()
//	defer cancel()
//	for e := range events {
//		if e.Member != nil { ... }   // one member's status change
//		if e.Topology != nil { ... } // batched view: members, joined, left, dead
//	}
//
//	n.Leave(ctx) // graceful: the others see this node Removed, not Dead
//	n.Close()    // Close alone is a crash: the others declare the node Dead
//
// Config.Core takes the protocol's timings (core.DefaultLANConfig by
// default; core.DefaultWANConfig and core.DefaultLocalConfig are the other
// presets), Config.Transport the socket's (datagram size, queues, the
// source filter). Node.Stats gathers every counter: datagrams and bytes,
// drops by reason, protocol activity, events lost by slow subscribers.
//
// # Security
//
// Without a keyring the cluster is open to anyone who can reach its port.
// Config.Keyring (NewKeyring, ParseKeyring) seals every datagram with
// AES-256-GCM and drops, before decoding, whatever does not open under one
// of its keys; AddKey, UseKey and RemoveKey rotate keys on a running
// cluster. SECURITY.md at the repository root has the threat model.
//
// # Layers
//
// Node is built from parts that can be used on their own:
//
//   - The wire codec (AppendEnvelope, Decoder): one envelope per datagram —
//     magic, version, cluster label, then the core.Message as a msgpack
//     array; see wire.go for the format. Decoding is strict and bounded
//     (DecodeLimits) and fails with a *DecodeError, never a panic.
//   - UDPTransport implements core.GossipTransport: Send encodes and queues
//     without blocking, PollDeltas drains what arrived; a reader and a
//     writer goroutine do the I/O, batched with recvmmsg/sendmmsg on Linux.
//   - Gossiper owns a core.MembershipCoordinator and its core.Driver on one
//     goroutine and steps them every TickInterval; joins, leaves and
//     queries are commands to that goroutine.
//
// Every goroutine has an owner that stops it: UDPTransport.Close,
// Gossiper.Stop/Halt and Node.Close return only once theirs have exited.
package std
