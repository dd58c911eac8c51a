package core

import (
	"bytes"
	"time"
)

// news says whether the table changes being folded in are news to gossip on.
type news bool

const (
	// gossipOn: changes learnt from gossip or decided here; every change is
	// queued for dissemination.
	gossipOn news = true
	// oldNews: changes merged from a join reply's view or an anti-entropy
	// repair, which the sender already had; they are not queued again
	// (changes of this node's own record always are).
	oldNews news = false
)

// drain folds the table's change events into the coordinator, one by one,
// until the table has none left: a Leaving member is turned into Removed
// while its event is folded in, which produces one more event in the same
// loop.
func (c *MembershipCoordinator) drain(now time.Time, n news) {
	for {
		events := c.table.DrainEvents()
		if len(events) == 0 {
			return
		}
		for _, ev := range events {
			c.onTableEvent(now, ev, n)
		}
	}
}

// onTableEvent hands one change of the table to every concern that follows
// the table, in this order.
func (c *MembershipCoordinator) onTableEvent(now time.Time, ev tableEvent, n news) {
	if ev.Kind == tableConflict {
		c.countConflict(ev.Record)
		return
	}
	r := ev.Record
	c.updateBuckets(ev)           // anti-entropy: the digest's bucket sums
	c.followMismatches(ev)        // anti-entropy: hash mismatches of active members only
	c.spread(ev, n)               // dissemination: the piggyback queue
	c.reportMemberChange(now, ev) // the member event and the topology
	c.followIdentity(now, ev)     // conflicts: one node ID at two authorities
	c.followAlive(ev)             // deaths, the ring's proof: when each member was last heard
	c.updateRing(ev)              // detection: who monitors whom
	c.followInstance(now, ev)     // detection: the detector follows the instance held
	c.updatePeers(ev)             // dissemination: whom to gossip to
	c.updateSuspicion(now, r)     // detection: suspicions held
	c.forgetGone(r)               // detection: stop following the gone
	c.rememberPast(now, ev)       // past members: remembered, Dead ones probed
	c.settleTombstone(now, r)     // quarantine the Dead, complete leaves
}

// countConflict counts a record of another instance that lost against the
// active record held for its authority. Conflicts over this node's own
// authority are counted where they are resolved (applySelfRecord).
func (c *MembershipCoordinator) countConflict(r NodeRecord) {
	if r.Authority != c.cfg.Authority {
		c.stats.Conflicts++
	}
}

// reportMemberChange emits a MemberEvent when the status changed (or a new
// instance appeared), or when an active member's metadata changed (an
// update: From == To), and marks the topology dirty when the active set
// changed.
func (c *MembershipCoordinator) reportMemberChange(now time.Time, ev tableEvent) {
	r, prev := ev.Record, ev.Previous
	if ev.HadPrevious && prev.NodeID != r.NodeID && prev.Status.IsActive() {
		// A new instance took the authority over: the one it replaced is
		// gone, and whoever follows node IDs must hear of it.
		gone := prev.Clone()
		gone.Status = StatusDead
		if prev.Status == StatusLeaving {
			gone.Status = StatusRemoved
		}
		c.out.Members = append(c.out.Members, MemberEvent{Record: gone, From: prev.Status, To: gone.Status, At: now,
			Replaced: true, Other: r.Clone()})
	}
	from := memberEventFrom(ev)
	updated := from == r.Status && r.Status.IsActive() && !bytes.Equal(ev.Previous.Meta, r.Meta)
	if from != r.Status || updated {
		c.out.Members = append(c.out.Members, MemberEvent{Record: r.Clone(), From: from, To: r.Status, At: now})
	}
	c.topo.follow(ev)
}

// memberEventFrom is the From of the MemberEvent for ev: the previous status
// of the same instance (a tombstone included: a refuted death is Dead → Up),
// or 0 for an instance new at this authority.
func memberEventFrom(ev tableEvent) NodeStatus {
	if !ev.HadPrevious || ev.Previous.NodeID != ev.Record.NodeID {
		return 0
	}
	return ev.Previous.Status
}
