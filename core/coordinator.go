package core

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// CoordinatorState is the coordinator's life-cycle state.
type CoordinatorState uint8

const (
	// CoordinatorStopped: not started, or stopped after a leave or after
	// losing its authority to a newer instance. Only Start* calls are allowed.
	CoordinatorStopped CoordinatorState = iota
	// CoordinatorMember: a full member: its record is gossiped, it heartbeats
	// its monitors and monitors others.
	CoordinatorMember
	// CoordinatorClient: an observer: it keeps a view of the cluster by
	// anti-entropy and gossip, but has no record of its own, so nobody
	// monitors it and it monitors nobody.
	CoordinatorClient
)

// String names the state.
func (s CoordinatorState) String() string {
	switch s {
	case CoordinatorStopped:
		return "stopped"
	case CoordinatorMember:
		return "member"
	case CoordinatorClient:
		return "client"
	}
	return fmt.Sprintf("coordinator-state(%d)", uint8(s))
}

// CoordinatorStats are cumulative counters of one coordinator.
type CoordinatorStats struct {
	// SuspicionsRaised counts members this node's detector made Suspect.
	SuspicionsRaised uint64
	// SuspicionsRefuted counts suspicions held here that ended by the
	// suspect's refutation (a record with a higher incarnation).
	SuspicionsRefuted uint64
	// Refutations counts times this node raised its own incarnation to refute
	// a suspicion or a death, or to take over its authority.
	Refutations uint64
	// DeadDeclared counts members this node declared Dead itself.
	DeadDeclared uint64
	// MessagesHandled counts inbound messages accepted.
	MessagesHandled uint64
	// MessagesRejected counts inbound messages refused (malformed, or from a
	// dead or quarantined instance).
	MessagesRejected uint64
	// RecordsRejected counts records skipped inside accepted messages (stale
	// gossip of quarantined instances, a full table).
	RecordsRejected uint64
	// RepliesLimited counts replies not sent because a limit on what one
	// source, or everyone, may be sent held, rather than the protocol's own
	// pace: a full join or digest answer to a source that had one within the
	// per-source interval, beyond the global rate, or to a replay of a
	// request answered already; a cookie challenge to a source challenged
	// within the last half GossipInterval; a notice to a new target while
	// the notice limit is full of targets told within the last
	// HeartbeatInterval.
	RepliesLimited uint64
	// RepliesWithheld counts replies not sent to a source that has not
	// proven it receives there because they would have been larger than
	// what it sent (or a second reply to it): see "Address validation" in
	// the package documentation.
	RepliesWithheld uint64
	// CookieChallenges counts MessageCookie replies sent: join requests and
	// digests from sources that had not proven they receive there.
	CookieChallenges uint64
	// HeartbeatsSent counts heartbeats sent to monitors.
	HeartbeatsSent uint64
	// HeartbeatsReceived counts heartbeats received.
	HeartbeatsReceived uint64
	// HeartbeatsStale counts heartbeats from watched members ignored because
	// their Seq was not above the last one seen from that instance (replays,
	// reordering).
	HeartbeatsStale uint64
	// GossipSent counts periodic gossip messages sent.
	GossipSent uint64
	// JoinRequestsSent counts join requests sent to seeds.
	JoinRequestsSent uint64
	// JoinAttempts counts rounds of join requests: the first of a join and
	// its retries, each to every seed, and the probes of the seeds (see
	// ReconnectProbes): to every seed when no live peer is left, else to
	// one seed not in the active view. A round with no seed to send to is
	// not counted.
	JoinAttempts uint64
	// JoinRequestsServed counts join requests answered with the view.
	JoinRequestsServed uint64
	// DigestsServed counts digests answered with the records and the Want
	// of the buckets that differ.
	DigestsServed uint64
	// AntiEntropyRounds counts digests sent.
	AntiEntropyRounds uint64
	// SummariesDescended counts summaries (the small digests of periodic
	// exchanges in a large table) that differed from this node's table in
	// more records than one message holds, to which this node answered
	// with an exchange of its whole digest.
	SummariesDescended uint64
	// AntiEntropyRepairs counts records received through anti-entropy that
	// changed the table.
	AntiEntropyRepairs uint64
	// ReconnectProbes counts probes sent to Dead members and seeds.
	ReconnectProbes uint64
	// ProbeRequestsSent counts members asked to probe a member this node's
	// detector lost.
	ProbeRequestsSent uint64
	// ProbesSent counts probes sent: of members this node's detector lost,
	// and on other members' requests.
	ProbesSent uint64
	// ProbesFailed counts probes that got no ack within ProbeTimeout while
	// the probed member stayed suspected.
	ProbesFailed uint64
	// HandOffsSent counts former monitors told, when a member joined
	// between this node and them on the ring, the records of the monitors
	// that replace them (see "Failure detection" in the package
	// documentation).
	HandOffsSent uint64
	// Conflicts counts records of another instance claiming this node's
	// authority.
	Conflicts uint64
	// IdentityConflicts counts conflicts of identity found: a record that
	// became active under a node ID already active at another authority
	// (once per pair; see MemberEvent.Conflict).
	IdentityConflicts uint64
	// UserMessagesSent and UserMessagesReceived count direct messages
	// (SendTo) sent and delivered.
	UserMessagesSent, UserMessagesReceived uint64
	// BroadcastsSent counts broadcasts this node started (Broadcast);
	// BroadcastsReceived those of other nodes it delivered, each once.
	BroadcastsSent, BroadcastsReceived uint64
	// UserMessagesRefused counts the direct messages and broadcasts of
	// senders this node does not hold as active members, not delivered.
	UserMessagesRefused uint64
	// BroadcastsDropped counts broadcasts given up before they were passed
	// on as often as the retransmit limit says: pushed out of a full queue
	// (Config.MaxBroadcasts), or too large for this node's messages.
	BroadcastsDropped uint64
	// AdmissionsRefused counts records Config.Admit refused: each time a
	// refused instance's record arrived, alone or with the message it came
	// in.
	AdmissionsRefused uint64
	// StallsForgiven counts late calls treated as local stalls.
	StallsForgiven uint64
	// MessagesSent counts all outbound messages produced.
	MessagesSent uint64
	// QueuedRecords is not a counter but the number of records waiting in
	// the piggyback queue when Stats was called: zero once every change
	// this node knows has been passed on as often as changes are (and in a
	// quiet cluster's steady state).
	QueuedRecords uint64
}

