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
	// JoinRequestsServed counts join requests answered.
	JoinRequestsServed uint64
	// AntiEntropyRounds counts digests sent.
	AntiEntropyRounds uint64
	// AntiEntropyRepairs counts records received through anti-entropy that
	// changed the table.
	AntiEntropyRepairs uint64
	// ReconnectProbes counts probes sent to Dead members and seeds.
	ReconnectProbes uint64
	// Conflicts counts records of another instance claiming this node's
	// authority.
	Conflicts uint64
	// StallsForgiven counts late calls treated as local stalls.
	StallsForgiven uint64
	// MessagesSent counts all outbound messages produced.
	MessagesSent uint64
}

// MembershipCoordinator is the membership protocol of one node: it owns the
// membership table, the quarantine, the failure detector and the gossip
// engine, and turns inputs (inbound messages, operator calls, the passing of
// time through Poll) into an Outcome of events and outbound messages. It is a
// synchronous state machine: it never blocks, reads no clock, starts no
// goroutine and is not safe for concurrent use.
//
// # Protocol
//
// Join. StartMember puts the node's own record in the table as Joining at
// incarnation 1. HandleJoin sends a MessageJoinRequest carrying that record to
// every seed, every JoinRetryInterval until one answers; a seed merges the
// record, admits it (Joining → Up at the same incarnation, as Akka's leader
// does, so one record per joiner is gossiped) and answers with its view
// (active records and any record of the joiner's authority) split across
// MessageJoinReply messages. The joiner turns Up too — the same record — and
// everyone learns of it by gossip. A node with no seeds other than itself (or
// not asked to join before its first Poll, or asked to admit a joiner) is Up
// at once.
//
// Failure detection. Members with status Joining, Up or Suspect sit on a ring
// ordered by a hash of their node ID. Every HeartbeatInterval a member sends a
// MessageHeartbeat to its MonitorCount successors; a member feeds the
// heartbeats of its MonitorCount predecessors (and only those) to its
// phi-accrual detector. When the detector loses a member, that member is
// marked Suspect at its current incarnation, the record is gossiped and sent
// to the suspect itself. A node that learns it is suspected (or Dead) at its
// incarnation refutes: it raises its incarnation, turns Up and gossips that;
// a member that heartbeats a node holding it Suspect is told so directly.
// Only a node whose own detector lost the suspect may declare it Dead, when
// the suspicion times out (see suspicion) and the detector still does not
// hear it; the Dead instance is quarantined for QuarantineTTL. Each distinct
// sender of the Suspect record is a confirmation that shortens the timeout.
//
// Local health. A call that comes more than three of the smallest intervals
// after the previous one is a local stall: the gap is forgiven in the
// detector and the local-health score rises, stretching this node's
// suspicion timeouts and phi threshold (see awareness).
//
// Dissemination and repair. Every change learnt from gossip or made locally
// enters the GossipEngine's piggyback queue and rides on heartbeats and on
// periodic gossip to GossipNodes random peers (sent only when something is
// queued). Every AntiEntropyInterval (±25%, drawn afresh each time, so that
// members whose timers lined up drift apart) a member compares a bucketed
// digest of its table with one random peer and both repair what differs: the peer
// answers with a MessageDigestReply, the originator answers its Want with a
// MessageGossip whose Seq is the exchange number (plain gossip has Seq 0).
// Records learnt from a join reply or an anti-entropy repair are merged
// without being queued again: the sender already had them. Each heartbeat
// also carries the sender's table hash as its only Digest value; a monitor
// whose hash differs runs an anti-entropy exchange with the sender at once —
// on the first mismatch when it has nothing queued for gossip itself, else
// after three heartbeats in a row — so a record gossip missed is repaired in
// seconds. A joiner runs six early exchanges with random peers, one gossip
// round apart, starting one gossip round after its join reply
// (many members joining at once gossip their records in a burst, and a few
// members miss a few of them), and a newly watched member that sends no
// heartbeat within two heartbeat intervals gets one too (it probably does
// not know us yet).
//
// Leave. HandleLeave raises the incarnation and gossips the record as
// Leaving; receivers turn it into Removed at that incarnation (never Dead),
// take it off the ring and stop monitoring it. The leaver keeps gossiping and
// heartbeating until its Leaving record has been transmitted as often as any
// change is (LeaveDone), then stops.
//
// Restart and conflicts. A node that sees a record of its own authority that
// would win the merge against its own record acts by whose it is: its own
// instance (same node ID) suspected, dead or stale → refute with a higher
// incarnation; another instance's tombstone → take over with an incarnation
// above it; another instance's active record → take over during the claim
// window (2 × AntiEntropyInterval after StartMember: the new instance of a
// restart wins), and after it yield: emit a MemberEvent with Conflict set and
// stop. So two live instances never fight forever: the newer one wins.
//
// Partition heal. Every ReconnectInterval a member probes one Dead member
// whose backoff has passed (the backoff doubles from ReconnectInterval up to
// maxReconnectBackoff and the entry is dropped when the member is alive again
// or its tombstone is pruned); with no live peer at all, it sends join
// requests to its seeds. A probe carries the prober's record and the target's
// record as held, so a live target learns it was declared Dead and refutes; a
// message from an instance held Dead is refused, but its sender is told (at
// most once per HeartbeatInterval) with the record held for it, so it
// refutes too. Quarantine is per (authority, incarnation), so refutations
// pass.
//
// Tombstones and quarantine. Dead and Removed records are pruned after
// TombstoneRetention; quarantine entries expire after QuarantineTTL and are
// reported with QuarantineEvent.Expired.
//
// Topology. Member changes mark the view dirty; Poll emits a TopologyUpdate
// at most once per TopologyEmitInterval, when the active set changed.
type MembershipCoordinator struct {
	cfg   Config
	rng   *rand.Rand
	state CoordinatorState
	stats CoordinatorStats

	self      NodeRecord // authoritative own record while Member
	startedAt time.Time
	leaving   bool

	table      *MembershipTable
	quarantine *QuarantineTable
	detector   *PhiAccrualDetector
	engine     *GossipEngine
	ring       *ring
	peers      []string       // active authorities other than self
	peerIndex  map[string]int // position of each peer in peers
	topo       *topologyTracker
	health     *awareness

	// failure detection
	monitors       []string // successors: whom this node heartbeats
	watched        []string // predecessors: whom this node's detector follows
	ringSeen       uint64   // ring version monitors and watched were computed at
	unreachable    map[string]bool
	deferred       map[string]bool      // lost by the detector, pending a stretched phi threshold
	silent         map[string]time.Time // newly watched members not heard yet, since when
	mismatch       map[string]int       // heartbeats in a row whose table hash differed from ours, by sender
	nextHashRepair time.Time
	susp           map[string]*suspicion
	suspNext       time.Time // earliest local suspicion deadline; zero when none
	hbSeq          uint64
	hbHash         uint64                   // the table hash last sent in a heartbeat round
	hbSeen         map[string]heartbeatSeen // watched members: the latest heartbeat fed to the detector

	// anti-entropy: incremental bucket sums of the table, over nbuckets
	// buckets (BucketsFor the table's size, at most maxBuckets); resized
	// only when an exchange starts, and bucketsSince is the exchange number
	// from which replies refer to the current count.
	nbuckets     int
	maxBuckets   int
	buckets      []uint64
	aeSeq        uint64
	bucketsSince uint64

	// join and reconnect
	seeds       []string
	joinPending bool
	joinSeq     uint64
	joinRepairs int                 // early anti-entropy exchanges still to run after joining
	dead        map[string]*backoff // Dead members to probe
	seedBackoff backoff
	lastNotice  map[string]time.Time
	noticeSweep time.Time
	nextJoin    time.Time
	nextHB      time.Time
	nextGossip  time.Time
	nextAE      time.Time
	nextProbe   time.Time
	nextHouse   time.Time
	nextPrune   time.Time
	nextCheck   time.Time
	nextWake    time.Time
	quiet       bool // merging a join reply or an anti-entropy repair: changes are not queued for gossip

	out Outcome // accumulated by the current call, handed out by take
}

