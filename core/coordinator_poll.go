package core

import (
	"slices"
	"time"
)

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
// local stall (see "Local health").
func (c *MembershipCoordinator) Poll(now time.Time) Outcome {
	if c.state == CoordinatorStopped {
		return Outcome{}
	}
	c.observe(now)
	if now.Before(c.nextWake) {
		return Outcome{}
	}
	if c.state == CoordinatorMember && c.self.Status == StatusJoining && !c.joinPending {
		c.joined(now) // started with no join: a cluster of one
	}
	c.refreshRing(now)
	if !now.Before(c.nextCheck) {
		c.nextCheck = now.Add(c.checkInterval())
		c.checkDetector(now)
	}
	if !c.suspNext.IsZero() && !now.Before(c.suspNext) {
		c.expireSuspicions(now)
	}
	if c.engine.Expire(now) {
		c.nextAE = c.nextAntiEntropy(now)
	}
	if c.joinPending && !now.Before(c.nextJoin) {
		c.sendJoinRequests(now)
	}
	if c.state == CoordinatorMember && !now.Before(c.nextHB) {
		c.nextHB = now.Add(c.cfg.HeartbeatInterval)
		c.sendHeartbeats()
	}
	if !now.Before(c.nextGossip) && c.engine.Pending() > 0 {
		c.nextGossip = now.Add(c.cfg.GossipInterval)
		c.gossipRound()
	}
	if !now.Before(c.nextAE) {
		c.nextAE = c.nextAntiEntropy(now)
		c.startAntiEntropy(now)
		if c.joinRepairs > 0 {
			c.joinRepairs--
			c.scheduleJoinRepair(now)
		}
	}
	if !now.Before(c.nextProbe) {
		c.nextProbe = now.Add(c.cfg.ReconnectInterval)
		c.reconnect(now)
	}
	if !now.Before(c.nextHouse) {
		c.nextHouse = now.Add(c.housekeepingInterval())
		c.housekeeping(now)
	}
	if !now.Before(c.nextPrune) {
		c.nextPrune = now.Add(c.pruneInterval())
		c.prune(now)
	}
	c.drain(now)
	if c.topo.due(now) {
		if u := c.topo.emit(now, c.table.Active(), c.table.Get); u != nil {
			c.out.Topology = u
		}
	}
	if c.leaving && c.LeaveDone() {
		c.state = CoordinatorStopped
	}
	return c.finish()
}

// NextDeadline returns when Poll next has work to do: the earliest of the
// next heartbeat, failure-detector check, gossip round (when something is
// queued), suspicion timeout, join retry, anti-entropy exchange or its
// timeout, reconnect probe, housekeeping, pruning and topology update —
// and never later than the smaller of HeartbeatInterval and GossipInterval
// after the last call, so that a caller that sleeps until it is not taken
// for a stalled process (see "Local health"). Poll called before it returns
// at once with nothing to do. Every call (Start*, Handle*, Poll) may bring
// it forward: read it after each. A time not after the last call means Poll
// has work now. It reads two fields and allocates nothing. A Stopped
// coordinator has nothing to do: it returns the zero Time (check State).
func (c *MembershipCoordinator) NextDeadline() time.Time {
	if c.state == CoordinatorStopped {
		return time.Time{}
	}
	limit := c.health.last.Add(min(c.cfg.HeartbeatInterval, c.cfg.GossipInterval))
	if c.nextWake.Before(limit) {
		return c.nextWake
	}
	return limit
}

// scheduleWake computes the earliest time Poll has anything to do.
func (c *MembershipCoordinator) scheduleWake() {
	w := c.nextCheck
	consider := func(t time.Time) {
		if t.Before(w) {
			w = t
		}
	}
	if c.state == CoordinatorMember {
		consider(c.nextHB)
		if c.self.Status == StatusJoining && !c.joinPending {
			consider(time.Time{})
		}
	}
	if c.engine.Pending() > 0 {
		consider(c.nextGossip)
	}
	if !c.suspNext.IsZero() {
		consider(c.suspNext)
	}
	if c.joinPending {
		consider(c.nextJoin)
	}
	if _, _, ok := c.engine.Exchange(); ok {
		consider(c.engine.exchangeEnd)
	}
	consider(c.nextAE)
	consider(c.nextProbe)
	consider(c.nextHouse)
	consider(c.nextPrune)
	if c.topo.dirty {
		consider(c.topo.nextEmit)
	}
	if c.leaving {
		consider(time.Time{})
	}
	c.nextWake = w
}

// observe feeds the call time to the local-health tracker: a late call is a
// local stall, forgiven in the detector.
func (c *MembershipCoordinator) observe(now time.Time) {
	if gap := c.health.observe(now); gap > 0 {
		c.stats.StallsForgiven++
		c.detector.Forgive(gap)
		// Suspicions held here must not time out because of our own stall.
		for _, s := range c.susp {
			s.start = s.start.Add(gap)
		}
		c.updateSuspicionDeadline()
	}
}

