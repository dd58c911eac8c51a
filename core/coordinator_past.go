package core

import "time"

// pastMember is a member that died or left, as this node remembers it apart
// from the table: for Config.ReconnectTimeout from its death or leave, long
// after its tombstone is pruned. Its stale records are refused (an active
// record of that instance at that incarnation or below: a node that slept
// through the death, or a client cut off for as long, must not bring it
// back), and one that died is probed now and then (serf's reconnect list),
// so that a partition of any length heals. It is kept compact: the
// instance, not its metadata.
type pastMember struct {
	nodeID      string
	incarnation uint64
	through     uint64     // its records up to this incarnation are stale too: a successor took over there
	status      NodeStatus // StatusDead or StatusRemoved
	since       time.Time  // when this node learnt of the death or leave
	probe       *backoff   // reconnect schedule while Dead; nil once it left or is active again
}

// covers reports whether r is a stale active record of this past instance.
func (p *pastMember) covers(r NodeRecord) bool {
	return r.Status.IsActive() && r.NodeID == p.nodeID && r.Incarnation <= max(p.incarnation, p.through)
}

// tombstone returns the record this node held for the instance when it
// died or left (without its metadata).
func (p *pastMember) tombstone(authority string) NodeRecord {
	return NodeRecord{NodeID: p.nodeID, Authority: authority, Status: p.status, Incarnation: p.incarnation}
}

// rememberPast keeps the past members in step with the table: a member
// that died is remembered and probed from ReconnectInterval on, one that
// left is remembered (never probed), and one that is active again is no
// longer probed (its past instance is still remembered, so that stale
// records of it stay refused once its new record is gone too). An instance
// that another took the authority over from is remembered up to the
// successor's incarnation: its records at or below it are older than the
// take-over (the successor chose it above all it knew of its predecessor),
// so a late refutation of the predecessor cannot displace the successor.
func (c *MembershipCoordinator) rememberPast(now time.Time, ev tableEvent) {
	past := c.tomb.past
	r := ev.Record
	if ev.HadPrevious && ev.Previous.NodeID != r.NodeID && r.Status.IsActive() && r.Authority != c.cfg.Authority {
		prev := ev.Previous
		status := StatusDead
		if prev.Status == StatusRemoved || prev.Status == StatusLeaving {
			status = StatusRemoved
		}
		if _, ok := past[r.Authority]; !ok && len(past) >= c.cfg.MaxMembers {
			c.forgetOldestPast()
		}
		past[r.Authority] = &pastMember{nodeID: prev.NodeID, incarnation: prev.Incarnation, through: r.Incarnation, status: status, since: now}
		return
	}
	switch {
	case r.Authority == c.cfg.Authority:
	case r.Status == StatusDead || r.Status == StatusRemoved:
		p := &pastMember{nodeID: r.NodeID, incarnation: r.Incarnation, status: r.Status, since: now}
		if r.Status == StatusDead {
			p.probe = &backoff{next: now.Add(c.cfg.ReconnectInterval), delay: c.cfg.ReconnectInterval}
		}
		if _, ok := past[r.Authority]; !ok && len(past) >= c.cfg.MaxMembers {
			c.forgetOldestPast()
		}
		past[r.Authority] = p
	case r.Status.IsActive():
		if p, ok := past[r.Authority]; ok {
			p.probe = nil
		}
	}
}

// forgetOldestPast makes room for one more past member: the list holds at
// most MaxMembers, and the one remembered longest goes first.
func (c *MembershipCoordinator) forgetOldestPast() {
	var oldest string
	var at time.Time
	for a, p := range c.tomb.past {
		if oldest == "" || p.since.Before(at) || (p.since.Equal(at) && a < oldest) {
			oldest, at = a, p.since
		}
	}
	delete(c.tomb.past, oldest)
}

// expirePast forgets the past members remembered for ReconnectTimeout.
func (c *MembershipCoordinator) expirePast(now time.Time) {
	for a, p := range c.tomb.past {
		if now.Sub(p.since) >= c.cfg.ReconnectTimeout {
			delete(c.tomb.past, a)
		}
	}
}