// heartbeatSeen is the instance and sequence number of the latest heartbeat
// from a watched member that was fed to the detector.
type heartbeatSeen struct {
	nodeID string
	seq    uint64
}

// heartbeatEpoch: a member's heartbeat numbers start from the number of
// HeartbeatIntervals from heartbeatEpoch to its start, and grow by one per
// heartbeat round (at most one per interval), so they never run ahead of the
// clock and a later instance starts above them (once a heartbeat interval has
// passed). Counted in intervals rather than nanoseconds so that the number
// stays small on the wire (a msgpack uint32 for the LAN preset until 2156,
// not a uint64: 4 bytes less on every heartbeat).
var heartbeatEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// backoff is the reconnect schedule of one target.
type backoff struct {
	next  time.Time
	delay time.Duration
}

// maxReconnectBackoff caps the doubling reconnect delay, in multiples of
// ReconnectInterval.
const maxReconnectBackoff = 4

// joinRepairRounds is how many gossip intervals after joining a member runs
// its first anti-entropy exchange, and then the next ones of the
// joinRepairCount early exchanges.
const joinRepairRounds = 1

// joinRepairCount is how many anti-entropy exchanges a member runs, each
// joinRepairRounds gossip intervals after the previous one, once it has
// joined: when many members join at once, their records are gossiped in a
// burst and a few members miss some; each exchange with a random peer repairs
// both sides, so the stragglers are found within about a second rather than
// at the next periodic exchange. (Simulator, 63 members joining one seed at
// once, 20 seeds: slowest view complete after 0.80 s with 6 exchanges one
// round apart, 1.10 s with 4 two rounds apart, 1.20 s with 3 three rounds
// apart, 2.65 s with the single exchange ten rounds after the join.)
const joinRepairCount = 6