// MembershipCoordinator is the membership protocol of one node: it owns the
// membership table, the quarantine, the failure detector and the gossip
// engine, and turns inputs (inbound messages, operator calls, the passing of
// time through Poll) into an Outcome of events and outbound messages. The
// package documentation describes the protocol it runs. It is a synchronous
// state machine: it never blocks, reads no clock, starts no goroutine and is
// not safe for concurrent use.
type MembershipCoordinator struct {
	// The state is grouped by concern, each with its own file and methods.
	// Inbound messages are dispatched in coordinator_inbound.go, changes of
	// the table reach every concern through coordinator_events.go, and Poll
	// runs the concerns' timers in coordinator_poll.go.

	cfg   Config
	rng   *rand.Rand
	state CoordinatorState
	stats CoordinatorStats

	table      *membershipTable
	quarantine *quarantineTable
	engine     *gossipEngine
	topo       *topologyTracker

	life   lifecycleState     // own record, start, leave, conflicts: coordinator_lifecycle.go
	detect detectionState     // ring, heartbeats, detector, local health: coordinator_detection.go; suspicions: coordinator_suspicion.go
	gossip disseminationState // peers and gossip rounds: coordinator_dissemination.go
	ae     antiEntropyState   // digests, buckets, exchanges: coordinator_antientropy.go
	join   joinState          // seeds, join retries, reconnect probes: coordinator_join.go
	tomb   tombstoneState     // quarantine and tombstone expiry: coordinator_tombstones.go
	alive  aliveState         // direct evidence that members live: coordinator_alive.go
	reply  replyState         // where replies go and how large, cookies, reply limits: coordinator_replies.go
	user   userState          // application messages: user_messages.go

	clock    protocolClock // caller time to protocol time: coordinator_clock.go
	nextWake time.Time     // the earliest time Poll has anything to do
	out      Outcome       // accumulated by the current call, handed out by take
}

