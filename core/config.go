package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Config holds every tunable of a MembershipCoordinator. Start from one of the
// presets (DefaultLANConfig, DefaultWANConfig, DefaultLocalConfig), set
// NodeID, Authority and Rand, and call Validate (NewMembershipCoordinator
// calls it too). A zero or negative interval, threshold, count or size is
// always rejected, never silently replaced.
type Config struct {
	// NodeID identifies this instance; pick a new one on every restart.
	NodeID string
	// Authority is this node's advertised address, "host:port".
	Authority string
	// Meta is this node's user metadata, at most MaxMetadataBytes long.
	Meta []byte
	// Rand is the only source of randomness of the coordinator; seed it to make
	// a run reproducible. Required.
	Rand *rand.Rand
	// Admit, when set, decides who may become a member in this node's view,
	// as memberlist's alive and merge delegates do: it is called with every
	// record of another instance about to become active here — new at its
	// authority, taking the authority over from another instance, or back
	// from a tombstone — before the table takes it, and a non-nil error
	// refuses it (say, a wrong version in its metadata). A refused record
	// never enters the table nor the events; it is counted in
	// CoordinatorStats.AdmissionsRefused. A message that carries its sender's
	// own record, refused, is refused whole (a refused joiner gets no answer
	// from this node): HandleGossip returns an error wrapping Admit's.
	// Admit is not asked about this node's own record, nor again about a
	// member already active here (its later changes, metadata included, are
	// taken as they come). It runs on the goroutine that drives the
	// coordinator: it must be quick and must not call the coordinator. Nil
	// admits everyone.
	Admit func(NodeRecord) error
	// InitialIncarnation is the incarnation this node's record starts at
	// (0 means 1). Starting each life of a node above every incarnation its
	// earlier lives at the same Authority reached keeps their records,
	// replayed or late, from ever superseding the new life's (the hearsay
	// agent starts at the seconds elapsed since 2020). Below 2^63.
	InitialIncarnation uint64

	// HeartbeatInterval is how often a member heartbeats each of its monitors.
	HeartbeatInterval time.Duration
	// MonitorCount (K) is how many ring successors monitor each member.
	MonitorCount int
	// IndirectChecks is how many other members a monitor whose detector
	// lost a member asks to probe it (Lifeguard's and memberlist's indirect
	// probes): each one that gets no answer within ProbeTimeout accuses the
	// member too, an independent confirmation of the suspicion.
	IndirectChecks int
	// ProbeTimeout is how long a probe waits for its answer before the
	// prober takes the probed member for lost.
	ProbeTimeout time.Duration
	// ProveMembers keeps failure detection to members heard from directly:
	// the ring places a member only once a message of its own arrived from
	// its own authority (its nearest unproven neighbours are probed to
	// prove them), and probes, verdicts and gossip rounds go to such
	// members first. It is for open clusters (no keyring), where an
	// outsider can gossip fake members: without it fakes become monitors
	// and watched members. Off in the presets: with a keyring nobody
	// outside can inject a record. SECURITY.md has what it costs and what
	// remains possible.
	ProveMembers bool

	// PhiThreshold is the phi value above which a monitor suspects a member.
	PhiThreshold float64
	// PhiWindowSize is how many inter-arrival samples the detector keeps.
	PhiWindowSize int
	// PhiMinStdDev is the floor of the inter-arrival standard deviation.
	PhiMinStdDev time.Duration
	// PhiAcceptablePause is added to the mean inter-arrival time, to tolerate
	// pauses (GC, scheduling) without suspicion.
	PhiAcceptablePause time.Duration
	// PhiFirstHeartbeatEstimate seeds the history before real samples exist.
	PhiFirstHeartbeatEstimate time.Duration

	// SuspicionMinTimeout is the shortest time a suspicion lasts before the
	// member is declared Dead, reached when SuspicionConfirmations independent
	// monitors have confirmed it (Lifeguard).
	SuspicionMinTimeout time.Duration
	// SuspicionMaxTimeout is how long a suspicion lasts with no confirmation.
	SuspicionMaxTimeout time.Duration
	// SuspicionConfirmations is how many independent confirmations bring the
	// timeout down to SuspicionMinTimeout.
	SuspicionConfirmations int
	// MaxLocalHealth is the largest Lifeguard local-health score; a node's own
	// timeouts are stretched by a factor of (1 + score) when it misses its own
	// deadlines.
	MaxLocalHealth int

	// GossipInterval is how often a member gossips to GossipNodes random peers.
	GossipInterval time.Duration
	// GossipNodes (the fanout k) is how many random peers each gossip round reaches.
	GossipNodes int
	// RetransmitMult scales how often each change is piggybacked:
	// RetransmitMult * ceil(log10(N+1)) transmissions.
	RetransmitMult int
	// AntiEntropyInterval is how often a member compares digests with one peer.
	AntiEntropyInterval time.Duration
	// ReconnectInterval is the base interval at which Dead members and
	// unreachable seeds are contacted again (with backoff), so partitions heal.
	ReconnectInterval time.Duration
	// ReconnectTimeout is how long a member that died or left is remembered
	// after this node learnt of it, well beyond its tombstone (as serf's
	// reconnect list): stale records of that instance are refused, so a
	// member pruned from the table cannot come back through a node that slept
	// through its death, and a member that died is still probed now and then
	// (see ReconnectInterval), so that a partition of any length heals. At
	// most MaxMembers are remembered. It must be at least TombstoneRetention.
	ReconnectTimeout time.Duration
	// JoinRetryInterval is how often a joining node retries its seeds until one answers.
	JoinRetryInterval time.Duration

	// TopologyEmitInterval batches topology updates: at most one per interval.
	TopologyEmitInterval time.Duration
	// NoTopologyUpdates leaves Outcome.Topology nil, for a driver that does
	// not read the updates: each lists every active member, so at a
	// thousand members joining at once they are most of what a node
	// allocates. Nothing else changes: the coordinator still wakes when an
	// update would be due, and decides it as it would.
	NoTopologyUpdates bool
	// ReuseMemberEvents lets the coordinator reuse the array of
	// Outcome.Members from one call to the next: the events of an Outcome
	// are then valid only until the next call to the coordinator, which
	// overwrites them, so the driver must read (or copy) them first. For a
	// driver that runs thousands of coordinators in one process (a
	// simulation), where every member's events about every other are a
	// fourth of what the members allocate. Nothing else changes.
	ReuseMemberEvents bool
	// QuarantineTTL is how long a dead instance (authority, incarnation) is
	// refused. It must outlive any message the dead instance could still have
	// in flight.
	QuarantineTTL time.Duration
	// TombstoneRetention is how long Dead and Removed records stay in the
	// table (so late gossip cannot resurrect them) before they are dropped.
	TombstoneRetention time.Duration

	// MaxMessageBytes bounds every outbound message by EstimateSize. A
	// transport adds its own envelope on top (see std).
	MaxMessageBytes int
	// MaxMetadataBytes bounds NodeRecord.Meta.
	MaxMetadataBytes int
	// MaxMembers bounds the table; records beyond it are refused.
	MaxMembers int
	// MaxPayloadBytes bounds the payload of an application message, direct
	// (SendTo) or broadcast (Broadcast): an inbound message carrying a larger
	// one is refused whole. What this node sends is also bounded by what one
	// of its messages holds (MaxMessageBytes less the headers); SendTo and
	// Broadcast refuse a payload over either bound, naming the one that
	// applies.
	MaxPayloadBytes int
	// MaxBroadcasts bounds the broadcasts this node relays at once, its own
	// and others'. When it is full a new broadcast takes the place of the
	// one transmitted most, which is dropped and counted
	// (CoordinatorStats.BroadcastsDropped).
	MaxBroadcasts int
}