// claimWindowFactor: a started node takes its authority over from another
// live instance during claimWindowFactor × AntiEntropyInterval, and yields
// after.
const claimWindowFactor = 2

// NewMembershipCoordinator validates cfg and returns a Stopped coordinator.
func NewMembershipCoordinator(cfg Config) (*MembershipCoordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Meta = slicesClone(cfg.Meta)
	q := NewQuarantineTable()
	c := &MembershipCoordinator{
		cfg:         cfg,
		rng:         cfg.Rand,
		table:       NewMembershipTable(TableConfigFrom(cfg, q)),
		quarantine:  q,
		detector:    newDetector(cfg),
		engine:      NewGossipEngine(cfg.RetransmitMult),
		ring:        newRing(),
		topo:        newTopologyTracker(cfg.TopologyEmitInterval),
		health:      newAwareness(cfg),
		peerIndex:   map[string]int{},
		unreachable: map[string]bool{},
		deferred:    map[string]bool{},
		silent:      map[string]time.Time{},
		mismatch:    map[string]int{},
		hbSeen:      map[string]heartbeatSeen{},
		susp:        map[string]*suspicion{},
		dead:        map[string]*backoff{},
		lastNotice:  map[string]time.Time{},
		nbuckets:    1,
		maxBuckets:  DigestBuckets(cfg.MaxMessageBytes, cfg.Authority, cfg.NodeID),
	}
	c.buckets = make([]uint64, c.nbuckets)
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

// Stats returns the coordinator's counters.
func (c *MembershipCoordinator) Stats() CoordinatorStats { return c.stats }

// EngineState returns the gossip engine's state.
func (c *MembershipCoordinator) EngineState() EngineState { return c.engine.State() }

// LocalHealth returns the local-health score (0 when healthy).
func (c *MembershipCoordinator) LocalHealth() int { return c.health.Score() }

// Members returns copies of every record held, tombstones included, sorted by
// authority.
func (c *MembershipCoordinator) Members() []NodeRecord { return c.table.Snapshot() }

// Member returns a copy of the record held for authority.
func (c *MembershipCoordinator) Member(authority string) (NodeRecord, bool) {
	return c.table.Get(authority)
}

// LocalNode returns this node's own record. For a client, or before
// StartMember, Status is 0 and Incarnation what it last was.
func (c *MembershipCoordinator) LocalNode() NodeRecord {
	r := c.self.Clone()
	r.NodeID, r.Authority = c.cfg.NodeID, c.cfg.Authority
	if r.Meta == nil {
		r.Meta = slicesClone(c.cfg.Meta)
	}
	if c.state != CoordinatorMember && !c.leaving {
		r.Status = 0
	}
	return r
}

// StartMember makes this node a member at now: its own record enters the
// table as Joining (Up once it has joined; see HandleJoin) and the timers
// start. It returns ErrInvalidState unless the coordinator is Stopped.
func (c *MembershipCoordinator) StartMember(now time.Time) (Outcome, error) {
	if c.state != CoordinatorStopped {
		return Outcome{}, fmt.Errorf("%w: StartMember in state %s", ErrInvalidState, c.state)
	}
	inc := uint64(1)
	if old, ok := c.table.Get(c.cfg.Authority); ok {
		inc = max(inc, old.Incarnation+1) // a start after a leave
	}
	c.self = NodeRecord{NodeID: c.cfg.NodeID, Authority: c.cfg.Authority, Status: StatusJoining, Incarnation: inc, Meta: slicesClone(c.cfg.Meta)}
	c.state, c.leaving, c.startedAt = CoordinatorMember, false, now
	// Heartbeat numbers start from the clock, so that a restarted instance
	// that reuses its NodeID still sends numbers above its previous life's,
	// which monitors would otherwise ignore as replays.
	if n := now.Sub(heartbeatEpoch) / c.cfg.HeartbeatInterval; n > 0 && uint64(n) > c.hbSeq {
		c.hbSeq = uint64(n)
	}
	if _, err := c.table.Merge(now, c.self); err != nil {
		c.state = CoordinatorStopped
		return Outcome{}, err
	}
	c.startTimers(now)
	c.drain(now)
	return c.take(), nil
}

// StartClient makes this node an observer at now: it keeps a view of the
// cluster (join a seed with HandleJoin) without a record of its own. It
// returns ErrInvalidState unless the coordinator is Stopped.
func (c *MembershipCoordinator) StartClient(now time.Time) (Outcome, error) {
	if c.state != CoordinatorStopped {
		return Outcome{}, fmt.Errorf("%w: StartClient in state %s", ErrInvalidState, c.state)
	}
	c.state, c.leaving, c.startedAt = CoordinatorClient, false, now
	c.startTimers(now)
	return c.take(), nil
}

// startTimers schedules every periodic task from now, each with a random
// phase so that members started together do not act in lockstep.
func (c *MembershipCoordinator) startTimers(now time.Time) {
	jitter := func(d time.Duration) time.Duration { return time.Duration(c.rng.Int64N(int64(d))) }
	c.nextHB = now.Add(jitter(c.cfg.HeartbeatInterval))
	c.nextGossip = now
	c.nextAE = now.Add(c.aeInterval()/2 + jitter(c.aeInterval()))
	c.nextProbe = now.Add(c.cfg.ReconnectInterval/2 + jitter(c.cfg.ReconnectInterval))
	c.nextHouse = now.Add(c.housekeepingInterval())
	c.nextPrune = now.Add(c.pruneInterval())
	c.nextCheck = now
	c.seedBackoff = backoff{next: now.Add(c.cfg.ReconnectInterval), delay: c.cfg.ReconnectInterval}
	c.health.observe(now)
}

// aeInterval is how often anti-entropy runs: AntiEntropyInterval for a
// member; a client, which nobody gossips to, pulls every HeartbeatInterval.
func (c *MembershipCoordinator) aeInterval() time.Duration {
	if c.state == CoordinatorClient {
		return min(c.cfg.AntiEntropyInterval, c.cfg.HeartbeatInterval)
	}
	return c.cfg.AntiEntropyInterval
}

// housekeepingInterval is how often quarantine expiry is checked.
func (c *MembershipCoordinator) housekeepingInterval() time.Duration {
	return max(c.cfg.TopologyEmitInterval, c.cfg.HeartbeatInterval)
}

// pruneInterval is how often tombstones are pruned (a full scan of the table).
func (c *MembershipCoordinator) pruneInterval() time.Duration {
	return max(c.housekeepingInterval(), c.cfg.TombstoneRetention/32)
}

// checkInterval is how often the failure detector is consulted.
func (c *MembershipCoordinator) checkInterval() time.Duration {
	return max(time.Millisecond, c.cfg.HeartbeatInterval/4)
}

// HandleJoin contacts seeds with join requests, and again every
// JoinRetryInterval until one answers (and later, with backoff, whenever this
// node sees no live peer). Seeds equal to this node's authority are ignored;
// with none left, a member is Up at once. It returns ErrNotStarted when the
// coordinator is Stopped.
func (c *MembershipCoordinator) HandleJoin(now time.Time, seeds []string) (Outcome, error) {
	if c.state == CoordinatorStopped {
		return Outcome{}, ErrNotStarted
	}
	c.observe(now)
	var list []string
	for _, s := range seeds {
		if s != "" && s != c.cfg.Authority && !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	if len(list) == 0 {
		c.joined(now)
		return c.finish(), nil
	}
	c.seeds = list
	c.joinPending = true
	c.sendJoinRequests(now)
	return c.finish(), nil
}

// sendJoinRequests sends one join request to every seed and schedules the
// retry.
func (c *MembershipCoordinator) sendJoinRequests(now time.Time) {
	c.joinSeq++
	c.nextJoin = now.Add(c.cfg.JoinRetryInterval)
	for _, s := range c.seeds {
		c.sendJoinRequest(s)
	}
}

func (c *MembershipCoordinator) sendJoinRequest(seed string) {
	m := c.newMessage(MessageJoinRequest)
	m.Seq = c.joinSeq
	if c.state == CoordinatorMember {
		m.Entries = []NodeRecord{c.self.Clone()}
	}
	c.send(seed, m)
	c.stats.JoinRequestsSent++
}

// joined ends the join: no more retries, and a Joining member turns Up.
func (c *MembershipCoordinator) joined(now time.Time) {
	if c.joinPending {
		// Changes that happened while the seed's view travelled are repaired
		// by early anti-entropy exchanges, once gossip has had its go.
		c.joinRepairs = joinRepairCount
		c.scheduleJoinRepair(now)
	}
	c.joinPending = false
	if c.state == CoordinatorMember && c.self.Status == StatusJoining {
		c.self.Status = StatusUp
		c.storeSelf(now)
	}
}

// scheduleJoinRepair brings the next anti-entropy exchange forward to
// joinRepairRounds gossip intervals (plus jitter) from now, if one of the
// early post-join exchanges is left.
func (c *MembershipCoordinator) scheduleJoinRepair(now time.Time) {
	if c.joinRepairs <= 0 {
		return
	}
	early := now.Add(joinRepairRounds*c.cfg.GossipInterval + time.Duration(c.rng.Int64N(int64(c.cfg.GossipInterval))))
	if early.Before(c.nextAE) {
		c.nextAE = early
	}
}

// HandleLeave starts a graceful leave: the own record turns Leaving at a
// higher incarnation and is sent at once to the monitors and GossipNodes
// random peers, then piggybacked until LeaveDone. A member with no monitor
// and no peer to tell is done at once (LeaveDone holds on return). A client
// simply stops. It
// returns ErrNotStarted when Stopped and ErrInvalidState when already leaving.
func (c *MembershipCoordinator) HandleLeave(now time.Time) (Outcome, error) {
	switch {
	case c.state == CoordinatorStopped:
		return Outcome{}, ErrNotStarted
	case c.state == CoordinatorClient:
		c.state = CoordinatorStopped
		return c.take(), nil
	case c.leaving:
		return Outcome{}, fmt.Errorf("%w: already leaving", ErrInvalidState)
	}
	c.observe(now)
	c.refreshRing(now) // the monitors stay as they are now until the leave is done
	c.leaving = true
	c.joinPending = false
	c.self.Status = StatusLeaving
	c.self.Incarnation++
	c.storeSelf(now)
	targets := slices.Clone(c.monitors)
	for _, p := range c.randomPeers(c.cfg.GossipNodes) {
		if !slices.Contains(targets, p) {
			targets = append(targets, p)
		}
	}
	for _, t := range targets {
		c.sendGossip(t)
	}
	if len(targets) == 0 {
		// Nobody to tell (a cluster of one, or every other member gone):
		// the leave is done at once.
		c.state = CoordinatorStopped
	}
	return c.finish(), nil
}

// LeaveDone reports whether a graceful leave has been sent enough times (its
// record was transmitted RetransmitLimit times), or the coordinator is
// Stopped; the caller may stop driving it then.
func (c *MembershipCoordinator) LeaveDone() bool {
	if c.state == CoordinatorStopped {
		return true
	}
	if !c.leaving {
		return false
	}
	_, _, queued := c.engine.Queued(c.cfg.Authority)
	return !queued
}

// HandleQuarantine declares the instance (authority, incarnation) Dead on an
// operator's word: the record held for authority, if its incarnation is not
// above incarnation, turns Dead at incarnation and is gossiped, and the
// instance is quarantined for QuarantineTTL. It returns ErrNotStarted when
// Stopped and ErrInvalidState for this node's own authority.
func (c *MembershipCoordinator) HandleQuarantine(now time.Time, authority string, incarnation uint64) (Outcome, error) {
	switch {
	case c.state == CoordinatorStopped:
		return Outcome{}, ErrNotStarted
	case authority == "":
		return Outcome{}, fmt.Errorf("%w: empty authority", ErrInvalidRecord)
	case authority == c.cfg.Authority:
		return Outcome{}, fmt.Errorf("%w: cannot quarantine this node's own authority", ErrInvalidState)
	}
	c.observe(now)
	if r, ok := c.table.Get(authority); ok && r.Incarnation <= incarnation && r.Status != StatusDead {
		if r.Status == StatusRemoved {
			// A tombstone already: record the quarantine only.
		} else if _, err := c.table.Transition(now, authority, StatusDead, incarnation); err != nil {
			return c.finish(), err
		}
	}
	c.drain(now) // a Dead transition quarantines at its incarnation
	if !c.quarantine.Contains(authority, incarnation) {
		c.quarantineInstance(now, authority, incarnation)
	}
	return c.finish(), nil
}

// quarantineInstance quarantines (authority, incarnation) until now +
// QuarantineTTL and reports it.
func (c *MembershipCoordinator) quarantineInstance(now time.Time, authority string, incarnation uint64) {
	until := now.Add(c.cfg.QuarantineTTL)
	c.quarantine.Quarantine(authority, incarnation, until)
	e, _ := c.quarantine.Lookup(authority)
	c.out.Quarantine = append(c.out.Quarantine, QuarantineEvent{Authority: authority, Incarnation: e.Incarnation, Until: e.Until})
}

// take hands out the accumulated outcome.
func (c *MembershipCoordinator) take() Outcome {
	o := c.out
	c.out = Outcome{}
	return o
}

// finish ends a call: it folds pending table changes, reschedules the next
// wake-up and hands out the outcome.
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

// sendGossip sends target one gossip message filled from the piggyback queue,
// if anything is queued.
func (c *MembershipCoordinator) sendGossip(target string) bool {
	m := c.newMessage(MessageGossip)
	c.piggyback(&m)
	if len(m.Entries) == 0 {
		return false
	}
	c.send(target, m)
	c.stats.GossipSent++
	return true
}

// piggyback fills m's Entries from the piggyback queue, up to the size
// budget.
func (c *MembershipCoordinator) piggyback(m *Message) {
	if c.engine.Pending() == 0 {
		return
	}
	budget := c.cfg.MaxMessageBytes - EstimateSize(*m)
	m.Entries = c.engine.Fill(make([]NodeRecord, 0, min(c.engine.Pending(), budget/typicalRecordBytes+1)), budget, c.clusterSize(), "")
}

// typicalRecordBytes sizes the Entries of a piggybacked message up front.
const typicalRecordBytes = 40

// clusterSize is N for the retransmit limit: the active members known.
func (c *MembershipCoordinator) clusterSize() int {
	return len(c.peers) + 1
}

// randomPeers returns up to k distinct random peers.
func (c *MembershipCoordinator) randomPeers(k int) []string {
	n := len(c.peers)
	if k >= n {
		return slices.Clone(c.peers)
	}
	out := make([]string, 0, k)
	for len(out) < k {
		p := c.peers[c.rng.IntN(n)]
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}