// refusePast reports whether r is a stale record of a past member, to be
// refused; the sender, from, is told the tombstone (under the notice rate
// limit), so that a node that slept through the death learns it.
func (c *MembershipCoordinator) refusePast(now time.Time, r NodeRecord, from string) bool {
	p, ok := c.tomb.past[r.Authority]
	if !ok || !p.covers(r) {
		return false
	}
	c.stats.RecordsRejected++
	if from != r.Authority && c.noticeDue(now, from) {
		// The tombstone carries the metadata of the sender's own copy, which
		// it replaces there: a tombstone is remembered without its own.
		t := p.tombstone(r.Authority)
		t.Meta = r.Meta
		c.sendRepair(from, []NodeRecord{t})
	}
	return true
}

// takeTombstones takes the tombstones of a seed's answer to one of this
// node's last join rounds (m.Seq is the round's number, drawn at random; the
// answer may come after a retry started the next round) that this node
// neither holds nor remembers: a member that joins after a death learns of
// it, so it refuses that instance's stale records as the others do, and its
// table agrees with theirs. A tombstone from anything else, of an authority
// this node does not hold, is ignored: it could be one this node pruned (it
// would come back forever) or a forgery barring an authority.
//
// A Dead tombstone waits aliveWindow before it is taken (see
// takePendingTombstones): the seed may hold a verdict reached where the
// member could not be heard (the far side of a partition that just healed,
// which the seed was on), about a member that lives and refuted on its own
// side; a joiner that holds the member active by then (its record came from
// someone else meanwhile) does not take it, and a death that was real
// reaches it as a repair, which it checks (see suspectReported). A Removed
// tombstone (a leave) is taken at once.
func (c *MembershipCoordinator) takeTombstones(now time.Time, m Message) {
	if !c.join.answered(m.Seq) {
		return
	}
	for _, r := range m.Entries {
		if !r.Status.IsTombstone() || r.Authority == c.cfg.Authority {
			continue
		}
		if r.Status == StatusDead {
			c.holdTombstone(now, r)
			continue
		}
		c.takeTombstone(now, r)
	}
}

// takeTombstone merges r, a tombstone from a join reply, unless this node
// holds a record of its authority or remembers that instance past it.
func (c *MembershipCoordinator) takeTombstone(now time.Time, r NodeRecord) {
	if _, held := c.table.Get(r.Authority); held {
		return
	}
	if p, ok := c.tomb.past[r.Authority]; ok && p.nodeID == r.NodeID && r.Incarnation <= p.incarnation {
		return
	}
	if changed, err := c.table.Merge(now, r); err == nil && changed {
		c.drain(now, oldNews)
	}
}

// heldTombstone is a Dead tombstone from a join reply waiting to be taken.
type heldTombstone struct {
	record NodeRecord
	until  time.Time
}

// holdTombstone keeps r, a Dead tombstone from a join reply, until
// aliveWindow from now (the same authority's later copy replaces it; at
// most MaxMembers wait, the ones beyond are taken at once).
func (c *MembershipCoordinator) holdTombstone(now time.Time, r NodeRecord) {
	t := &c.tomb
	for i := range t.held {
		if t.held[i].record.Authority == r.Authority {
			if r.Supersedes(t.held[i].record) {
				t.held[i].record = r.Clone()
			}
			return
		}
	}
	if len(t.held) >= c.cfg.MaxMembers {
		c.takeTombstone(now, r)
		return
	}
	t.held = append(t.held, heldTombstone{record: r.Clone(), until: now.Add(c.aliveWindow())})
}

// takePendingTombstones takes the Dead tombstones from join replies whose
// wait is over (see takeTombstones), in the order they came.
func (c *MembershipCoordinator) takePendingTombstones(now time.Time) {
	t := &c.tomb
	n := 0
	for n < len(t.held) && !now.Before(t.held[n].until) {
		c.takeTombstone(now, t.held[n].record)
		n++
	}
	if n > 0 {
		t.held = append(t.held[:0], t.held[n:]...)
	}
}

// nextHeldTombstone returns when the first held tombstone is due, if any.
func (c *MembershipCoordinator) nextHeldTombstone() (time.Time, bool) {
	if len(c.tomb.held) == 0 {
		return time.Time{}, false
	}
	return c.tomb.held[0].until, true
}

// pastSender reports whether m comes from a past member, and the tombstone
// remembered for it. The caller asks only when the table holds no record of
// the sender's instance.
func (c *MembershipCoordinator) pastSender(m Message) (NodeRecord, bool) {
	p, ok := c.tomb.past[m.From]
	if !ok || p.nodeID != m.FromID {
		return NodeRecord{}, false
	}
	return p.tombstone(m.From), true
}
