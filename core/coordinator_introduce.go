package core

import (
	"slices"
	"time"
)

// This file keeps failure detection to members that exist, when
// Config.ProveMembers is set (issue 11, injected members). Anyone may gossip records of members that do not
// exist: in an open cluster an outsider can inject hundreds of fake Up
// records in a few datagrams. A fake on the ring would become a real
// member's monitor (its heartbeats would go nowhere, and nobody would watch
// it) or a member this node watches (and suspects, with probes sent to
// nowhere), and a fake asked to probe confirms nothing. So the ring places
// only proven members: members whose own messages arrived here from their
// own authority (heardFrom; any message counts: a heartbeat, gossip, an
// ack). The nearest unproven members on each side, nearer than the
// MonitorCount-th proven neighbour, are candidates: this node probes them
// (an introduction), and an answer proves them. A candidate that does not
// answer within introPatience is left off for ReconnectInterval, and
// the next nearest is asked; it is suspected as a lost member is, so that a
// member that crashed before it was proven is still found (and fakes are
// cleared away, a few at a time). Members asked to probe a lost member, and the
// members told of a verdict at once, are proven ones first. A member that
// exists is proven by its ring neighbours within a probe's round trip of
// being learnt of; a fake never is, so it neither monitors nor is watched.

// introState is the introductions in flight and the candidates that did not
// answer.
type introState struct {
	pending    map[string]*introduction // by candidate authority
	unanswered map[string]time.Time     // by authority: left off the candidates until then
	next       time.Time                // earliest deadline of a pending introduction or an unanswered entry; zero when none
}

// introduction is one candidate being asked.
type introduction struct {
	nodeID   string
	first    time.Time // the first probe
	deadline time.Time // the last probe's
}

// introPatience is how long a candidate is probed, every ProbeTimeout,
// before it is left off and suspected: as long as a watched member's
// silence lasts before its detector loses it (two heartbeat intervals and
// the pause allowance), so that a member that stalls before it was proven
// gets the time a proven one gets.
func (c *MembershipCoordinator) introPatience() time.Duration {
	return 2*c.cfg.HeartbeatInterval + c.cfg.PhiAcceptablePause
}

func newIntroState() introState {
	return introState{pending: map[string]*introduction{}, unanswered: map[string]time.Time{}}
}

// ringProofOf tells the ring what this node knows of the member at
// authority.
func (c *MembershipCoordinator) ringProofOf(authority string) ringProof {
	switch {
	case authority == c.cfg.Authority || c.heardFrom(authority):
		return ringProven
	case c.detect.intro.hasUnanswered(authority):
		return ringUnanswered
	}
	return ringCandidate
}

func (s *introState) hasUnanswered(authority string) bool {
	_, ok := s.unanswered[authority]
	return ok
}

// proven follows the first message heard from the member at authority: the
// ring places it, and a suspicion this node raised for want of an answer
// (see pollIntroductions) is not acted on.
func (c *MembershipCoordinator) proven(now time.Time, authority, nodeID string) {
	delete(c.detect.intro.pending, authority)
	delete(c.detect.intro.unanswered, authority)
	c.probeAnswered(now, authority)
	c.detect.ring.reprove(ringNode{hash: ringHash(nodeID), authority: authority})
}

// introduce probes the ring's candidates not asked yet.
func (c *MembershipCoordinator) introduce(now time.Time) {
	if !c.cfg.ProveMembers || c.state != CoordinatorMember || c.life.leaving {
		return
	}
	in := &c.detect.intro
	for _, a := range c.detect.ring.candidates(nil) {
		if _, asked := in.pending[a]; asked {
			continue
		}
		r, ok := c.table.Get(a)
		if !ok || !r.Status.IsActive() {
			continue
		}
		in.pending[a] = &introduction{nodeID: r.NodeID, first: now}
		c.sendIntroduction(now, r, in.pending[a])
	}
}

