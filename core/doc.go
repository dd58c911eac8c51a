// Package core is the hearsay membership protocol as a synchronous state
// machine: the membership table and its merge rules, the phi-accrual failure
// detector, quarantine, the gossip engine (piggybacked dissemination and
// anti-entropy), the MembershipCoordinator that owns them, and the Driver that
// binds a coordinator to a GossipTransport. Only the coordinator, the Driver
// and what they take and return are exported; the components keep the
// design's names in the source, unexported (membershipTable,
// phiAccrualDetector, quarantineTable, gossipEngine).
//
// Core uses the standard library only. It never starts a goroutine, opens a
// socket, reads the clock or touches a global random source: every entry point
// takes now, and randomness comes from Config.Rand, so a run is reproducible
// from a seed. Package core/sim runs many coordinators over a simulated
// network in virtual time; package std (a sibling module) adds UDP.
//
// The sections after Usage describe the protocol a MembershipCoordinator runs,
// one concern each; the coordinator keeps the state of each concern in its own
// file.
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
//
// # Time
//
// Every entry point takes now, and now must be monotonic: the same clock for
// every call, never decreasing (time.Now carries a monotonic reading; a
// custom driver's clock must not be a wall clock that can be set back). A
// step backwards is absorbed rather than trusted: the coordinator's own
// protocol time stands still across the step and moves on with the caller's
// clock after it, so its timers keep their distance to now instead of
// waiting for the clock to catch up, and the times it hands out
// (NextDeadline, events' At and Until) are in the caller's clock. A step
// forwards is a gap between calls: a local stall (see Local health).
//
// # Join
//
// StartMember puts the node's own record in the table as Joining at
// incarnation 1. HandleJoin sends a MessageJoinRequest carrying that record to
// every seed, every JoinRetryInterval until one answers (a seed answers
// only once the joiner has proven its address: see Address validation); a
// seed merges the record, admits it (Joining → Up at the same incarnation, as Akka's leader
// does, so one record per joiner is gossiped) and answers with its view
// (active records and any record of the joiner's authority) split across
// MessageJoinReply messages. The joiner turns Up too — the same record — and
// everyone learns of it by gossip. A node with no seeds other than itself (or
// not asked to join before its first Poll, or asked to admit a joiner) is Up
// at once.
//
// SetSeeds replaces the seeds' addresses without sending (unless a join
// waits with none), for a driver that resolves seed names again before each
// attempt; with an empty list a member that has not joined stays Joining
// until it gets one, instead of turning Up alone.
//
// # Failure detection
//
// Members with status Joining, Up or Suspect sit on a ring ordered by a hash
// of their node ID. Every HeartbeatInterval a member sends a MessageHeartbeat
// to its MonitorCount successors; a member feeds the heartbeats of its
// MonitorCount predecessors (and only those) to its phi-accrual detector,
// and is woken when the first of them would be lost if it stays silent.
// When the detector loses a member, that member is marked Suspect at its
// current incarnation, the record is gossiped and sent to the suspect
// itself, and the monitor probes it: it sends it a messageProbe, and asks
// IndirectChecks random members, with a messageProbeRequest, to probe it
// too. Each prober probes again every ProbeTimeout while the member stays
// suspected and silent. A probe carries the record the prober holds, so a
// live suspect refutes at once, and is answered with a messageProbeAck; a
// prober that gets the ack relays it to the monitor that asked, and an ack
// the monitor gets, directly or relayed, shows the member alive: its
// detector watches it again from then. A helper whose probe goes unanswered
// accuses the member (see below): an independent confirmation. A helper that
// holds the member at a higher incarnation (it refuted) sends the monitor
// that record instead. When some of the helpers asked stay silent (the
// monitor may be cut off from part of the cluster), the monitor asks twice
// as many others, up to three rounds, before its verdict.
//
// A node that learns it is suspected (or Dead) at its incarnation refutes:
// it raises its incarnation, turns Up and gossips that, and tells at once
// the sender of the news and its monitors; a member that sends anything to
// a node holding it Suspect is told so directly, and so is one that a node
// opening its suspicion heard from a moment before. Only a node whose own detector
// lost the suspect may declare it Dead, when the suspicion times out
// (Lifeguard's timeout, which confirmations shorten) and neither its
// detector nor its probes heard the suspect meanwhile: after an ack, direct
// or relayed, the suspect is told again and given another timeout, in which
// it must answer again. A node whose detector does not follow the suspect (the
// ring moved during the suspicion, or the suspicion came from a reported
// death, below) probes it itself before its verdict, up to three times. A
// helper that accused the suspect and then learns its refutation passes it
// on to the monitor that asked. The verdict is told at once to up to 16
// members, and every member gossips a Dead record without waiting for its
// next gossip round. A Dead record about a member held active is taken as a
// suspicion when the member's suspicion did not reach this node as news in
// time for the member to answer it here: the member is held Up, or Suspect
// only for a moment, or only from what others held (a repair, a join reply:
// records that are not gossiped on); or when this node heard from the member
// itself after it first held it Suspect, or within the least time a correct
// verdict takes. The verdict was then reached where the member could not be
// heard (across a partition that is healing, or by a node cut off): the
// member is told, refutes, and is declared Dead here only if it does not
// within the suspicion's timeout. A Suspect or Dead record of an instance
// held at a higher incarnation (the member refuted) is answered with the
// record held, so that whoever still spreads a refuted suspicion learns the
// refutation from the first member that holds it. The Dead instance is
// quarantined for QuarantineTTL. A stall of the suspect longer than the
// detector's allowance plus the suspicion's timeout is indistinguishable
// from a crash: the stalled member is declared Dead and comes back, with a
// higher incarnation, when it resumes (DefaultLANConfig says how long a
// stall its timings survive).
//
// A member that learns of a newcomer between itself and its monitor on the
// ring heartbeats the newcomer from then on, and tells the monitor it
// replaces (one still on the ring) the newcomer's record at once: the
// former monitor's detector follows the member's heartbeats, which stop,
// and gossip may bring it the newcomer only seconds later when many members
// join at once. Told, it puts the newcomer on its ring and watches it
// instead.
//
// Confirmations count suspectors, never echoes (Lifeguard). A message that
// carries a Suspect record names, in Message.Accusations, the suspectors its
// sender knows of: itself if its own detector lost the member, and the
// confirmations it holds. Each other member so named confirms the suspicion
// once, whoever passes the accusation on; a node's own accusation coming
// back confirms nothing, and at most SuspicionConfirmations are kept, which
// bring the timeout down to SuspicionMinTimeout. A monitor whose detector
// loses a member already held Suspect gossips the record again with itself
// named, and a node that learns of a new suspector gossips it on.
//
// A refutation is news that the member lived a moment ago: every detector
// watching it starts counting its silence again from then, so a member that
// refutes and stays silent (it crashed, or its heartbeats still do not get
// through) is lost and suspected anew. A new instance at a watched authority
// (a restart with a new node ID) starts with a fresh detector history, as a
// newly watched member does: it is not blamed for its predecessor's silence.
//
// # Local health
//
// A node at fault blames the others, so signs of a local fault raise its
// local-health score (Lifeguard), which stretches its suspicion timeouts and
// phi threshold by (1 + score): a call that comes more than three of the
// smallest intervals after the previous one (a local stall, whose gap is
// also forgiven in the detector); hearing nothing at all for eight heartbeat
// intervals while watching members (undone as soon as anything arrives);
// having to refute a suspicion of itself; a suspicion it raised being
// refuted. The score decays one step per heartbeat interval in which calls
// come on time and something is heard.
//
// A node that hears nothing accuses nobody. When its detector loses a member
// and nothing at all arrived from anyone since that member's next heartbeat
// was due, the fault may be its own: it holds the suspicion, asks three
// other members (that its detector did not lose) for a digest, every two
// heartbeat intervals, and suspects only once something arrives; it likewise
// declares nobody Dead whose suspicion passed unheard. With nobody else to
// ask (every other member lost too) it acts on its detector.
//
// # Dissemination and repair
//
// Every change learnt from gossip or made locally enters the gossip engine's
// piggyback queue and rides on heartbeats and on periodic gossip to
// GossipNodes random peers (sent only when something is queued). Every
// AntiEntropyInterval (±25%, drawn afresh each time, so that members whose
// timers lined up drift apart) a member compares a bucketed digest of its
// table with one random peer and both repair what differs: the peer answers
// with a MessageDigestReply, the originator answers its Want with a
// MessageGossip whose Seq is the exchange number (plain gossip has Seq 0).
// The digest's buckets grow with the table, to about eight records each
// (at most 128); the periodic exchange of a larger table sends a summary of
// 16 buckets instead, each the sum of the buckets sharing its index modulo
// 16, so that the steady state, where views agree, costs the same bytes at
// any cluster size. A peer whose table differs from a summary in more
// records than one message holds answers as if it agreed and descends: it
// runs an exchange of its own with the sender, with its whole digest.
// The exchange number is drawn at random, and only a reply naming a digest
// this node sent is answered. A peer answers a digest in full only at an
// address that proved it receives there (see Address validation); between
// members whose views agree, the whole answer is smaller than the digest and
// needs no proof.
// Records learnt from a join reply or an anti-entropy repair are merged
// without being queued again: the sender already had them. Every eighth
// heartbeat, and every one after the sender's table changed, carries the
// sender's table hash as its only Digest value; a monitor whose hash differs
// runs an anti-entropy exchange with the sender — an active member held; a
// stranger's heartbeat starts nothing — at once: on the first mismatch when
// it has nothing queued for gossip itself, else after three mismatches in a
// row — so a record gossip missed is repaired in seconds. A joiner runs six
// early exchanges with random peers, one gossip
// round apart, starting one gossip round after its join reply (many members
// joining at once gossip their records in a burst, and a few members miss a
// few of them), and a newly watched member that sends no heartbeat within two
// heartbeat intervals gets one too (it probably does not know us yet).
//
// # Leave
//
// HandleLeave raises the incarnation and gossips the record as Leaving;
// receivers turn it into Removed at that incarnation (never Dead), take it off
// the ring and stop monitoring it. The leaver keeps gossiping and heartbeating
// until its Leaving record has been transmitted as often as any change is
// (LeaveDone), then stops.
//
// # Restart and conflicts
//
// A node that sees a record of its own authority that would win the merge
// against its own record acts by whose it is: its own instance (same node ID)
// suspected, dead or stale → refute with a higher incarnation; another
// instance's tombstone → take over with an incarnation above it; another
// instance's active record → take over during the claim window (2 ×
// AntiEntropyInterval after StartMember: the new instance of a restart wins),
// and after it yield: emit a MemberEvent with Conflict set and stop. So two
// live instances never fight forever: the newer one wins.
//
// # Conflicts
//
// The same node, to hearsay, is the same NodeID. Two claims conflict:
//
//   - One authority, two live instances (different node IDs): the merge
//     decides, as for any record (the higher incarnation wins), and the
//     instance that loses its own authority yields and reports it (see
//     "Restart and conflicts"). Elsewhere the losing record is dropped and
//     counted (CoordinatorStats.Conflicts), without an event: stale gossip
//     of a restarted node's previous instance looks the same.
//   - One node ID, two live authorities (a NodeID given to two processes,
//     or a node that moved to another address without leaving first): both
//     records stay in the table, since each authority is its own member and
//     the table must reach the same contents whatever order the records
//     arrive in; hearsay does not pick one. Every node that holds both
//     active reports a MemberEvent with Conflict set, once per pair, when
//     the second becomes active (the two instances themselves included),
//     and counts it (IdentityConflicts); the application decides, say by
//     stopping one. The conflict ends when either record leaves the active
//     set (a node that moved is declared Dead at its old address).
//
// # Metadata
//
// A member's metadata (NodeRecord.Meta, at most MaxMetadataBytes) starts as
// Config.Meta and changes with SetMeta, which stores the own record at a
// higher incarnation, so that it supersedes the old one everywhere, and
// gossips it like any other change. Every member that takes the new record
// emits a MemberEvent with From == To: an update.
//
// # User messages
//
// An application sends its own payloads (at most MaxPayloadBytes) through
// the same transport, so a transport that seals messages seals these too.
// What it gets is best effort, as memberlist's SendBestEffort and broadcast
// queue and serf's user events give:
//
//   - SendTo is one direct MessageUser to one member: one datagram, no
//     acknowledgement, no retry; lost if the datagram is. The transport's
//     refusal (a full queue) is the caller's error; a loss on the way is
//     not reported to anyone.
//   - Broadcast is epidemic: the payload, with its origin and a random
//     64-bit ID, rides in the User field of heartbeats and gossip after the
//     records they carry, and each member that receives it first delivers it
//     and queues it to pass on RetransmitMult × ceil(log10(N+1)) times, as a
//     change of the table is; gossip rounds run while broadcasts are queued.
//     Nothing acknowledges or repairs a broadcast (anti-entropy compares
//     tables, not messages), so a member may miss one, rarely without loss
//     and more often with it; BENCHMARKS.md has how often, measured in the
//     simulator. An application that needs every member to have a value
//     puts it in its metadata (SetMeta), which anti-entropy does repair.
//   - Order is not kept: two broadcasts, or a broadcast and a direct
//     message, may arrive in either order.
//   - A member delivers a broadcast at most once as long as it remembers its
//     ID: for QuarantineTTL after delivering it, and at most 8 ×
//     MaxBroadcasts IDs. The sender does not deliver its own.
//   - Bounds, with counted drops: at most MaxBroadcasts wait to be passed
//     on, and a new one pushes out the one transmitted most
//     (BroadcastsDropped); a broadcast too large for this node's messages
//     is delivered but not passed on (BroadcastsDropped).
//
// Messages flow between members only: SendTo aims at members this node
// holds active, and a node delivers (and relays) the payloads of a sender it
// holds active under the node ID the message gives, and refuses the others
// (UserMessagesRefused). Delivering never answers the sender, so user
// messages obey "Address validation" whatever the application does with
// them: an answer it sends with SendTo goes to a member's authority, never
// to a message's source. The sender's identity is only as good as the
// transport's: keep strangers out with a transport that authenticates
// (std's keyring).
//
// # Partition heal
//
// A member remembers every member that died or left for ReconnectTimeout
// (72 hours in the presets, as serf's reconnect list), apart from the table
// and long after the tombstone is pruned (at most MaxMembers of them). Every
// ReconnectInterval it probes one that died whose backoff has passed (the
// backoff doubles from ReconnectInterval up to four times that), until it is
// active again, so a partition of any length heals. It also sends join
// requests to its seeds that are not in its active view: to all of them,
// with backoff, when it has no live peer at all, else to one of them every
// four ReconnectIntervals on average (jittered by half), so a partition
// heals through the seeds even once the other side is forgotten. A probe
// carries the prober's record and the target's record as held, so a live
// target learns it was declared Dead and refutes; a message from an instance
// held (or remembered) Dead is refused, but its sender is told (at most once
// per HeartbeatInterval) with the record held for it, so it refutes too.
// Quarantine is per (authority, incarnation), so refutations pass.
//
// A healed partition must not kill the living: each side holds the other's
// members Dead. A Dead record that arrives in a repair (an anti-entropy
// answer, or a member telling what it remembers) about a member held active
// is taken as a suspicion, not a death: the suspect is told and refutes, and
// only if it does not in the suspicion's timeout does this node declare it
// Dead itself (memberlist merges a dead state from a push-pull as a
// suspicion for the same reason). A member that learns it was declared Dead
// was cut off: it gossips no more deaths, its detector watches every member
// afresh, and it declares none of its suspicions Dead itself. And a member
// that heard nothing for a while gives no verdict for one HeartbeatInterval
// after it hears again: the first message after a silence is often the end
// of a partition.
//
// A joiner whose seeds were on the other side gets their verdicts about
// members it has not heard of yet in the seeds' join replies: a Dead
// tombstone of a join reply is taken only after PhiAcceptablePause +
// SuspicionMinTimeout (the least time a correct verdict takes), and not if
// the member turned up active meanwhile (a death that was real then comes
// as a repair, which is checked as above).
//
// # Tombstones and quarantine
//
// Dead and Removed records are pruned after TombstoneRetention; quarantine
// entries expire after QuarantineTTL and are reported with
// QuarantineEvent.Expired. The instances remembered past their tombstones
// (above) keep a pruned member from coming back: an active record of a
// remembered instance at its incarnation or below is refused, and its sender
// is told the tombstone, so a node that slept through the death learns it. A
// client only pulls: it answers no anti-entropy Want and gossips nothing,
// since its view may be of any age.
//
// # Events
//
// Every change of the table a subscriber would follow is one MemberEvent, in
// the order it happened, so that keeping the latest Record per authority
// rebuilds the table: a member new to this node is From 0; the same
// instance back from a tombstone is From that tombstone (a refuted death is
// Dead → Up); a new instance taking an authority over from a live one is
// first reported gone (the old instance, To Dead, Replaced) and then new; a
// metadata change is an update (From == To). Pruning a tombstone emits
// nothing.
//
// # Topology
//
// Member changes mark the view dirty; Poll emits a TopologyUpdate at most once
// per TopologyEmitInterval, when the active set changed. Its Joined, Left
// and Dead name the other members only.
//
// # Address validation
//
// Anyone can send a datagram with any source address and name any sender in
// it, so that a reply larger than its request would turn the cluster into an
// amplifier against a third party. So every reply goes to the transport-level
// source of what it answers (GossipInbound.Source), never to the address a
// message names, and a source that has not proven it receives there gets at
// most one reply to a message, no larger than the message (by
// GossipInbound.Size, else EstimateSize) — otherwise nothing, counted in
// CoordinatorStats.RepliesWithheld. Notices to a member held, sending from
// its own authority, where this node sends anyway, are exempt (they are
// limited to one per HeartbeatInterval per target).
//
// A source proves its address with a cookie, as DTLS's HelloVerifyRequest
// and QUIC's Retry do: a join request or a digest without a valid one is
// answered with a MessageCookie carrying 8 bytes of HMAC-SHA256 of the
// source address and the time epoch, under a key drawn (from a generator
// seeded by Config.Rand) afresh every epoch of 6 × AntiEntropyInterval; a
// cookie is accepted during its epoch and the next, and nothing is stored
// per source. The requester repeats its request with the cookie in
// Message.Cookie and gets the full answer at that source: the view, or the
// records and Want of the differing buckets, whose first part carries a
// fresh cookie when the one presented is of the previous epoch. A request
// sent without a cookie carries filler in Message.Cookie, so that the
// challenge is no larger than it. A requester keeps the cookies peers gave
// it in answer to its own requests (a challenge or a fresh cookie is taken
// only when it names a request in flight, by its random number), by the
// authority it sent to, and presents them in its next requests: members
// validate one another in passing, and a digest between members whose
// views agree is answered in full without a challenge, its answer being
// smaller than it. Heartbeats carry no cookie.
//
// A validated request is answered in full at most once (a replay of it from
// the same address within the cookie's lifetime is not), at most once per
// half JoinRetryInterval (joins) or four times per GossipInterval (digests)
// per source, and within a global rate of 256 per JoinRetryInterval (joins)
// or per GossipInterval (digests) with bursts of 1,024; challenges are
// limited to four per source per GossipInterval. What a limit refuses is
// counted in CoordinatorStats.RepliesLimited. Every per-source limit, and the
// log of requests answered, holds at most 4,096 sources and is swept every
// housekeeping interval, so a flood of distinct sources cannot grow them.
package core