// DefaultLANConfig returns timings for a local network: one monitor per
// member heartbeated every 550 ms, three indirect probes on a loss, 200 ms
// gossip with fanout 3, anti-entropy every 30 s. Identity fields (NodeID,
// Authority, Rand) are left for the caller.
//
// It is built to detect a crash in about half the time hashicorp/memberlist's
// LAN preset takes, on no more traffic than memberlist spends (about two
// datagrams per member per second: a probe and its ack). One heartbeat
// stream per member (1.8 datagrams per second) carries as much news of its
// liveness as memberlist's probing, because a heartbeat needs no answer;
// the independent confirmations Lifeguard needs come from probes sent only
// when the monitor loses a member. Its timeline, after a member's last
// heartbeat: the monitor's detector (Akka's, at this heartbeat, with a
// 800 ms pause allowance) loses it after about 1.9 s of silence, suspects
// it, probes it and asks three others to; their unanswered probes (300 ms)
// confirm the suspicion, which ends in a Dead verdict 800 ms after it began
// (SuspicionMinTimeout) unless the member answered or refuted meanwhile:
// Dead about 2.7 s after the last heartbeat, then told at once to up to 16
// members and gossiped without waiting for the gossip round.
//
// The price is the stall a member survives. A crash and a stall look the
// same until the stall ends, so a member whose process stops for longer than
// about 2 s (2.7 s less a heartbeat interval and a margin) is declared Dead,
// and comes back as Up with a higher incarnation when it resumes; one that
// stops for more than about 1.3 s is suspected and refutes. Where longer
// stalls are normal (virtual machines that get paused, overloaded hosts),
// raise PhiAcceptablePause: every second added is a second more of stall
// survived and a second slower detection. docs/FAILURE-DETECTION.md has the
// measured detection times, traffic and the behaviour under loss.
func DefaultLANConfig() Config {
	return Config{
		HeartbeatInterval: 550 * time.Millisecond,
		MonitorCount:      1,
		IndirectChecks:    3,
		ProbeTimeout:      300 * time.Millisecond,

		// Akka's defaults (defaultPhiConfig) at this heartbeat, but for the
		// pause allowance, set by the stall a member survives (see above).
		PhiThreshold:              8,
		PhiWindowSize:             1000,
		PhiMinStdDev:              100 * time.Millisecond,
		PhiAcceptablePause:        800 * time.Millisecond,
		PhiFirstHeartbeatEstimate: 550 * time.Millisecond,

		// Dead needs the monitor's detector to still hear nothing, and no
		// probe to have been answered, when the timeout ends; reaching the
		// minimum needs two probers' unanswered probes. The minimum is
		// longer than two heartbeat intervals and than five probe rounds,
		// so a member alive behind a lossy link gets several chances to
		// show it, and long enough for a refutation to come back through
		// the few members that reach both sides of a partition when the
		// helpers asked all share the monitor's side (docs/FAILURE-
		// DETECTION.md: loss, pause and the fault explorer).
		SuspicionMinTimeout:    1600 * time.Millisecond,
		SuspicionMaxTimeout:    6 * time.Second,
		SuspicionConfirmations: 2,
		MaxLocalHealth:         8,

		GossipInterval:      200 * time.Millisecond,
		GossipNodes:         3,
		RetransmitMult:      4,
		AntiEntropyInterval: 30 * time.Second,
		ReconnectInterval:   5 * time.Second,
		ReconnectTimeout:    72 * time.Hour, // serf's default
		JoinRetryInterval:   time.Second,

		TopologyEmitInterval: time.Second,
		QuarantineTTL:        5 * time.Minute,
		TombstoneRetention:   10 * time.Minute,

		MaxMessageBytes:  1300,
		MaxMetadataBytes: 512,
		MaxMembers:       10000,
		MaxPayloadBytes:  1024,
		MaxBroadcasts:    256,
	}
}

