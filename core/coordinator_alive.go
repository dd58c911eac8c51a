package core

import "time"

// aliveState is the direct evidence this node has that members live: when a
// message from each member's own authority last arrived, by table slot (so
// it is bounded by the table, and a slot's time is reset when another
// instance or authority takes the slot).
//
// It guards against deaths reached where the member could not be heard: a
// verdict reached on the far side of a partition, or by a node whose own
// links were cut, spreads to members that heard the accused a moment ago.
// A Dead record about a member this node heard from within aliveWindow is
// taken as a suspicion (suspectReported): the member is told and refutes,
// and if it does not, this node declares it Dead itself when the
// suspicion's timeout ends. A member that really crashed was silent for
// longer than that window before any monitor could declare it, so the
// deaths of crashed members are taken as they come.
type aliveState struct {
	// heard is, by table slot, when a message from that member last
	// arrived, as its time since base plus one nanosecond; 0: never. Eight
	// bytes a slot where a time.Time takes 24: a node keeps one for every
	// member.
	heard []time.Duration
	base  time.Time // the first time anything was heard
}

// note records that the member in slot was heard at now.
func (a *aliveState) note(slot int32, now time.Time) {
	if a.base.IsZero() {
		a.base = now
	}
	for int(slot) >= len(a.heard) {
		a.heard = append(a.heard, 0)
	}
	a.heard[slot] = now.Sub(a.base) + 1
}

// lastHeard returns when the member in slot was last heard, and whether it
// ever was.
func (a *aliveState) lastHeard(slot int32) (time.Time, bool) {
	if int(slot) >= len(a.heard) || a.heard[slot] == 0 {
		return time.Time{}, false
	}
	return a.base.Add(a.heard[slot] - 1), true
}

// aliveWindow is how recently this node must have heard from a member for a
// Dead record about it to be checked rather than taken: the least time a
// correct verdict takes after the member's last message (the detector's
// pause allowance, then the shortest suspicion).
func (c *MembershipCoordinator) aliveWindow() time.Duration {
	return c.cfg.PhiAcceptablePause + c.cfg.SuspicionMinTimeout
}

// heardAlive notes that m, which came from source, arrived from the member
// it names as sender, when the table holds that instance active and m came
// from its own authority.
func (c *MembershipCoordinator) heardAlive(now time.Time, m Message, source string) {
	if source != "" && source != m.From {
		return
	}
	slot, ok := c.table.lookup(m.From)
	if !ok {
		return
	}
	if id, status, _ := c.table.Instance(m.From); id != m.FromID || !status.IsActive() {
		return
	}
	_, heard := c.alive.lastHeard(slot)
	c.alive.note(slot, now)
	if !heard {
		c.proven(now, m.From, m.FromID) // the ring's proof: see coordinator_introduce.go
	}
}

// heardFrom reports whether a message from the member held at authority
// ever arrived from its own authority (since this instance took the slot).
func (c *MembershipCoordinator) heardFrom(authority string) bool {
	slot, ok := c.table.lookup(authority)
	if !ok {
		return false
	}
	_, heard := c.alive.lastHeard(slot)
	return heard
}

// heardRecently reports whether a message from authority arrived within
// aliveWindow of now.
func (c *MembershipCoordinator) heardRecently(now time.Time, authority string) bool {
	slot, ok := c.table.lookup(authority)
	if !ok {
		return false
	}
	t, heard := c.alive.lastHeard(slot)
	return heard && now.Sub(t) < c.aliveWindow()
}

// followAlive forgets the time heard of a slot that another instance or
// authority now holds.
func (c *MembershipCoordinator) followAlive(ev tableEvent) {
	if ev.HadPrevious && ev.Previous.NodeID == ev.Record.NodeID {
		return
	}
	if int(ev.slot) >= 0 && int(ev.slot) < len(c.alive.heard) {
		c.alive.heard[ev.slot] = 0
	}
}

// verdictUnheralded reports whether r, a Dead record, is a verdict about a
// member whose suspicion at r's incarnation did not reach this node in time
// for the accused to answer it through this node: it holds the member
// active, and not Suspect at that incarnation, or Suspect for less than
// SuspicionMinTimeout/2 (since this node first held it), or Suspect only
// from what others held (a repair, a join reply: not gossiped on from here,
// see heraldSuspicion), or it heard from the member itself since it first
// held it Suspect. A verdict comes at the end of a suspicion that is
// gossiped for SuspicionMinTimeout at least, through which the accused
// learns it is suspected and refutes; a verdict that arrives without it, or
// right behind it, or that what this node heard contradicts, was reached
// where this node's part of the cluster did not hear (the far side of a
// partition, healing now), by members that could not hear the accused, nor
// its refutation. So it is taken as a suspicion (suspectReported): the
// accused is told, through this node, and refutes; if it does not, this
// node declares it Dead itself.
func (c *MembershipCoordinator) verdictUnheralded(now time.Time, r NodeRecord) bool {
	held, ok := c.table.Get(r.Authority)
	if !ok || held.NodeID != r.NodeID || !held.Status.IsActive() {
		return false
	}
	if held.Status != StatusSuspect || held.Incarnation != r.Incarnation {
		return true
	}
	s, ok := c.detect.susp[r.Authority]
	return ok && s.incarnation == r.Incarnation && (!s.heralded || now.Sub(s.opened) < c.cfg.SuspicionMinTimeout/2 || c.heardSince(r.Authority, s.opened))
}

// heardSince reports whether a message from authority arrived from its own
// authority after t.
func (c *MembershipCoordinator) heardSince(authority string, t time.Time) bool {
	slot, ok := c.table.lookup(authority)
	if !ok {
		return false
	}
	last, heard := c.alive.lastHeard(slot)
	return heard && last.After(t)
}
