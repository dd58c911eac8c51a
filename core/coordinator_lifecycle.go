package core

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// lifecycleState is the node's own record and where it stands in its life
// cycle: started as a member or a client, leaving, or stopped (the
// coordinator's state). See "Join", "Leave" and "Restart and conflicts" in
// the package documentation.
type lifecycleState struct {
	self      NodeRecord // authoritative own record while Member
	startedAt time.Time
	leaving   bool
	// metaPending: SetMeta changed the metadata while Joining; the join
	// raises the incarnation (coordinator_metadata.go).
	metaPending bool
}

// claimWindowFactor: a started node takes its authority over from another
// live instance during claimWindowFactor × AntiEntropyInterval, and yields
// after.
const claimWindowFactor = 2

// maxRefutableIncarnation is the highest incarnation of a record of this
// node's authority that it answers by raising its own above it: one below
// the largest, so that a leave can still raise it once more.
const maxRefutableIncarnation = ^uint64(0) - 1

// nextIncarnation returns i + 1, saturated at the largest incarnation: an
// incarnation never wraps round to a small number, which every member would
// take for a stale record. Every raise of this node's own incarnation goes
// through it.
func nextIncarnation(i uint64) uint64 {
	if i == math.MaxUint64 {
		return i
	}
	return i + 1
}

// LocalNode returns this node's own record. For a client, or before
// StartMember, Status is 0 and Incarnation what it last was.
func (c *MembershipCoordinator) LocalNode() NodeRecord {
	r := c.life.self.Clone()
	r.NodeID, r.Authority = c.cfg.NodeID, c.cfg.Authority
	if r.Meta == nil {
		r.Meta = slicesClone(c.cfg.Meta)
	}
	if c.state != CoordinatorMember && !c.life.leaving {
		r.Status = 0
	}
	return r
}

// StartMember makes this node a member at now: its own record enters the
// table as Joining (Up once it has joined; see HandleJoin) and the timers
// start. The record starts at Config.InitialIncarnation (1 by default); a
// start after a leave raises it above the last life's record. It returns ErrInvalidState unless the coordinator is Stopped, and
// when the last life's record cannot be superseded (its incarnation is the
// largest: incarnations saturate rather than wrap).
func (c *MembershipCoordinator) StartMember(now time.Time) (Outcome, error) {
	now = c.clock.protocol(now)
	if c.state != CoordinatorStopped {
		return Outcome{}, fmt.Errorf("%w: StartMember in state %s", ErrInvalidState, c.state)
	}
	self := NodeRecord{NodeID: c.cfg.NodeID, Authority: c.cfg.Authority, Status: StatusJoining,
		Incarnation: max(1, c.cfg.InitialIncarnation), Meta: slicesClone(c.cfg.Meta)}
	if old, ok := c.table.Get(c.cfg.Authority); ok {
		// A start after a leave: above the last life's record.
		self.Incarnation = max(self.Incarnation, nextIncarnation(old.Incarnation))
		if !self.Supersedes(old) {
			return Outcome{}, fmt.Errorf("%w: StartMember: this node's last record (%s at incarnation %d) is at the largest incarnation and cannot be superseded; start a new coordinator",
				ErrInvalidState, old.Status, old.Incarnation)
		}
	}
	c.life.self = self
	c.state, c.life.leaving, c.life.startedAt = CoordinatorMember, false, now
	c.join.joined = false
	c.detect.startHeartbeatSeq(now, c.cfg.HeartbeatInterval)
	if _, err := c.table.Merge(now, c.life.self); err != nil {
		c.state = CoordinatorStopped
		return Outcome{}, err
	}
	c.startTimers(now)
	c.drain(now, gossipOn)
	return c.take(), nil
}

// StartClient makes this node an observer at now: it keeps a view of the
// cluster (join a seed with HandleJoin) without a record of its own. It
// returns ErrInvalidState unless the coordinator is Stopped.
func (c *MembershipCoordinator) StartClient(now time.Time) (Outcome, error) {
	now = c.clock.protocol(now)
	if c.state != CoordinatorStopped {
		return Outcome{}, fmt.Errorf("%w: StartClient in state %s", ErrInvalidState, c.state)
	}
	c.state, c.life.leaving, c.life.startedAt = CoordinatorClient, false, now
	c.join.joined = false
	c.startTimers(now)
	return c.take(), nil
}

// HandleLeave starts a graceful leave: the own record turns Leaving at a
// higher incarnation and is sent at once to the monitors and GossipNodes
// random peers, and to the seeds while a join is unanswered, then
// piggybacked until LeaveDone. A member with no monitor and no peer to tell
// (the seeds aside) is done at once (LeaveDone holds on return). A client
// simply stops. It returns ErrNotStarted when Stopped and ErrInvalidState
// when already leaving.
func (c *MembershipCoordinator) HandleLeave(now time.Time) (Outcome, error) {
	now = c.clock.protocol(now)
	switch {
	case c.state == CoordinatorStopped:
		return Outcome{}, ErrNotStarted
	case c.state == CoordinatorClient:
		c.state = CoordinatorStopped
		return c.take(), nil
	case c.life.leaving:
		return Outcome{}, fmt.Errorf("%w: already leaving", ErrInvalidState)
	}
	c.observe(now)
	c.refreshRing(now) // the monitors stay as they are now until the leave is done
	c.life.leaving = true
	// A join under way: the seeds may have admitted this node already,
	// though no reply has come back yet. They are told too, or they would
	// take the node for crashed.
	var seeds []string
	if c.join.pending {
		seeds = c.join.seeds
	}
	c.join.pending = false
	c.life.self.Status = StatusLeaving
	c.life.self.Incarnation = nextIncarnation(c.life.self.Incarnation) // Leaving supersedes the active record even when saturated
	c.storeSelf(now)
	targets := slices.Clone(c.detect.monitors)
	for _, p := range c.randomPeers(c.cfg.GossipNodes) {
		if !slices.Contains(targets, p) {
			targets = append(targets, p)
		}
	}
	members := len(targets)
	for _, s := range seeds {
		if !slices.Contains(targets, s) {
			targets = append(targets, s)
		}
	}
	for _, t := range targets {
		c.sendGossip(t)
	}
	if members == 0 {
		// No member to go on telling (a cluster of one, every other member
		// gone, or a join not answered yet): the leave is done at once.
		c.state = CoordinatorStopped
	}
	return c.finish(), nil
}

