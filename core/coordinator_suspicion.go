package core

import (
	"math"
	"slices"
	"time"
)

// This file is the suspicion half of failure detection (detectionState):
// raising a suspicion when the detector loses a member, confirming it as
// other members report it, declaring the member Dead when it times out, and
// telling nodes what this node holds about them so that a live one refutes.

// suspect marks a watched member Suspect at its current incarnation (or
// joins an existing suspicion as a local one, gossiping the record again so
// that this node's accusation spreads) and tells the suspect.
func (c *MembershipCoordinator) suspect(now time.Time, a string) {
	r, ok := c.table.Get(a)
	if !ok || !(r.Status == StatusJoining || r.Status == StatusUp || r.Status == StatusSuspect) {
		c.forget(a)
		return
	}
	if r.Status != StatusSuspect {
		next, err := c.table.Transition(now, a, StatusSuspect, r.Incarnation)
		if err != nil {
			return
		}
		r = next
		c.stats.SuspicionsRaised++
		c.drain(now, gossipOn)
	}
	if s, ok := c.detect.susp[a]; ok {
		s.alive = time.Time{} // lost again: what showed it alive before is past
		s.heralded = true
		if !s.local {
			s.local = true
			c.engine.Enqueue(r) // now with this node among its suspectors
		}
	}
	c.notify(now, a, r)
	c.startProbes(now, r)
	c.updateSuspicionDeadline()
}

// updateSuspicion keeps the suspicions in step with the table: a suspicion
// ends when its record changes (refuted at a higher incarnation, left, or
// declared Dead), and every Suspect record of another member opens one,
// local when this node's own detector lost the member; a suspect this node
// heard from within aliveWindow is told at once.
func (c *MembershipCoordinator) updateSuspicion(now time.Time, r NodeRecord) {
	d := &c.detect
	if s, ok := d.susp[r.Authority]; ok && (r.Status != StatusSuspect || r.Incarnation != s.incarnation) {
		if r.Incarnation > s.incarnation && r.Status.IsActive() {
			c.stats.SuspicionsRefuted++
			if s.local {
				// This node could not hear a live member: a sign of a
				// local fault.
				d.health.raise(now, 1)
			}
			c.relayRefutation(r)
		}
		delete(d.susp, r.Authority)
		c.endProbes(r.Authority)
		if !c.isWatched(r.Authority) {
			delete(d.unreachable, r.Authority) // an unanswered introduction: see pollIntroductions
		}
		c.updateSuspicionDeadline()
	}
	if r.Status == StatusSuspect && r.Authority != c.cfg.Authority {
		if _, ok := d.susp[r.Authority]; !ok {
			d.susp[r.Authority] = &suspicion{incarnation: r.Incarnation, start: now, opened: now, local: d.unreachable[r.Authority]}
			c.updateSuspicionDeadline()
			if c.heardRecently(now, r.Authority) {
				// It was talking to this node a moment ago: it is likely
				// reachable from here, whatever cut off the node that
				// suspects it. Told once, it refutes.
				c.notify(now, r.Authority, r)
			}
		}
	}
}

// heraldSuspicion notes that r, a Suspect record, arrived here as news (a
// record to gossip on), so that the suspicion held for it at r's
// incarnation is heralded: spreading where this node is, through which the
// suspect learns it and refutes (see verdictUnheralded). A suspicion learnt
// only from repairs or a join reply (what a node held, perhaps on the far
// side of a partition) is not gossiped on, and its suspect may never have
// heard of it.
func (c *MembershipCoordinator) heraldSuspicion(r NodeRecord) {
	if s, ok := c.detect.susp[r.Authority]; ok && s.incarnation == r.Incarnation {
		s.heralded = true
	}
}

// takeAccusations counts the suspectors m names for its Suspect records as
// confirmations of the suspicions held for them at their incarnations: each
// other member once, never this node itself nor the suspect, at most
// SuspicionConfirmations. A suspicion that gained a confirmation is gossiped
// again, naming it, so that the confirmation spreads (as memberlist
// rebroadcasts a suspect message that confirmed a suspicion).
func (c *MembershipCoordinator) takeAccusations(m Message) {
	d := &c.detect
	for _, acc := range m.Accusations {
		r := m.Entries[acc.Entry] // validated: in range, Suspect
		s, ok := d.susp[r.Authority]
		if !ok || s.incarnation != r.Incarnation {
			continue
		}
		added := false
		for _, a := range acc.Suspectors {
			if i := slices.Index(s.silent, a); i >= 0 {
				s.silent = slices.Delete(s.silent, i, i+1)
			}
			if a != c.cfg.Authority && a != r.Authority && s.confirm(a, c.cfg.SuspicionConfirmations) {
				added = true
			}
		}
		if !added {
			continue
		}
		c.updateSuspicionDeadline()
		if held, ok := c.table.Get(r.Authority); ok && held.Status == StatusSuspect && held.Incarnation == s.incarnation {
			c.engine.Enqueue(held)
		}
	}
}

