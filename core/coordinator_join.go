package core

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// joinState is joining and reconnecting: the seeds, the join requests
// retried until one answers, the early anti-entropy exchanges after a join,
// and the reconnect probes to members that died (remembered in
// c.tomb.past, coordinator_past.go) and to the seeds. See "Join" and
// "Partition heal" in the package documentation.
type joinState struct {
	seeds    []string
	pending  bool                   // join requests sent and not answered yet
	joined   bool                   // a seed answered (or there was none) since the start
	seq      uint64                 // number of the last round of join requests, drawn at random
	rounds   [joinRoundsKept]uint64 // numbers of the last rounds, seq included, whose replies are still taken (answered)
	nextSlot int                    // slot of rounds the next round's number goes to
	resent   map[string]uint64      // seeds sent the request again with their cookie, and in which round
	next     time.Time              // next retry of the join requests
	repairs  int                    // early anti-entropy exchanges still to run after joining
	seedWait backoff                // reconnect schedule of the seeds
	probe    time.Time              // next reconnect probe
}

func newJoinState() joinState {
	return joinState{}
}

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
// both sides, so the stragglers are found soon after the join rather than at
// the next periodic exchange. Several exchanges one round apart find them
// sooner than fewer exchanges further apart, or a single later one
// (BENCHMARKS.md, "Simulator figures behind core's constants").
const joinRepairCount = 6

// HandleJoin contacts seeds with join requests, and again every
// JoinRetryInterval until one answers (and later, with backoff, whenever this
// node sees no live peer). Seeds equal to this node's authority are ignored;
// with none left, a member is Up at once. It returns ErrNotStarted when the
// coordinator is Stopped.
func (c *MembershipCoordinator) HandleJoin(now time.Time, seeds []string) (Outcome, error) {
	now = c.clock.protocol(now)
	if c.state == CoordinatorStopped {
		return Outcome{}, ErrNotStarted
	}
	c.observe(now)
	list, _ := c.seedList(seeds)
	if len(list) == 0 {
		c.joined(now)
		return c.finish(), nil
	}
	c.join.seeds = list
	c.join.pending = true
	c.sendJoinRequests(now)
	return c.finish(), nil
}

// SetSeeds replaces the seeds' addresses that join retries and reconnect
// probes go to, without sending anything unless a join is waiting with no
// address to send to: then the join requests go out at once. It serves a
// driver that resolves seeds given by name again before each attempt (their
// addresses change, as a Kubernetes headless service's do). Addresses equal
// to this node's are dropped.
//
// On a coordinator that has not joined yet (no seed has answered since it
// started) it starts a join if none is under way, and the join goes on,
// retried every JoinRetryInterval, until a seed answers. Unlike HandleJoin,
// an empty list never makes a member Up alone: the join waits, Joining,
// until a later SetSeeds or HandleJoin gives it an address (the seeds' names
// do not resolve yet). A list of this node's own address only does: the
// node is the first member of its cluster. On a coordinator that has
// joined, only the reconnect probes' targets change. It returns
// ErrNotStarted when the coordinator is Stopped.
func (c *MembershipCoordinator) SetSeeds(now time.Time, seeds []string) (Outcome, error) {
	now = c.clock.protocol(now)
	if c.state == CoordinatorStopped {
		return Outcome{}, ErrNotStarted
	}
	c.observe(now)
	list, self := c.seedList(seeds)
	waiting := c.join.pending && len(c.join.seeds) == 0
	c.join.seeds = list
	switch {
	case c.join.joined || c.life.leaving:
	case len(list) == 0 && self:
		c.joined(now)
	case !c.join.pending || waiting:
		c.join.pending = true
		c.sendJoinRequests(now)
	}
	return c.finish(), nil
}

// seedList returns seeds without duplicates, empty strings and this node's
// own authority, and whether that authority was among them.
func (c *MembershipCoordinator) seedList(seeds []string) (list []string, self bool) {
	for _, s := range seeds {
		switch {
		case s == c.cfg.Authority:
			self = true
		case s != "" && !slices.Contains(list, s):
			list = append(list, s)
		}
	}
	return list, self
}

// joinAlone makes a member that was started without being asked to join
// before its first Poll Up: a cluster of one.
func (c *MembershipCoordinator) joinAlone(now time.Time) {
	if c.waitingAlone() {
		c.joined(now)
	}
}

// waitingAlone reports whether this member is Joining with no join under way.
func (c *MembershipCoordinator) waitingAlone() bool {
	return c.state == CoordinatorMember && c.life.self.Status == StatusJoining && !c.join.pending
}

// pollJoinRetry sends the join requests again when no seed has answered in
// JoinRetryInterval.
func (c *MembershipCoordinator) pollJoinRetry(now time.Time) {
	if c.join.pending && !now.Before(c.join.next) {
		c.sendJoinRequests(now)
	}
}

