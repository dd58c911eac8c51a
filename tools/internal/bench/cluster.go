// Package bench is the library part of hearsay-bench, the side-by-side
// benchmark of hearsay against hashicorp/memberlist. Both libraries are driven
// through the same Cluster abstraction, in the same process, on loopback, by
// the same measuring code (run.go), so that every figure is taken the same way
// for both.
package bench

import (
	"context"
	"time"
)

// Cluster is one library's cluster of in-process members on 127.0.0.1. It is
// what the measuring code needs and nothing more: start N members, crash one,
// make one leave, read each member's view, read traffic counters.
//
// Members are numbered 0..n-1; member 0 is the seed the others join. Views
// are read by polling; implementations must make ActiveCount and Gone cheap
// and safe to call concurrently with Grow, Crash and Leave.
type Cluster interface {
	// Library names the implementation: "memberlist" or "hearsay".
	Library() string
	// Settings describes every setting the members run with, one
	// "name=value" per element, for the report.
	Settings() []string
	// Seed starts member 0 and returns once it listens.
	Seed(ctx context.Context) error
	// Grow starts members 1..n-1 concurrently, each joining the seed, and
	// returns at once. A member that fails to join keeps retrying until ctx
	// is done, as a user's program would. Errors go to Errors.
	Grow(ctx context.Context, n int)
	// Size is n as given to Grow (1 before).
	Size() int
	// ActiveCount is how many members (itself included) member i lists as
	// alive, or 0 when i is not running (not started yet, crashed, left).
	ActiveCount(i int) int
	// Gone reports whether member i no longer lists member victim as alive
	// (it shows it dead, left, or not at all). False when i is not running.
	Gone(i, victim int) bool
	// Live reports whether member i is running.
	Live(i int) bool
	// Crash stops member i abruptly: no leave, sockets closed.
	Crash(i int) error
	// Leave makes member i leave gracefully, then stops it.
	Leave(ctx context.Context, i int) error
	// Traffic is the cumulative traffic sent by all members started so far,
	// counted at the transport.
	Traffic() Traffic
	// Transitions is the cumulative number of times any member saw another
	// member become suspect, and dead (memberlist counts left as dead too, so
	// this is read only over windows without leaves).
	Transitions() Transitions
	// Errors returns and clears the errors seen since the last call (failed
	// joins and the like).
	Errors() []error
	// Close stops every member still running and returns once they have
	// stopped.
	Close() error
}

// Traffic counts what the members handed to their transports.
type Traffic struct {
	// Datagrams is the number of UDP datagrams sent.
	Datagrams uint64 `json:"datagrams"`
	// Bytes is the UDP payload bytes sent.
	Bytes uint64 `json:"bytes"`
	// StreamBytes is the bytes written on TCP streams (memberlist's push/pull
	// and fallback pings; hearsay uses none).
	StreamBytes uint64 `json:"stream_bytes"`
	// StreamSegments is the TCP segments sent on those streams, as the
	// kernel counts them (process mode only).
	StreamSegments uint64 `json:"stream_segments,omitempty"`
}

func (t Traffic) sub(o Traffic) Traffic {
	return Traffic{t.Datagrams - o.Datagrams, t.Bytes - o.Bytes, t.StreamBytes - o.StreamBytes, t.StreamSegments - o.StreamSegments}
}

func (t Traffic) add(o Traffic) Traffic {
	return Traffic{t.Datagrams + o.Datagrams, t.Bytes + o.Bytes, t.StreamBytes + o.StreamBytes, t.StreamSegments + o.StreamSegments}
}

// Transitions counts status changes seen by members about other members.
type Transitions struct {
	Suspect uint64 `json:"suspect"`
	Dead    uint64 `json:"dead"`
}

func (t Transitions) sub(o Transitions) Transitions {
	return Transitions{t.Suspect - o.Suspect, t.Dead - o.Dead}
}

// Timing is the "equal timing" setting: the same values given to both
// libraries. Its defaults are memberlist's LAN preset, so that memberlist runs
// exactly as shipped and hearsay is brought to memberlist's cadence.
type Timing struct {
	// Probe is memberlist's ProbeInterval and hearsay's HeartbeatInterval:
	// how often each member checks (is checked by) its peers.
	Probe time.Duration `json:"probe"`
	// Gossip is GossipInterval on both sides.
	Gossip time.Duration `json:"gossip"`
	// Fanout is GossipNodes on both sides.
	Fanout int `json:"fanout"`
	// Datagram is the largest UDP payload a member builds: memberlist's
	// UDPBufferSize, hearsay's datagram budget.
	Datagram int `json:"datagram"`
}

// MemberlistLANTiming is memberlist's DefaultLANConfig expressed as a Timing.
func MemberlistLANTiming() Timing {
	return Timing{Probe: time.Second, Gossip: 200 * time.Millisecond, Fanout: 3, Datagram: 1400}
}

// Setting is one of the two configurations the benchmark runs.
type Setting struct {
	// Name is "preset" or "equal".
	Name string `json:"name"`
	// Timing is nil for "preset" (each library's LAN preset untouched).
	Timing *Timing `json:"timing,omitempty"`
}

// Factory builds an empty cluster of one library for one setting.
// formation numbers the clusters built in one run, so that names never
// repeat.
type Factory func(s Setting, formation int) Cluster