// sendHeartbeats sends a heartbeat, with piggybacked gossip, to each monitor.
// The table hash rides on every other round, and on any round where it
// changed since it was last sent: monitors still compare views about once
// per two heartbeat intervals in steady state and at once after a change,
// and a steady-state heartbeat is 9 bytes shorter half the time.
func (c *MembershipCoordinator) sendHeartbeats() {
	if !c.self.Status.IsActive() {
		return
	}
	c.hbSeq++
	h := c.table.Hash()
	withHash := c.hbSeq%2 == 0 || h != c.hbHash
	if withHash {
		c.hbHash = h
	}
	for _, t := range c.monitors {
		m := c.newMessage(MessageHeartbeat)
		m.Seq = c.hbSeq
		if withHash {
			m.Digest = []uint64{h}
		}
		c.piggyback(&m)
		c.send(t, m)
		c.stats.HeartbeatsSent++
	}
}

// gossipRound sends a gossip message to GossipNodes random peers.
func (c *MembershipCoordinator) gossipRound() {
	for _, p := range c.randomPeers(c.cfg.GossipNodes) {
		if !c.sendGossip(p) {
			return
		}
	}
}

// nextAntiEntropy is when the periodic exchange after one at now is due:
// aeInterval on average, drawn uniformly from ±25% around it, so that members
// whose timers were aligned (say, by joining together and running their early
// post-join exchanges at the same moment) drift apart rather than all sending
// digests in the same second.
func (c *MembershipCoordinator) nextAntiEntropy(now time.Time) time.Time {
	d := c.aeInterval()
	return now.Add(d*3/4 + time.Duration(c.rng.Int64N(int64(d/2)+1)))
}

// startAntiEntropy sends a digest of the table to one random peer.
func (c *MembershipCoordinator) startAntiEntropy(now time.Time) {
	if _, _, busy := c.engine.Exchange(); busy {
		return
	}
	peers := c.randomPeers(1)
	if len(peers) == 0 {
		return
	}
	c.exchangeWith(now, peers[0])
}

// exchangeWith sends peer a digest of the table, starting an exchange.
func (c *MembershipCoordinator) exchangeWith(now time.Time, peer string) {
	c.aeSeq++
	c.resizeBuckets()
	m := c.newMessage(MessageDigest)
	m.Seq = c.aeSeq
	m.Digest = slices.Clone(c.buckets)
	c.send(peer, m)
	c.engine.StartExchange(peer, c.aeSeq, now.Add(c.aeInterval()/2))
	c.stats.AntiEntropyRounds++
}

// resizeBuckets fits the digest's bucket count to the table before a new
// exchange: it grows as soon as the table outgrows it, and shrinks only once
// the table fits a quarter of it, so a table whose size hovers around a
// boundary does not flip the count (and recompute the sums) every exchange.
func (c *MembershipCoordinator) resizeBuckets() {
	want := BucketsFor(c.table.Len(), c.maxBuckets)
	if want == c.nbuckets || (want < c.nbuckets && 4*want > c.nbuckets) {
		return
	}
	c.nbuckets = want
	c.buckets = Digest(c.table.Snapshot(), want)
	c.bucketsSince = c.aeSeq
}

// reconnect probes one Dead member whose backoff has passed, and the seeds
// when no live peer is known.
func (c *MembershipCoordinator) reconnect(now time.Time) {
	if c.state == CoordinatorMember && len(c.peers) == 0 && len(c.seeds) > 0 && !c.joinPending && !c.leaving {
		if !now.Before(c.seedBackoff.next) {
			c.seedBackoff.delay = min(2*c.seedBackoff.delay, maxReconnectBackoff*c.cfg.ReconnectInterval)
			c.seedBackoff.next = now.Add(c.seedBackoff.delay)
			c.joinSeq++
			for _, s := range c.seeds {
				c.sendJoinRequest(s)
				c.stats.ReconnectProbes++
			}
		}
	}
	if len(c.dead) == 0 || c.state != CoordinatorMember || c.leaving {
		return
	}
	var due []string
	for a, b := range c.dead {
		if !now.Before(b.next) {
			due = append(due, a)
		}
	}
	if len(due) == 0 {
		return
	}
	slices.Sort(due)
	target := due[c.rng.IntN(len(due))]
	b := c.dead[target]
	b.delay = min(2*b.delay, maxReconnectBackoff*c.cfg.ReconnectInterval)
	b.next = now.Add(b.delay)
	r, ok := c.table.Get(target)
	if !ok {
		delete(c.dead, target)
		return
	}
	c.sendRecords(target, []NodeRecord{c.self.Clone(), r})
	c.stats.ReconnectProbes++
}

// housekeeping lets expired quarantine entries go and forgets old notices.
func (c *MembershipCoordinator) housekeeping(now time.Time) {
	for _, e := range c.quarantine.PollExpired(now) {
		c.out.Quarantine = append(c.out.Quarantine, QuarantineEvent{Authority: e.Authority, Incarnation: e.Incarnation, Until: e.Until, Expired: true})
	}
	if len(c.lastNotice) > 0 && !now.Before(c.noticeSweep) {
		c.noticeSweep = now.Add(c.cfg.AntiEntropyInterval)
		for a, t := range c.lastNotice {
			if now.Sub(t) > c.cfg.HeartbeatInterval {
				delete(c.lastNotice, a)
			}
		}
	}
}

// prune drops tombstones older than TombstoneRetention.
func (c *MembershipCoordinator) prune(now time.Time) {
	for _, r := range c.table.PruneTombstones(now, c.cfg.TombstoneRetention) {
		c.buckets[digestBucket(r.Authority, c.nbuckets)] -= RecordHash(r)
		delete(c.dead, r.Authority)
	}
}