// NewMembershipCoordinator validates cfg and returns a Stopped coordinator.
func NewMembershipCoordinator(cfg Config) (*MembershipCoordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Meta = slicesClone(cfg.Meta)
	q := newQuarantineTable()
	table := newMembershipTable(tableConfigFrom(cfg, q))
	c := &MembershipCoordinator{
		cfg:        cfg,
		rng:        cfg.Rand,
		table:      table,
		quarantine: q,
		engine:     newGossipEngine(cfg.RetransmitMult),
		topo:       newTopologyTracker(cfg.TopologyEmitInterval, cfg.Authority, cfg.NoTopologyUpdates),
		detect:     newDetectionState(cfg),
		gossip:     newDisseminationState(table),
		ae:         newAntiEntropyState(cfg),
		join:       newJoinState(),
		reply:      newReplyState(cfg),
		tomb:       tombstoneState{past: map[string]*pastMember{}},
		user:       newUserState(cfg),
	}
	c.detect.ring = newRing(cfg.Authority, cfg.MonitorCount, c.ringMembers)
	if cfg.ProveMembers {
		c.detect.ring.proof = c.ringProofOf
	}
	return c, nil
}

func slicesClone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return slices.Clone(b)
}

// State returns the coordinator's life-cycle state.
func (c *MembershipCoordinator) State() CoordinatorState { return c.state }

// Stats returns the coordinator's counters, and QueuedRecords.
func (c *MembershipCoordinator) Stats() CoordinatorStats {
	st := c.stats
	st.QueuedRecords = uint64(c.engine.Pending())
	return st
}

// Members returns copies of the records of the active members (Joining, Up,
// Suspect and Leaving: see NodeStatus.IsActive), this node's own included
// while it is a member, sorted by authority. Records returns the whole
// table.
func (c *MembershipCoordinator) Members() []NodeRecord { return c.table.Active() }

// TableVersion returns a number that changes whenever the records held
// change (each record stored, each tombstone pruned): what Members and
// Records return is the same as long as it is.
func (c *MembershipCoordinator) TableVersion() uint64 { return c.table.Version() }

// EachMember calls fn with a copy of each record Members returns, in the
// same order, until fn returns false: Members without the list, for a
// caller that reads each record once (a simulation that checks thousands
// of views). fn must not call the coordinator.
func (c *MembershipCoordinator) EachMember(fn func(r NodeRecord) bool) {
	c.table.each(func(v *recordValue) bool {
		return !v.status.IsActive() || fn(v.record())
	})
}

// Records returns copies of every record held, the tombstones of members
// that left (Removed) or failed (Dead) included until they are pruned
// (Config.TombstoneRetention), sorted by authority.
func (c *MembershipCoordinator) Records() []NodeRecord { return c.table.Snapshot() }

// Member returns a copy of the record held for authority.
func (c *MembershipCoordinator) Member(authority string) (NodeRecord, bool) {
	return c.table.Get(authority)
}

// take hands out the accumulated outcome.
func (c *MembershipCoordinator) take() Outcome {
	o := c.out
	c.out = Outcome{}
	if c.cfg.ReuseMemberEvents && cap(o.Members) <= maxReusedEvents {
		c.out.Members = o.Members[:0:cap(o.Members)]
	}
	c.clock.toCallerClock(&o)
	return o
}

// maxReusedEvents bounds the array of events a coordinator keeps for its
// next call with Config.ReuseMemberEvents: that of a gossip message's
// worth, not of a join reply's thousands.
const maxReusedEvents = 64

// finish ends a call: it reschedules the next wake-up and hands out the
// outcome.
func (c *MembershipCoordinator) finish() Outcome {
	c.scheduleWake()
	return c.take()
}

// newMessage returns an empty message of kind from this node.
func (c *MembershipCoordinator) newMessage(kind MessageKind) Message {
	return Message{Kind: kind, From: c.cfg.Authority, FromID: c.cfg.NodeID}
}

// send queues m for target in the outcome.
func (c *MembershipCoordinator) send(target string, m Message) {
	if target == c.cfg.Authority {
		return // a reply to a message that names this node's authority as its sender
	}
	c.out.Outbound = append(c.out.Outbound, GossipOutbound{Target: target, Message: m})
	c.stats.MessagesSent++
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