// LeaveDone reports whether a graceful leave has been sent enough times (its
// record was transmitted as often as any change is, RetransmitMult ×
// ceil(log10(N+1)) times), or the coordinator is Stopped; the caller may stop
// driving it then.
func (c *MembershipCoordinator) LeaveDone() bool {
	if c.state == CoordinatorStopped {
		return true
	}
	if !c.life.leaving {
		return false
	}
	_, _, queued := c.engine.Queued(c.cfg.Authority)
	return !queued
}

// applySelfRecord reacts to a record of this node's own authority, from the
// message being handled; see "Restart and conflicts" in the package
// documentation.
func (c *MembershipCoordinator) applySelfRecord(now time.Time, r NodeRecord) {
	if c.state != CoordinatorMember {
		return
	}
	self := c.life.self
	if !r.Supersedes(self) {
		if r.NodeID == self.NodeID && (r.Status == StatusSuspect || r.Status == StatusDead) {
			c.tellSender(now, self) // the sender holds stale news of us
		}
		if r.NodeID == self.NodeID && r.Status == StatusDead {
			c.holdVerdicts(now) // our refutation has not reached everyone
		}
		return
	}
	if c.life.leaving && (r.Status == StatusRemoved || r.Status == StatusLeaving || r.Status == StatusDead) {
		return // we are going anyway
	}
	if r.NodeID == self.NodeID && r.Incarnation == self.Incarnation && r.Status == StatusUp {
		// A seed admitted us (Joining → Up): take it as it is.
		c.life.self.Status = StatusUp
		c.storeSelf(now)
		return
	}
	if r.NodeID != self.NodeID && r.Status.IsActive() && now.Sub(c.life.startedAt) >= claimWindowFactor*c.cfg.AntiEntropyInterval {
		c.yield(now, r)
		return
	}
	if r.Incarnation >= maxRefutableIncarnation {
		// Nothing this node could send would supersede it (only a forgery
		// gets here): keep our record rather than wrap the incarnation to 0.
		return
	}
	c.refute(now, r)
}

// refute raises the own incarnation above r's: a refutation when r is this
// instance's record (suspected, dead or stale), a take-over when it is
// another instance's (its tombstone, or an older instance during the claim
// window). The sender of a record of this instance is told at once.
func (c *MembershipCoordinator) refute(now time.Time, r NodeRecord) {
	if r.NodeID != c.life.self.NodeID {
		c.stats.Conflicts++
	} else if r.Status == StatusSuspect || r.Status == StatusDead {
		// Others could not hear this node: a sign of a local fault.
		c.detect.health.raise(now, 1)
	}
	if r.NodeID == c.life.self.NodeID && r.Status == StatusDead {
		c.cutOff(now)
	}
	c.stats.Refutations++
	c.life.self.Incarnation = nextIncarnation(r.Incarnation)
	if c.life.self.Status != StatusJoining && c.life.self.Status != StatusLeaving {
		c.life.self.Status = StatusUp
	}
	c.storeSelf(now)
	if r.NodeID == c.life.self.NodeID {
		c.tellSender(now, c.life.self)
		// The monitors are the members whose detectors may declare this
		// node Dead: they hear the refutation at once, not with the next
		// heartbeat (which may be lost, or come after their timeout).
		for _, m := range c.detect.monitors {
			if m != c.replyTarget() {
				c.notify(now, m, c.life.self)
			}
		}
	}
}

// yield gives the authority up to a newer instance, whose record is winner:
// a conflict event, and the coordinator stops.
func (c *MembershipCoordinator) yield(now time.Time, winner NodeRecord) {
	c.stats.Conflicts++
	self := c.life.self
	c.out.Members = append(c.out.Members, MemberEvent{Record: self.Clone(), From: self.Status, To: self.Status, At: now,
		Conflict: true, Other: winner.Clone()})
	c.state = CoordinatorStopped
	c.life.leaving = false
}

// storeSelf writes the own record into the table; it always supersedes the
// record held, by construction.
func (c *MembershipCoordinator) storeSelf(now time.Time) {
	c.takePendingMeta()
	if _, err := c.table.Merge(now, c.life.self); err != nil {
		// Only quarantine can refuse it: jump above the quarantined incarnation.
		if e, ok := c.quarantine.Lookup(c.life.self.Authority); ok {
			c.life.self.Incarnation = nextIncarnation(e.Incarnation)
			_, _ = c.table.Merge(now, c.life.self)
		}
	}
	c.drain(now, gossipOn)
}
