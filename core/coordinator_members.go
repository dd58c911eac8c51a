package core

import (
	"slices"
	"time"
)

// drain folds the table's change events into the coordinator: member events,
// the piggyback queue, the anti-entropy bucket sums, the ring and peer list,
// suspicions, quarantine and reconnect bookkeeping. A Leaving member is
// turned into Removed here, which produces one more event in the same loop.
func (c *MembershipCoordinator) drain(now time.Time) {
	for {
		events := c.table.DrainEvents()
		if len(events) == 0 {
			return
		}
		for _, ev := range events {
			c.onTableEvent(now, ev)
		}
	}
}

// onTableEvent reacts to one change of the table.
func (c *MembershipCoordinator) onTableEvent(now time.Time, ev TableEvent) {
	r := ev.Record
	if ev.Kind == TableConflict {
		if r.Authority != c.cfg.Authority {
			c.stats.Conflicts++
		}
		return
	}
	self := r.Authority == c.cfg.Authority
	// Anti-entropy bucket sums follow the table.
	b := digestBucket(r.Authority, c.nbuckets)
	if ev.HadPrevious {
		c.buckets[b] -= RecordHash(ev.Previous)
	}
	c.buckets[b] += RecordHash(r)
	// Every change is news to spread (but a seed's view, merged quietly, is
	// not news to anyone else).
	if !c.quiet || self {
		c.engine.Enqueue(r)
	}

	// Member event for a status change (or a new instance).
	from := NodeStatus(0)
	if ev.HadPrevious && ev.Previous.NodeID == r.NodeID && !ev.Previous.Status.IsTombstone() {
		from = ev.Previous.Status
	}
	if ev.HadPrevious && ev.Previous.NodeID == r.NodeID && ev.Previous.Status.IsTombstone() && r.Status.IsTombstone() {
		from = ev.Previous.Status
	}
	if from != r.Status {
		c.out.Members = append(c.out.Members, MemberEvent{Record: r.Clone(), From: from, To: r.Status, At: now})
	}
	wasActive := ev.HadPrevious && ev.Previous.Status.IsActive()
	if wasActive != r.Status.IsActive() || !ev.HadPrevious || ev.Previous.NodeID != r.NodeID {
		c.topo.touch()
	}

	// Ring: Joining, Up and Suspect members are monitored.
	switch r.Status {
	case StatusJoining, StatusUp, StatusSuspect:
		c.ring.set(r.Authority, r.NodeID)
	default:
		c.ring.remove(r.Authority)
	}
	if !self {
		if r.Status.IsActive() {
			c.addPeer(r.Authority)
		} else {
			c.removePeer(r.Authority)
		}
	}

	// Suspicions.
	if s, ok := c.susp[r.Authority]; ok && (r.Status != StatusSuspect || r.Incarnation != s.incarnation) {
		if r.Incarnation > s.incarnation && r.Status.IsActive() {
			c.stats.SuspicionsRefuted++
		}
		delete(c.susp, r.Authority)
		c.updateSuspicionDeadline()
	}
	if r.Status == StatusSuspect && !self {
		if _, ok := c.susp[r.Authority]; !ok {
			c.susp[r.Authority] = &suspicion{incarnation: r.Incarnation, start: now, local: c.unreachable[r.Authority]}
			c.updateSuspicionDeadline()
		}
	}

	// Tombstones and the dead.
	switch {
	case self:
	case r.Status == StatusDead:
		c.forget(r.Authority)
		c.quarantineInstance(now, r.Authority, r.Incarnation)
		c.dead[r.Authority] = &backoff{next: now.Add(c.cfg.ReconnectInterval), delay: c.cfg.ReconnectInterval}
	case r.Status == StatusRemoved:
		c.forget(r.Authority)
		delete(c.dead, r.Authority)
	case r.Status == StatusLeaving:
		c.forget(r.Authority)
		// A graceful leave completes as Removed at the same incarnation.
		_, _ = c.table.Transition(now, r.Authority, StatusRemoved, r.Incarnation)
	default:
		delete(c.dead, r.Authority)
	}
}

// forget stops following authority in the failure detector.
func (c *MembershipCoordinator) forget(authority string) {
	c.detector.Remove(authority)
	delete(c.unreachable, authority)
	delete(c.deferred, authority)
	delete(c.silent, authority)
	delete(c.hbSeen, authority)
}

// addPeer adds authority to the peer list (O(1); the order is arbitrary but
// deterministic, which is all random selection needs).
func (c *MembershipCoordinator) addPeer(authority string) {
	if _, ok := c.peerIndex[authority]; ok {
		return
	}
	c.peerIndex[authority] = len(c.peers)
	c.peers = append(c.peers, authority)
}

// removePeer deletes authority from the peer list, moving the last peer into
// its place.
func (c *MembershipCoordinator) removePeer(authority string) {
	i, ok := c.peerIndex[authority]
	if !ok {
		return
	}
	last := len(c.peers) - 1
	c.peers[i] = c.peers[last]
	c.peerIndex[c.peers[i]] = i
	c.peers = c.peers[:last]
	delete(c.peerIndex, authority)
}

// refreshRing recomputes the monitors and the watched members when the ring
// changed. A member newly watched starts with a synthetic heartbeat at the
// time it is first watched, so a member that is already silent is still
// detected; a member no longer watched leaves the detector.
func (c *MembershipCoordinator) refreshRing(now time.Time) {
	if c.ring.version == c.ringSeen {
		return
	}
	c.ringSeen = c.ring.version
	if c.leaving {
		// A leaving member keeps heartbeating the monitors it had (so they
		// do not suspect it before the leave reaches them) and watches no one.
		c.setWatched(now, nil)
		return
	}
	c.monitors = c.monitors[:0]
	if c.state != CoordinatorMember || !c.ring.contains(c.cfg.Authority) {
		c.setWatched(now, nil)
		return
	}
	c.monitors = c.ring.successors(c.monitors, c.cfg.Authority, c.cfg.MonitorCount)
	c.setWatched(now, c.ring.predecessors(nil, c.cfg.Authority, c.cfg.MonitorCount))
}

// setWatched replaces the watched set.
func (c *MembershipCoordinator) setWatched(now time.Time, next []string) {
	for _, a := range c.watched {
		if !slices.Contains(next, a) {
			c.forget(a)
		}
	}
	for _, a := range next {
		if !slices.Contains(c.watched, a) {
			c.detector.Heartbeat(a, now)
			c.silent[a] = now
		}
	}
	c.watched = next
}

// isWatched reports whether this node's detector follows authority.
func (c *MembershipCoordinator) isWatched(authority string) bool {
	return slices.Contains(c.watched, authority)
}