// sendJoinRequests sends one join request to every seed, if there is any,
// and schedules the retry.
func (c *MembershipCoordinator) sendJoinRequests(now time.Time) {
	c.join.next = now.Add(c.cfg.JoinRetryInterval)
	if len(c.join.seeds) == 0 {
		return
	}
	c.newJoinRound()
	c.stats.JoinAttempts++
	for _, s := range c.join.seeds {
		c.sendJoinRequest(s)
	}
}

// newJoinRound numbers a new round of join requests, at random: a seed's
// cookie challenge is taken only when it names the round in flight, which
// a stranger cannot guess.
func (c *MembershipCoordinator) newJoinRound() {
	j := &c.join
	j.seq = randomSeq(c.rng)
	j.rounds[j.nextSlot%joinRoundsKept] = j.seq
	j.nextSlot++
	clear(j.resent)
}

// joinRoundsKept is how many of the last rounds of join requests a seed's
// reply may answer and still be taken whole: on a slow path a reply comes
// after the retry that started the next round (JoinRetryInterval later).
const joinRoundsKept = 4

// answered reports whether seq numbers one of the last joinRoundsKept rounds
// of join requests this node sent.
func (j *joinState) answered(seq uint64) bool {
	return seq != 0 && slices.Contains(j.rounds[:], seq)
}

// randomSeq draws the number of a request (a join round, an anti-entropy
// exchange): not zero, and at most 32 bits, so that it costs five bytes on
// the wire.
func randomSeq(rng *rand.Rand) uint64 {
	return 1 + uint64(rng.Uint32N(math.MaxUint32))
}

// sendJoinRequest sends seed a join request of the round in flight, with
// the cookie seed gave this node, if any.
func (c *MembershipCoordinator) sendJoinRequest(seed string) {
	m := c.newMessage(MessageJoinRequest)
	m.Seq = c.join.seq
	if c.state == CoordinatorMember {
		m.Entries = []NodeRecord{c.life.self.Clone()}
	}
	id, _, _ := c.table.Instance(seed)
	c.requestCookie(&m, seed, id)
	c.send(seed, m)
	c.stats.JoinRequestsSent++
}

// joinSeedOf returns the seed a reply to a join request came from: the seed
// its source or its sender's authority is, if any.
func (c *MembershipCoordinator) joinSeedOf(in GossipInbound) (string, bool) {
	for _, s := range c.join.seeds {
		if s == in.Source || s == in.Message.From {
			return s, true
		}
	}
	return "", false
}

// takeJoinChallenge takes a seed's cookie challenge to one of the last
// rounds of join requests (on a slow path it may come after the next round
// started): the cookie is kept, and the seed is sent the request of the
// round in flight again with it, once per round.
func (c *MembershipCoordinator) takeJoinChallenge(now time.Time, in GossipInbound) bool {
	j := &c.join
	seed, ok := c.joinSeedOf(in)
	if !ok || !j.answered(in.Message.Seq) {
		return false
	}
	c.keepCookie(now, seed, in.Message.Cookie)
	if r, sent := j.resent[seed]; sent && r == j.seq {
		return true // the request with the cookie was challenged too: wait for the next round
	}
	if j.resent == nil {
		j.resent = map[string]uint64{}
	}
	j.resent[seed] = j.seq
	c.sendJoinRequest(seed)
	return true
}

// takeJoinReplyCookie keeps the fresh cookie a seed's join reply carries.
func (c *MembershipCoordinator) takeJoinReplyCookie(now time.Time, in GossipInbound) {
	if len(in.Message.Cookie) == 0 || !c.join.answered(in.Message.Seq) {
		return
	}
	if seed, ok := c.joinSeedOf(in); ok {
		c.keepCookie(now, seed, in.Message.Cookie)
	}
}

// joined ends the join: no more retries, and a Joining member turns Up.
func (c *MembershipCoordinator) joined(now time.Time) {
	if c.join.pending {
		// Changes that happened while the seed's view travelled are repaired
		// by early anti-entropy exchanges, once gossip has had its go.
		c.join.repairs = joinRepairCount
		c.scheduleJoinRepair(now)
	}
	c.join.pending = false
	c.join.joined = true
	if c.state == CoordinatorMember && c.life.self.Status == StatusJoining {
		c.life.self.Status = StatusUp
		c.storeSelf(now)
	}
}

// nextJoinRepair counts an anti-entropy exchange just started against the
// early post-join exchanges, and schedules the next one if any is left.
func (c *MembershipCoordinator) nextJoinRepair(now time.Time) {
	if c.join.repairs > 0 {
		c.join.repairs--
		c.scheduleJoinRepair(now)
	}
}

// scheduleJoinRepair brings the next anti-entropy exchange forward to
// joinRepairRounds gossip intervals (plus jitter) from now, if one of the
// early post-join exchanges is left.
func (c *MembershipCoordinator) scheduleJoinRepair(now time.Time) {
	if c.join.repairs <= 0 {
		return
	}
	early := now.Add(joinRepairRounds*c.cfg.GossipInterval + time.Duration(c.rng.Int64N(int64(c.cfg.GossipInterval))))
	if early.Before(c.ae.next) {
		c.ae.next = early
	}
}