// DefaultWANConfig returns the LAN preset slowed for wide-area links: longer
// intervals, more tolerance, a larger fanout.
func DefaultWANConfig() Config {
	c := DefaultLANConfig()
	c.HeartbeatInterval = 3 * time.Second
	c.ProbeTimeout = time.Second
	c.PhiThreshold = 10
	c.PhiMinStdDev = 300 * time.Millisecond
	c.PhiAcceptablePause = 10 * time.Second
	c.PhiFirstHeartbeatEstimate = 3 * time.Second
	c.SuspicionMinTimeout = 6 * time.Second
	c.SuspicionMaxTimeout = 30 * time.Second
	c.SuspicionConfirmations = 3
	c.GossipInterval = 500 * time.Millisecond
	c.GossipNodes = 4
	c.RetransmitMult = 4
	c.AntiEntropyInterval = 30 * time.Second
	c.ReconnectInterval = 15 * time.Second
	c.JoinRetryInterval = 3 * time.Second
	c.TopologyEmitInterval = 3 * time.Second
	c.QuarantineTTL = 15 * time.Minute
	c.TombstoneRetention = 30 * time.Minute
	return c
}

// DefaultLocalConfig returns the LAN preset sped up for processes on one host
// (loopback, tests, examples).
func DefaultLocalConfig() Config {
	c := DefaultLANConfig()
	c.HeartbeatInterval = 200 * time.Millisecond
	c.ProbeTimeout = 100 * time.Millisecond
	c.PhiMinStdDev = 50 * time.Millisecond
	c.PhiAcceptablePause = 600 * time.Millisecond
	c.PhiFirstHeartbeatEstimate = 200 * time.Millisecond
	c.SuspicionMinTimeout = 400 * time.Millisecond
	c.SuspicionMaxTimeout = 1200 * time.Millisecond
	c.GossipInterval = 100 * time.Millisecond
	c.AntiEntropyInterval = 2 * time.Second
	c.ReconnectInterval = time.Second
	c.JoinRetryInterval = 200 * time.Millisecond
	c.TopologyEmitInterval = 200 * time.Millisecond
	c.QuarantineTTL = time.Minute
	c.TombstoneRetention = 2 * time.Minute
	return c
}