// suspectors returns who this node names as suspectors of the member held
// Suspect at authority and incarnation: itself when its own detector lost
// the member, then the confirmations it holds; nil when it holds no such
// suspicion.
func (c *MembershipCoordinator) suspectors(authority string, incarnation uint64) []string {
	s, ok := c.detect.susp[authority]
	if !ok || s.incarnation != incarnation {
		return nil
	}
	var out []string
	if s.local || s.probed {
		out = append(out, c.cfg.Authority)
	}
	return append(out, s.confirmers...)
}

// accuse names the suspectors of m's Suspect records in m.Accusations, as
// many as fit in MaxMessageBytes.
func (c *MembershipCoordinator) accuse(m *Message) {
	if len(c.detect.susp) == 0 {
		return
	}
	size := EstimateSize(*m)
	for i, r := range m.Entries {
		if r.Status != StatusSuspect {
			continue
		}
		names := c.suspectors(r.Authority, r.Incarnation)
		if len(names) == 0 {
			continue
		}
		acc := Accusation{Entry: uint32(i), Suspectors: names}
		// The accusation, and the growth of the field's array header
		// (from nothing for the first: the message grows by one field).
		n := len(m.Accusations)
		grow := accusationSize(acc) + arrayHeaderSize(n+1)
		if n == 0 {
			grow++
		} else {
			grow -= arrayHeaderSize(n)
		}
		if size+grow > c.cfg.MaxMessageBytes {
			continue
		}
		m.Accusations = append(m.Accusations, acc)
		size = EstimateSize(*m)
	}
}

// reservedAccusations is how many accusations a piggybacked message keeps
// room for: more Suspect records than that in one message are rare, and
// those beyond go without their suspectors when the message is full.
const reservedAccusations = 4

// accusationReserve is the room a piggybacked message keeps for
// Accusations, so that a full message still names the suspectors of the
// Suspect records it carries: reservedAccusations (at most one per
// suspicion held) of the size of the largest accusation this node could
// make. Zero when no suspicion is held. It allocates nothing.
func (c *MembershipCoordinator) accusationReserve() int {
	d := &c.detect
	if len(d.susp) == 0 {
		return 0
	}
	largest := 0
	for _, s := range d.susp {
		names, n := len(s.confirmers), 0
		if s.local || s.probed {
			names++
			n += strSize(len(c.cfg.Authority))
		}
		for _, a := range s.confirmers {
			n += strSize(len(a))
		}
		largest = max(largest, arrayHeaderSize(2)+uintSize(math.MaxUint32)+arrayHeaderSize(names)+n)
	}
	return 6 + min(reservedAccusations, len(d.susp))*largest // 6: the field's array header, the message's growing by one field
}

// expireSuspicions acts on the local and reported suspicions whose timeout
// passed: a suspect this node's detector still does not hear (or, reported,
// does not watch) is declared Dead; one it hears again, or that showed
// itself alive here during the timeout (but never refuted), is told once
// more and given another timeout.
func (c *MembershipCoordinator) expireSuspicions(now time.Time) {
	d := &c.detect
	mult := d.health.multiplier()
	for _, a := range sortedKeys(d.susp) {
		s, ok := d.susp[a]
		if !ok || !(s.local || s.reported) {
			continue
		}
		if now.Before(c.suspicionDeadline(s, mult)) {
			continue
		}
		if (!d.unreachable[a] && c.isWatched(a)) || s.alive.After(s.start) {
			// Heard again by the detector, or shown alive during this
			// timeout (see shownAlive): not Dead. Its refutation has not
			// reached this node; it is told again, and must show itself
			// alive again during the next timeout.
			s.start, s.checks = now, 0
			if r, ok := c.table.Get(a); ok {
				c.notify(now, a, r)
			}
			continue
		}
		if now.Before(d.verdictsAfter) || now.Before(d.cutOffUntil) {
			continue // a silence just ended (see heard), or cut off (see cutOff)
		}
		if c.unheardSince(now, s.start) {
			// Nothing arrived during the whole suspicion: this node may be
			// deaf. It declares nobody Dead until it hears again.
			s.held = true
			continue
		}
		if s.local && len(s.silent) > 0 && s.asks < maxProbeAsks {
			// Some members asked to probe it neither heard it nor failed
			// to: they did not hear this node, which may be cut off from
			// part of the cluster (the suspect may be alive there, and its
			// refutation on its way). Ask others, and give the suspicion
			// another timeout.
			if r, ok := c.table.Get(a); ok {
				s.start = now
				c.startProbes(now, r)
				continue
			}
		}
		if c.checkBeforeVerdict(now, a, s) {
			continue
		}
		if dead, err := c.table.Transition(now, a, StatusDead, s.incarnation); err == nil {
			c.stats.DeadDeclared++
			c.announceDead(dead)
		}
		c.drain(now, gossipOn)
	}
	c.updateSuspicionDeadline()
}