// admit accepts a joiner: a member that sent its own record as Joining is
// made Up at that incarnation (as Akka's leader moves Joining to Up), so the
// cluster gossips one record per joiner, not two. The joiner itself turns Up
// at the same incarnation when the reply arrives: the same record.
func (c *MembershipCoordinator) admit(now time.Time, m Message) {
	if c.state != CoordinatorMember {
		return
	}
	if c.life.self.Status == StatusJoining && !c.join.pending {
		c.joined(now) // the first member of a cluster, asked before its first Poll
	}
	if r, ok := c.table.Get(m.From); ok && r.NodeID == m.FromID && r.Status == StatusJoining {
		if _, err := c.table.Transition(now, m.From, StatusUp, r.Incarnation); err == nil {
			c.drain(now, gossipOn)
		}
	}
}

// serveJoin answers a join request with this node's view: every record,
// tombstones included (a joiner learns the deaths it missed: see
// takeTombstones), over as many replies as needed,
// sent to the request's source. A source that has not proven it receives
// there is sent a cookie challenge instead; a validated one gets the view
// within the reply limits.
func (c *MembershipCoordinator) serveJoin(now time.Time, m Message) {
	if !c.reply.in.validated {
		c.challenge(now, m)
		return
	}
	if !c.mayAnswerInFull(now, m) {
		return
	}
	view := c.table.snapshotShared() // the tombstones too: see takeTombstones
	base := c.newMessage(MessageJoinReply)
	base.Seq = m.Seq
	base.Cookie = c.freshCookie(now)
	target := c.replyTarget()
	for _, reply := range packShared(base, view, c.cfg.MaxMessageBytes, true) {
		c.send(target, reply)
	}
	c.stats.JoinRequestsServed++
}

// pollReconnect probes, every ReconnectInterval, one member that died whose
// backoff has passed, and the seeds that are not in the active view (see
// probeSeeds).
func (c *MembershipCoordinator) pollReconnect(now time.Time) {
	if now.Before(c.join.probe) {
		return
	}
	c.join.probe = now.Add(c.cfg.ReconnectInterval)
	c.probeSeeds(now)
	c.probeDead(now)
}

// probeSeeds sends join requests to seeds that are not in the active view:
// to all of them, with doubling backoff, while this member knows no live
// peer (a partition took every peer away); else to one of them at a time,
// every maxReconnectBackoff ReconnectIntervals on average (jittered by
// ±50 %), so that a partition heals through the seeds even once the members
// on the other side are forgotten.
func (c *MembershipCoordinator) probeSeeds(now time.Time) {
	j := &c.join
	if c.state != CoordinatorMember || len(j.seeds) == 0 || j.pending || c.life.leaving || now.Before(j.seedWait.next) {
		return
	}
	slowest := maxReconnectBackoff * c.cfg.ReconnectInterval
	if c.gossip.peers.len() == 0 {
		j.seedWait.delay = min(2*j.seedWait.delay, slowest)
		j.seedWait.next = now.Add(j.seedWait.delay)
		c.newJoinRound()
		c.stats.JoinAttempts++
		for _, s := range j.seeds {
			c.sendJoinRequest(s)
			c.stats.ReconnectProbes++
		}
		return
	}
	j.seedWait.next = now.Add(slowest/2 + time.Duration(c.rng.Int64N(int64(slowest)+1)))
	var away []string
	for _, s := range j.seeds {
		if r, ok := c.table.Get(s); !ok || !r.Status.IsActive() {
			away = append(away, s)
		}
	}
	if len(away) == 0 {
		return
	}
	c.newJoinRound()
	c.stats.JoinAttempts++
	c.sendJoinRequest(away[c.rng.IntN(len(away))])
	c.stats.ReconnectProbes++
}

// probeDead sends one random member that died, whose backoff has passed,
// this node's record and the record held (or remembered) for it, so that a
// live target learns it was declared Dead and refutes, and learns of this
// node. The backoff doubles from ReconnectInterval up to
// maxReconnectBackoff times that; the member is probed until it is active
// again, leaves, or is forgotten (ReconnectTimeout after its death).
func (c *MembershipCoordinator) probeDead(now time.Time) {
	if len(c.tomb.past) == 0 || c.state != CoordinatorMember || c.life.leaving {
		return
	}
	var due []string
	for a, p := range c.tomb.past {
		if p.probe != nil && !now.Before(p.probe.next) {
			due = append(due, a)
		}
	}
	if len(due) == 0 {
		return
	}
	slices.Sort(due)
	target := due[c.rng.IntN(len(due))]
	p := c.tomb.past[target]
	p.probe.delay = min(2*p.probe.delay, maxReconnectBackoff*c.cfg.ReconnectInterval)
	p.probe.next = now.Add(p.probe.delay)
	r, ok := c.table.Get(target)
	if !ok || r.NodeID != p.nodeID {
		r = p.tombstone(target)
	}
	c.sendRecords(target, []NodeRecord{c.life.self.Clone(), r})
	c.stats.ReconnectProbes++
}
