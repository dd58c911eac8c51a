package core

import (
	"fmt"
	"time"
)

// tombstoneState is the end of a member's life as the table keeps it: a
// graceful leave completed as Removed, a Dead instance quarantined, the
// quarantine expired and the tombstone pruned, each on its own timer. See
// "Leave" and "Tombstones and quarantine" in the package documentation.
type tombstoneState struct {
	nextHouse time.Time              // next quarantine expiry check
	nextPrune time.Time              // next tombstone prune
	past      map[string]*pastMember // members that died or left, by authority: coordinator_past.go
	held      []heldTombstone        // Dead tombstones from join replies, waiting to be taken: coordinator_past.go
}

// HandleQuarantine declares the instance (authority, incarnation) Dead on an
// operator's word: the record held for authority, if its incarnation is not
// above incarnation, turns Dead at incarnation and is gossiped, and the
// instance is quarantined for QuarantineTTL. It returns ErrNotStarted when
// Stopped and ErrInvalidState for this node's own authority.
func (c *MembershipCoordinator) HandleQuarantine(now time.Time, authority string, incarnation uint64) (Outcome, error) {
	now = c.clock.protocol(now)
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
	c.drain(now, gossipOn) // a Dead transition quarantines at its incarnation
	if !c.quarantine.Contains(authority, incarnation) {
		c.quarantineInstance(now, authority, incarnation)
	}
	return c.finish(), nil
}

// settleTombstone acts on a change of another member's record towards its
// end: a Dead instance is quarantined, and a graceful leave (Leaving)
// completes as Removed at the same incarnation.
func (c *MembershipCoordinator) settleTombstone(now time.Time, r NodeRecord) {
	if r.Authority == c.cfg.Authority {
		return
	}
	switch r.Status {
	case StatusDead:
		c.quarantineInstance(now, r.Authority, r.Incarnation)
	case StatusLeaving:
		_, _ = c.table.Transition(now, r.Authority, StatusRemoved, r.Incarnation)
	}
}

// quarantineInstance quarantines (authority, incarnation) until now +
// QuarantineTTL and reports it.
func (c *MembershipCoordinator) quarantineInstance(now time.Time, authority string, incarnation uint64) {
	until := now.Add(c.cfg.QuarantineTTL)
	c.quarantine.Quarantine(authority, incarnation, until)
	e, _ := c.quarantine.Lookup(authority)
	c.out.Quarantine = append(c.out.Quarantine, QuarantineEvent{Authority: authority, Incarnation: e.Incarnation, Until: e.Until})
}

// housekeepingInterval is how often quarantine expiry is checked.
func (c *MembershipCoordinator) housekeepingInterval() time.Duration {
	return max(c.cfg.TopologyEmitInterval, c.cfg.HeartbeatInterval)
}

// pruneInterval is how often tombstones are pruned (a full scan of the table).
func (c *MembershipCoordinator) pruneInterval() time.Duration {
	return max(c.housekeepingInterval(), c.cfg.TombstoneRetention/32)
}

// pollHousekeeping lets expired quarantine entries go and sweeps the
// per-target reply limits, when due.
func (c *MembershipCoordinator) pollHousekeeping(now time.Time) {
	if now.Before(c.tomb.nextHouse) {
		return
	}
	c.tomb.nextHouse = now.Add(c.housekeepingInterval())
	for _, e := range c.quarantine.PollExpired(now) {
		c.out.Quarantine = append(c.out.Quarantine, QuarantineEvent{Authority: e.Authority, Incarnation: e.Incarnation, Until: e.Until, Expired: true})
	}
	c.sweepLimits(now)
	c.sweepSeen(now)
}

// pollPrune drops tombstones older than TombstoneRetention, when due.
func (c *MembershipCoordinator) pollPrune(now time.Time) {
	if now.Before(c.tomb.nextPrune) {
		return
	}
	c.tomb.nextPrune = now.Add(c.pruneInterval())
	for _, r := range c.table.pruneTombstones(now, c.cfg.TombstoneRetention, c.topo.free) {
		c.removeFromBuckets(r)
	}
	c.expirePast(now)
}
