package core

import (
	"slices"
	"time"
)

// disseminationState is dissemination: the active peers gossip goes to, and
// the gossip rounds. The changes themselves wait in the gossipEngine's
// piggyback queue and ride on heartbeats and gossip. See "Dissemination and
// repair" in the package documentation.
type disseminationState struct {
	peers      peerList  // active members other than self
	nextGossip time.Time // next gossip round, when something is queued
	lastGossip time.Time // the last gossip round
	urgent     bool      // a Dead record was queued: gossip without waiting for the round
}

func newDisseminationState(t *membershipTable) disseminationState {
	return disseminationState{peers: newPeerList(t)}
}

// typicalRecordBytes sizes the Entries of a piggybacked message up front:
// a little below the size of a record with a 16-byte node ID and a short
// host:port, so that a full message rarely outgrows the array it was given
// (which then doubles, and so does the array of its shared copies).
const typicalRecordBytes = 32

// spread queues a changed record for gossip, unless it is old news (the
// records of this node's own authority always are news) or this node is a
// client, which only pulls.
func (c *MembershipCoordinator) spread(ev tableEvent, n news) {
	if c.state == CoordinatorClient {
		return
	}
	if n == gossipOn || ev.Record.Authority == c.cfg.Authority {
		c.engine.enqueueShared(ev.shared)
		if ev.Record.Status == StatusDead && ev.Record.Authority != c.cfg.Authority {
			c.gossip.urgent = true
		}
	}
}

// updatePeers keeps the peer list in step with the table: every active
// member other than this node.
func (c *MembershipCoordinator) updatePeers(ev tableEvent) {
	switch r := ev.Record; {
	case r.Authority == c.cfg.Authority:
	case r.Status.IsActive():
		c.gossip.peers.add(ev.slot)
	default:
		c.gossip.peers.remove(ev.slot)
	}
}

// clusterSize is N for the retransmit limit: the active members known.
func (c *MembershipCoordinator) clusterSize() int {
	return c.gossip.peers.len() + 1
}

// randomPeers returns up to k distinct random peers.
func (c *MembershipCoordinator) randomPeers(k int) []string {
	return c.randomPeersPreferring(k, 1, nil)
}

// randomPeersPreferring returns up to k distinct random peers: for each, the
// first of up to draws random draws not taken yet that prefer accepts, else
// the last draw (skipped if taken). With one draw it is uniform.
func (c *MembershipCoordinator) randomPeersPreferring(k, draws int, prefer func(string) bool) []string {
	peers := &c.gossip.peers
	n := peers.len()
	if k >= n {
		return peers.authorities()
	}
	out := make([]string, 0, k)
	for len(out) < k {
		var p string
		for range draws {
			p = peers.at(c.rng.IntN(n))
			if !slices.Contains(out, p) && (prefer == nil || prefer(p)) {
				break
			}
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// pollGossip runs a gossip round when one is due and something is queued
// (records or user broadcasts), or early when a Dead record was queued since
// the last round (a verdict every member waits for: each hop of its spread
// saves up to a gossip interval), but never more than one round per quarter
// GossipInterval.
func (c *MembershipCoordinator) pollGossip(now time.Time) {
	g := &c.gossip
	due := !now.Before(g.nextGossip) || (g.urgent && !now.Before(c.urgentGossipAt()))
	if due && (c.engine.Pending() > 0 || len(c.user.queue) > 0) {
		g.nextGossip = now.Add(c.cfg.GossipInterval)
		g.lastGossip = now
		g.urgent = false
		c.gossipRound()
	}
}

// urgentGossipAt is the earliest time an urgent gossip round may run.
func (c *MembershipCoordinator) urgentGossipAt() time.Time {
	return c.gossip.lastGossip.Add(c.cfg.GossipInterval / 4)
}

// gossipRound sends a gossip message to GossipNodes random peers.
func (c *MembershipCoordinator) gossipRound() {
	for _, p := range c.gossipTargets(c.cfg.GossipNodes) {
		if !c.sendGossip(p) {
			return
		}
	}
}

// sendGossip sends target one gossip message filled from the piggyback queue,
// if anything is queued.
func (c *MembershipCoordinator) sendGossip(target string) bool {
	m := c.newMessage(MessageGossip)
	c.piggyback(&m)
	if len(m.Entries) == 0 && len(m.User) == 0 {
		return false
	}
	c.send(target, m)
	c.stats.GossipSent++
	return true
}

// piggyback fills m's Entries from the piggyback queue, up to the size
// budget, names the suspectors of its Suspect records, and fills what room
// is left with user broadcasts.
func (c *MembershipCoordinator) piggyback(m *Message) {
	if c.engine.Pending() > 0 {
		budget := c.cfg.MaxMessageBytes - EstimateSize(*m) - c.accusationReserve()
		room := min(c.engine.Pending(), budget/typicalRecordBytes+1)
		shared := make([]sharedRecord, 0, room)
		m.Entries = c.engine.fillShared(make([]NodeRecord, 0, room), &shared, budget, c.clusterSize(), "")
		m.shared = shared
		c.accuse(m)
	}
	c.fillBroadcasts(m)
}

// sendRepair sends target records as a repair (a MessageGossip with a
// non-zero Seq): what this node holds or remembers, not news, which the
// target merges without gossiping it on and whose deaths it takes as
// suspicions (see suspectReported).
func (c *MembershipCoordinator) sendRepair(target string, records []NodeRecord) {
	base := c.newMessage(MessageGossip)
	base.Seq = 1 // any number but 0 marks a repair
	for _, m := range packMessages(base, records, c.cfg.MaxMessageBytes, false) {
		c.send(target, m)
	}
}

// sendRecords sends target the records in as few gossip messages as the size
// budget allows.
func (c *MembershipCoordinator) sendRecords(target string, records []NodeRecord) {
	for _, m := range packMessages(c.newMessage(MessageGossip), records, c.cfg.MaxMessageBytes, false) {
		c.send(target, m)
	}
}

// gossipDraws is how many random peers a gossip round draws, at most, for
// each target, looking for one heard from directly (coordinator_introduce.go).
const gossipDraws = 8

// gossipTargets returns up to k distinct random peers for a gossip round,
// members heard from directly preferred: for each target, the first of up to
// gossipDraws random draws that was heard from, else the last draw. Where
// every member was heard from, that is the first draw: uniform as
// randomPeers; where an outsider injected many fakes, the round still
// reaches members that exist.
func (c *MembershipCoordinator) gossipTargets(k int) []string {
	if !c.cfg.ProveMembers {
		return c.randomPeers(k)
	}
	return c.randomPeersPreferring(k, gossipDraws, c.heardFrom)
}