// suspectReported takes r, a Dead record of a member this node holds active
// that arrived in a repair (an anti-entropy answer, or a node telling what
// it remembers), as a suspicion rather than a death: a repair carries what a
// node held, possibly long ago, and after a partition heals the side that
// declared the other Dead holds tombstones of members that live and are
// about to refute (memberlist merges a dead state from a push-pull as a
// suspicion for the same reason). The suspect is told, so that a live one
// refutes; if it does not within the suspicion's timeout, this node declares
// it Dead itself (reported: it needs no detector of its own). The suspicion
// is not gossiped: every node that holds the member active learns of the
// death the same way, or from the gossip of the node that declared it.
func (c *MembershipCoordinator) suspectReported(now time.Time, r NodeRecord) {
	r.Status = StatusSuspect
	changed, err := c.table.Merge(now, r)
	if err != nil {
		c.stats.RecordsRejected++
		return
	}
	if changed {
		c.drain(now, oldNews)
	}
	s, ok := c.detect.susp[r.Authority]
	if !ok || s.incarnation != r.Incarnation || s.reported {
		return
	}
	s.reported = true
	if !s.local {
		// Held before only as what others hold (see verdictUnheralded):
		// the suspect is told now, and has the whole timeout to answer.
		s.start = now
	}
	c.updateSuspicionDeadline()
	if held, ok := c.table.Get(r.Authority); ok {
		c.notify(now, r.Authority, held)
	}
}

// deadAnnouncements is how many members a node that declares a member Dead
// tells at once, besides gossiping the verdict: every member of a cluster
// of up to deadAnnouncements + 1, where an epidemic of fanout GossipNodes
// misses a member now and then for a round or two; in a larger cluster a
// head start of that many sources for the epidemic. A verdict is rare, so
// this costs little.
const deadAnnouncements = 16

// announceDead sends the Dead record r to deadAnnouncements random members.
func (c *MembershipCoordinator) announceDead(r NodeRecord) {
	for _, p := range c.provenPeersExcept(deadAnnouncements, r.Authority) {
		c.sendRecords(p, []NodeRecord{r})
	}
}