// sendIntroduction sends candidate r a probe: any answer proves it.
func (c *MembershipCoordinator) sendIntroduction(now time.Time, r NodeRecord, p *introduction) {
	m := c.newMessage(messageProbe)
	m.Seq = c.nextProbeSeq()
	m.Entries = []NodeRecord{r.Clone()}
	c.send(r.Authority, m)
	c.stats.ProbesSent++
	p.deadline = now.Add(c.cfg.ProbeTimeout)
	c.scheduleIntroductions()
}

// pollIntroductions probes again the candidates that did not answer in
// time, leaves off those that did not answer within introPatience, and puts
// back the ones left off for ReconnectInterval.
func (c *MembershipCoordinator) pollIntroductions(now time.Time) {
	in := &c.detect.intro
	if in.next.IsZero() || now.Before(in.next) {
		return
	}
	for _, a := range sortedKeys(in.pending) {
		p := in.pending[a]
		if now.Before(p.deadline) {
			continue
		}
		r, ok := c.table.Get(a)
		switch {
		case !ok || r.NodeID != p.nodeID || !r.Status.IsActive():
			delete(in.pending, a)
		case now.Sub(p.first) < c.introPatience():
			c.sendIntroduction(now, r, p)
		default:
			// No answer: a fake, or a member that crashed before it was
			// proven here. Left off the ring, and suspected as a lost
			// member is (probed through others, declared Dead by this
			// node if they confirm), so that a crashed one is found and
			// a fake is cleared away.
			delete(in.pending, a)
			in.unanswered[a] = now.Add(c.cfg.ReconnectInterval)
			c.detect.ring.reprove(ringNode{hash: ringHash(r.NodeID), authority: a})
			c.detect.unreachable[a] = true
			c.suspect(now, a)
		}
	}
	for _, a := range sortedKeys(in.unanswered) {
		if now.Before(in.unanswered[a]) {
			continue
		}
		delete(in.unanswered, a)
		if r, ok := c.table.Get(a); ok {
			c.detect.ring.reprove(ringNode{hash: ringHash(r.NodeID), authority: a})
		}
	}
	c.scheduleIntroductions()
}

// scheduleIntroductions recomputes the earliest introduction deadline.
func (c *MembershipCoordinator) scheduleIntroductions() {
	in := &c.detect.intro
	in.next = time.Time{}
	consider := func(t time.Time) {
		if in.next.IsZero() || t.Before(in.next) {
			in.next = t
		}
	}
	for _, p := range in.pending {
		consider(p.deadline)
	}
	for _, t := range in.unanswered {
		consider(t)
	}
}

// forgetIntroduction drops what is known of introductions to a member that
// left the table's active view.
func (c *MembershipCoordinator) forgetIntroduction(authority string) {
	delete(c.detect.intro.pending, authority)
	delete(c.detect.intro.unanswered, authority)
}

// provenPeersExcept returns up to k distinct random active members other
// than excluded, proven ones (heard from directly) first: the members asked
// to probe a lost member, and those told of a verdict at once. Fakes an
// outsider injected are never proven, so they are asked only when too few
// members are.
func (c *MembershipCoordinator) provenPeersExcept(k int, excluded string) []string {
	if !c.cfg.ProveMembers {
		return c.randomPeersExcept(k, excluded)
	}
	peers := &c.gossip.peers
	var proven []string
	for i := range peers.len() {
		if a := peers.at(i); a != excluded && c.heardFrom(a) {
			proven = append(proven, a)
		}
	}
	if len(proven) > k {
		c.rng.Shuffle(len(proven), func(i, j int) { proven[i], proven[j] = proven[j], proven[i] })
		return proven[:k]
	}
	for _, a := range c.randomPeersExcept(k, excluded) {
		if len(proven) < k && !slices.Contains(proven, a) {
			proven = append(proven, a)
		}
	}
	return proven
}
