package core

import "time"

// Poll advances the coordinator to now; it is the only place time moves
// protocol state forward. It runs whatever is due: heartbeats to the
// monitors, failure-detector checks, suspicion timeouts, a gossip round,
// an anti-entropy exchange, join retries, reconnect probes, tombstone and
// quarantine expiry, and the topology update. When nothing is due it returns
// at once without allocating. A Stopped coordinator returns an empty Outcome.
//
// Call it often: at least every GossipInterval, better a few times per
// smallest interval. A gap of more than three of the smallest of
// HeartbeatInterval and GossipInterval between two calls is taken for a
// local stall (see "Local health" in the package documentation).
func (c *MembershipCoordinator) Poll(now time.Time) Outcome {
	now = c.clock.protocol(now)
	if c.state == CoordinatorStopped {
		return Outcome{}
	}
	c.observe(now)
	if now.Before(c.nextWake) {
		return Outcome{}
	}
	// The order is part of the protocol's determinism: each step may draw
	// from Config.Rand or take records from the piggyback queue.
	c.joinAlone(now)
	c.refreshRing(now)
	c.pollDetector(now)
	c.pollProbes(now)
	c.pollIntroductions(now)
	c.pollExchangeTimeout(now)
	c.pollJoinRetry(now)
	c.pollHeartbeats(now)
	c.pollGossip(now)
	c.pollDescent(now)
	c.pollAntiEntropy(now)
	c.pollReconnect(now)
	c.pollHousekeeping(now)
	c.takePendingTombstones(now)
	c.pollPrune(now)
	c.drain(now, gossipOn)
	if c.topo.due(now) {
		if u := c.topo.emit(now, c.table); u != nil {
			c.out.Topology = u
		}
	}
	if c.life.leaving && c.LeaveDone() {
		c.state = CoordinatorStopped
	}
	return c.finish()
}

// startTimers schedules every periodic task from now, each with a random
// phase so that members started together do not act in lockstep.
func (c *MembershipCoordinator) startTimers(now time.Time) {
	jitter := func(d time.Duration) time.Duration { return time.Duration(c.rng.Int64N(int64(d))) }
	c.detect.nextHB = now.Add(jitter(c.cfg.HeartbeatInterval))
	c.gossip.nextGossip = now
	c.ae.next = now.Add(c.aeInterval()/2 + jitter(c.aeInterval()))
	c.join.probe = now.Add(c.cfg.ReconnectInterval/2 + jitter(c.cfg.ReconnectInterval))
	c.tomb.nextHouse = now.Add(c.housekeepingInterval())
	c.tomb.nextPrune = now.Add(c.pruneInterval())
	c.join.seedWait = backoff{next: now.Add(c.cfg.ReconnectInterval), delay: c.cfg.ReconnectInterval}
	c.detect.health.observe(now, false)
}

// idleWakeFactor is how many of the smallest protocol intervals an idle
// caller may sleep: below stallFactor, with room for its own lateness. An
// agent woken every smallest interval spent about a fifth more CPU idle
// (docs/FAILURE-DETECTION.md).
const idleWakeFactor = 2

// NextDeadline returns when Poll next has work to do: the earliest of the
// next heartbeat, failure-detector check, gossip round (when something is
// queued), suspicion timeout, join retry, anti-entropy exchange or its
// timeout, descent from a summary, reconnect probe, housekeeping, pruning and topology update —
// and never later than twice the smaller of HeartbeatInterval and
// GossipInterval after the last call (a stall counts from three), so that a
// caller that sleeps until it is not taken for a stalled process (see
// "Local health" in the package documentation) and keeps a third of the
// stall threshold for its own lateness.
// Poll called before it returns at once with nothing to do. Every call
// (Start*, Handle*, Poll) may bring it forward: read it after each. A time
// not after the last call means Poll has work now. It reads two fields and
// allocates nothing. A Stopped coordinator has nothing to do: it returns the
// zero Time (check State).
func (c *MembershipCoordinator) NextDeadline() time.Time {
	if c.state == CoordinatorStopped {
		return time.Time{}
	}
	limit := c.detect.health.last.Add(idleWakeFactor * min(c.cfg.HeartbeatInterval, c.cfg.GossipInterval))
	if c.nextWake.Before(limit) {
		return c.clock.caller(c.nextWake)
	}
	return c.clock.caller(limit)
}

// scheduleWake computes the earliest time Poll has anything to do.
func (c *MembershipCoordinator) scheduleWake() {
	c.scheduleCheck(c.detect.health.last)
	w := c.ae.next
	consider := func(t time.Time) {
		if t.Before(w) {
			w = t
		}
	}
	if !c.detect.nextCheck.IsZero() {
		consider(c.detect.nextCheck)
	}
	now := time.Time{} // before any deadline: Poll has work at once
	if c.state == CoordinatorMember {
		consider(c.detect.nextHB)
	}
	if c.waitingAlone() {
		consider(now)
	}
	if c.engine.Pending() > 0 || len(c.user.queue) > 0 {
		consider(c.gossip.nextGossip)
		if c.gossip.urgent {
			consider(c.urgentGossipAt())
		}
	}
	if !c.detect.suspNext.IsZero() {
		consider(c.detect.suspNext)
	}
	if !c.detect.probes.next.IsZero() {
		consider(c.detect.probes.next)
	}
	if !c.detect.intro.next.IsZero() {
		consider(c.detect.intro.next)
	}
	if c.join.pending {
		consider(c.join.next)
	}
	if until, ok := c.engine.ExchangeDeadline(); ok {
		consider(until)
	}
	if due, ok := c.descentDue(); ok {
		consider(due)
	}
	consider(c.join.probe)
	consider(c.tomb.nextHouse)
	consider(c.tomb.nextPrune)
	if due, ok := c.nextHeldTombstone(); ok {
		consider(due)
	}
	if c.topo.dirty {
		consider(c.topo.nextEmit)
	}
	if c.life.leaving && c.LeaveDone() {
		// The leave was sent often enough during a call other than Poll:
		// Poll stops the coordinator. Until then the leave is queued, and
		// the next gossip round (considered above) carries it.
		consider(now)
	}
	c.nextWake = w
}