// updateSuspicionDeadline recomputes the earliest local suspicion deadline.
func (c *MembershipCoordinator) updateSuspicionDeadline() {
	d := &c.detect
	var next time.Time
	mult := d.health.multiplier()
	for _, s := range d.susp {
		if !(s.local || s.reported) {
			continue
		}
		if t := c.suspicionDeadline(s, mult); next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, after := range [2]time.Time{d.verdictsAfter, d.cutOffUntil} {
		if !next.IsZero() && next.Before(after) {
			next = after
		}
	}
	d.suspNext = next
}

// suspicionDeadline is when s times out, with the local-health multiplier
// mult.
func (c *MembershipCoordinator) suspicionDeadline(s *suspicion, mult int) time.Time {
	return later(s.deadline(c.cfg.SuspicionMinTimeout, c.cfg.SuspicionMaxTimeout, c.cfg.SuspicionConfirmations, mult), s.checkUntil)
}

// checkBeforeVerdict probes suspect a itself before this node declares it
// Dead on a suspicion its own detector does not back: a reported one (see
// suspectReported), or one it raised as the suspect's monitor and kept
// after the ring moved (it no longer watches the suspect). Nothing this
// node hears of the suspect says it is still silent; a live one acks (see
// shownAlive) and learns from the probe's record that it is suspected, and
// its refutation comes back. It reports whether it probed: then the verdict
// waits ProbeTimeout, at most maxProbeAsks times per suspicion timeout. A
// monitor whose detector still loses the suspect declares it at once: its
// detector is the evidence, and the probes it sent since it lost it were
// unanswered.
func (c *MembershipCoordinator) checkBeforeVerdict(now time.Time, a string, s *suspicion) bool {
	if c.isWatched(a) || s.checks >= maxProbeAsks {
		return false
	}
	r, ok := c.table.Get(a)
	if !ok || r.Status != StatusSuspect || r.Incarnation != s.incarnation {
		return false
	}
	s.checks++
	if _, busy := c.detect.probes.pending[a]; !busy {
		c.probe(now, r, "", 0, 0)
	}
	s.checkUntil = now.Add(c.cfg.ProbeTimeout)
	return true
}

// remindSuspect tells the sender of m that this node holds it Suspect, when
// it does, at the instance and incarnation suspected: every message a
// suspect sends is a chance to tell it (heartbeats to its monitors, and any
// other message from a member held sending from its own authority: see
// dispatch). A suspicion spreads by gossip to random members, and where the
// suspect is reachable from only part of the cluster, none of those that
// hold it may happen to gossip it to the suspect before its verdict.
func (c *MembershipCoordinator) remindSuspect(now time.Time, m Message) {
	s, ok := c.detect.susp[m.From]
	if !ok {
		return
	}
	if r, held := c.table.Get(m.From); held && r.NodeID == m.FromID && r.Status == StatusSuspect && r.Incarnation == s.incarnation {
		c.tellSender(now, r)
	}
}

// notify sends target, a member held, the record held for it (at most once
// per HeartbeatInterval per target), so that a live node held Suspect or
// Dead learns it and refutes. What answers a message goes to its source
// instead (tellSender).
func (c *MembershipCoordinator) notify(now time.Time, target string, r NodeRecord) {
	if !c.noticeDue(now, target) {
		return
	}
	records := []NodeRecord{r.Clone()}
	if c.state == CoordinatorMember && r.Authority != c.cfg.Authority {
		records = append(records, c.life.self.Clone())
	}
	c.sendRecords(target, records)
}

// renotifyReported tells each member suspected here on a report (see
// suspectReported) of its suspicion again, at most once per
// HeartbeatInterval (notify's limit), for as long as the suspicion lasts: a
// single notice lost on a lossy link would leave a live member unaware, and
// declared Dead here when the timeout runs out.
func (c *MembershipCoordinator) renotifyReported(now time.Time) {
	for _, a := range sortedKeys(c.detect.susp) {
		s := c.detect.susp[a]
		if !s.reported {
			continue
		}
		if r, ok := c.table.Get(a); ok && r.Status == StatusSuspect && r.Incarnation == s.incarnation {
			c.notify(now, a, r)
		}
	}
}

// maxNoticeTargets bounds the targets the notice limit remembers: notices
// answer what senders say about themselves, so under a flood of senders
// (each naming another address) the limit refuses new targets once it holds
// this many told within the last HeartbeatInterval, rather than grow.
const maxNoticeTargets = 1024

// noticeDue reports whether target may be sent a notice at now (none in the
// last HeartbeatInterval, and room in the notice limit), and if so notes the
// notice.
func (c *MembershipCoordinator) noticeDue(now time.Time, target string) bool {
	if c.detect.notices.allow(now, target) {
		return true
	}
	if _, recent := c.detect.notices.last[target]; !recent {
		c.stats.RepliesLimited++ // refused for want of room, not for a recent notice
	}
	return false
}

// answerStale answers r, a Suspect or Dead record of an instance this node
// holds active at a higher incarnation (the member refuted it), with the
// record held, to the sender (at most one notice per HeartbeatInterval per
// target, and within the reply rules), and reports whether it did so: r
// changes nothing here. Whoever still spreads a suspicion the member
// refuted (above all its monitor, cut off from where the refutation went)
// learns the refutation from the first member that holds it, rather than
// declare a live member Dead.
func (c *MembershipCoordinator) answerStale(now time.Time, r NodeRecord) bool {
	if r.Status != StatusSuspect && r.Status != StatusDead {
		return false
	}
	held, ok := c.table.Get(r.Authority)
	if !ok || held.NodeID != r.NodeID || held.Incarnation <= r.Incarnation || !held.Status.IsActive() {
		return false
	}
	c.replyRecords(now, []NodeRecord{held})
	return true
}