// Validate checks every field and returns an error wrapping ErrInvalidConfig
// that names the first bad field, or nil.
func (c *Config) Validate() error {
	bad := func(field, why string) error {
		return fmt.Errorf("%w: %s %s", ErrInvalidConfig, field, why)
	}
	switch {
	case c.NodeID == "":
		return bad("NodeID", "is empty")
	case c.Authority == "":
		return bad("Authority", "is empty")
	case c.Rand == nil:
		return bad("Rand", "is nil (seed a *rand.Rand)")
	}
	durations := []struct {
		name string
		d    time.Duration
	}{
		{"HeartbeatInterval", c.HeartbeatInterval},
		{"ProbeTimeout", c.ProbeTimeout},
		{"PhiMinStdDev", c.PhiMinStdDev},
		{"PhiAcceptablePause", c.PhiAcceptablePause},
		{"PhiFirstHeartbeatEstimate", c.PhiFirstHeartbeatEstimate},
		{"SuspicionMinTimeout", c.SuspicionMinTimeout},
		{"SuspicionMaxTimeout", c.SuspicionMaxTimeout},
		{"GossipInterval", c.GossipInterval},
		{"AntiEntropyInterval", c.AntiEntropyInterval},
		{"ReconnectInterval", c.ReconnectInterval},
		{"ReconnectTimeout", c.ReconnectTimeout},
		{"JoinRetryInterval", c.JoinRetryInterval},
		{"TopologyEmitInterval", c.TopologyEmitInterval},
		{"QuarantineTTL", c.QuarantineTTL},
		{"TombstoneRetention", c.TombstoneRetention},
	}
	for _, f := range durations {
		if f.d <= 0 {
			return bad(f.name, fmt.Sprintf("must be > 0, got %v", f.d))
		}
	}
	counts := []struct {
		name string
		n    int
	}{
		{"MonitorCount", c.MonitorCount},
		{"IndirectChecks", c.IndirectChecks},
		{"PhiWindowSize", c.PhiWindowSize},
		{"SuspicionConfirmations", c.SuspicionConfirmations},
		{"MaxLocalHealth", c.MaxLocalHealth},
		{"GossipNodes", c.GossipNodes},
		{"RetransmitMult", c.RetransmitMult},
		{"MaxMessageBytes", c.MaxMessageBytes},
		{"MaxMetadataBytes", c.MaxMetadataBytes},
		{"MaxMembers", c.MaxMembers},
		{"MaxPayloadBytes", c.MaxPayloadBytes},
		{"MaxBroadcasts", c.MaxBroadcasts},
	}
	for _, f := range counts {
		if f.n <= 0 {
			return bad(f.name, fmt.Sprintf("must be > 0, got %d", f.n))
		}
	}
	switch {
	case !(c.PhiThreshold > 0) || math.IsInf(c.PhiThreshold, 1):
		return bad("PhiThreshold", fmt.Sprintf("must be a finite number > 0, got %v", c.PhiThreshold))
	case c.SuspicionMaxTimeout < c.SuspicionMinTimeout:
		return bad("SuspicionMaxTimeout", "must be >= SuspicionMinTimeout")
	case c.MaxMessageBytes < minMessageBytes:
		return bad("MaxMessageBytes", fmt.Sprintf("must be >= %d, got %d", minMessageBytes, c.MaxMessageBytes))
	case c.InitialIncarnation >= 1<<63:
		return bad("InitialIncarnation", fmt.Sprintf("must be below 2^63, got %d", c.InitialIncarnation))
	case len(c.Meta) > c.MaxMetadataBytes:
		return bad("Meta", fmt.Sprintf("is %d bytes, over MaxMetadataBytes %d", len(c.Meta), c.MaxMetadataBytes))
	case c.TombstoneRetention < c.QuarantineTTL:
		return bad("TombstoneRetention", "must be >= QuarantineTTL")
	case c.ReconnectTimeout < c.TombstoneRetention:
		return bad("ReconnectTimeout", "must be >= TombstoneRetention")
	}
	// A message carrying just this node's own record must fit.
	if size := ownRecordMessageSize(c.NodeID, c.Authority, c.Meta); size > c.MaxMessageBytes {
		return bad("MaxMessageBytes", fmt.Sprintf("%d cannot hold this node's own record (%d bytes)", c.MaxMessageBytes, size))
	}
	return nil
}

// ownRecordMessageSize is the largest EstimateSize of a message that carries
// nothing but a node's own record with this metadata (a join request at the
// largest numbers): every node must be able to send at least that.
func ownRecordMessageSize(nodeID, authority string, meta []byte) int {
	return EstimateSize(Message{Kind: MessageJoinRequest, From: authority, FromID: nodeID, Seq: ^uint64(0),
		Entries: []NodeRecord{{NodeID: nodeID, Authority: authority, Status: StatusDead, Incarnation: ^uint64(0), Meta: meta}}})
}

// minMessageBytes is the smallest MaxMessageBytes accepted: room for a
// heartbeat and a few records.
const minMessageBytes = 256
