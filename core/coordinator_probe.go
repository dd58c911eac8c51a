package core

import (
	"slices"
	"time"
)

// This file is the probing half of failure detection (detectionState). A
// member has one monitor (MonitorCount) following its heartbeats all the
// time; when that monitor's detector loses it, the monitor suspects it,
// probes it directly and asks IndirectChecks other members to probe it too
// (Lifeguard's and memberlist's indirect probes). Each prober repeats its
// probe every ProbeTimeout while the member stays suspected and unanswered:
// an ack to the monitor, or to a prober that relays it, shows the member
// alive (the monitor then does not declare it Dead); a helper whose probe
// goes unanswered names itself a suspector of the member, an independent
// confirmation that brings the suspicion's timeout down to
// SuspicionMinTimeout. Others look only when asked, so a loss is confirmed
// by independent observers at the cost of a few datagrams per suspicion,
// not of a heartbeat stream to each of them. See "Failure detection" in the
// package documentation.

// probeState is what this node knows of the probes it sent and awaits.
type probeState struct {
	seq     uint64                   // number of the last probe or probe request sent; drawn at random at first
	pending map[string]*pendingProbe // by probed authority: probes awaiting their ack
	asked   map[string]uint64        // by suspect: the Seq of this node's last probe requests about it
	next    time.Time                // earliest deadline of a pending probe; zero when none
	served  tokenBucket              // probe requests this node acts on
}

// pendingProbe is one probe sent and not yet answered.
type pendingProbe struct {
	seq         uint64    // the last probe sent
	firstSeq    uint64    // the first probe of this train: an ack of any since counts
	nodeID      string    // the probed instance
	incarnation uint64    // the probed record's incarnation when probed
	requester   string    // the monitor that asked for the probe; "" for this node's own
	requestSeq  uint64    // the Seq of the monitor's request, which a relayed ack carries
	deadline    time.Time // the probe fails when no ack has come by then
}

// probeRequestBurst bounds the probe requests this node acts on: at most
// this many per HeartbeatInterval (with a burst of as many), so that a
// sender cannot make it probe members at any rate it likes. A monitor asks
// IndirectChecks members once per member it loses, so honest requests stay
// far below it.
const probeRequestBurst = 16

func newProbeState(cfg Config) probeState {
	return probeState{
		pending: map[string]*pendingProbe{},
		asked:   map[string]uint64{},
		served:  newTokenBucket(probeRequestBurst, probeRequestBurst, cfg.HeartbeatInterval),
	}
}

// startProbes is the monitor's side when its detector lost member r (held
// Suspect now): it probes r itself and asks IndirectChecks random active
// members, other than r, to probe it, naming this node as its suspector.
// The requests share one Seq, which the helpers' relayed acks carry back.
// A round of asking after one where some helpers stayed silent (see
// expireSuspicions) asks twice as many: silent helpers mean this node is cut
// off from part of the cluster, and the members that still reach both it
// and the suspect (across a partition, a few bridges) are what it must find.
func (c *MembershipCoordinator) startProbes(now time.Time, r NodeRecord) {
	p := &c.detect.probes
	if _, busy := p.pending[r.Authority]; !busy {
		c.probe(now, r, "", 0, 0)
	}
	s, suspected := c.detect.susp[r.Authority]
	k := c.cfg.IndirectChecks
	if suspected {
		k <<= min(s.asks, maxProbeAsks-1)
	}
	helpers := c.provenPeersExcept(k, r.Authority)
	if len(helpers) == 0 {
		return
	}
	if suspected {
		s.silent = append(s.silent[:0], helpers...)
		s.asks++
	}
	p.asked[r.Authority] = c.nextProbeSeq()
	m := c.newMessage(messageProbeRequest)
	m.Seq = p.asked[r.Authority]
	m.Entries = []NodeRecord{r.Clone()}
	c.accuse(&m)
	for _, h := range helpers {
		c.send(h, m)
		c.stats.ProbeRequestsSent++
	}
}

// maxProbeAsks bounds the rounds of probe requests a monitor makes for one
// suspicion: it asks others again when some of those it asked stayed silent
// (see expireSuspicions), and declares the member Dead after this many
// rounds whatever the silences.
const maxProbeAsks = 3

// randomPeersExcept returns up to k distinct random peers other than
// excluded.
func (c *MembershipCoordinator) randomPeersExcept(k int, excluded string) []string {
	peers := c.randomPeers(k + 1)
	if i := slices.Index(peers, excluded); i >= 0 {
		peers = slices.Delete(peers, i, i+1)
	}
	return peers[:min(k, len(peers))]
}

// nextProbeSeq numbers a probe or a probe request. The numbers start at a
// random 32-bit value and count up, so that an outsider cannot guess the
// number of an ack a prober waits for (as join rounds and exchanges).
func (c *MembershipCoordinator) nextProbeSeq() uint64 {
	p := &c.detect.probes
	if p.seq == 0 {
		p.seq = uint64(c.rng.Uint32())
	}
	p.seq++
	return p.seq
}

// serveProbeRequest probes the member a probe request names, once its
// records are merged: only for a requester that is a member held here
// sending from its own authority (so the relayed ack and the accusation go
// to a member, never to an address an outsider named), only a member this
// node holds Suspect as the same instance, not itself, not the requester,
// and not one it is probing already. A member it holds active at a higher
// incarnation has refuted already: the requester, which missed the
// refutation (it may be cut off from the suspect and from those the
// refutation reached), is sent it instead.
func (c *MembershipCoordinator) serveProbeRequest(now time.Time, m Message) {
	if c.state != CoordinatorMember || c.life.leaving {
		return
	}
	if !c.fromHeldMember() {
		c.stats.RepliesWithheld++
		return
	}
	r := m.Entries[0] // validated: one Suspect record of another member than the sender
	if r.Authority == c.cfg.Authority {
		return // the refutation has been sent to the requester already
	}
	held, ok := c.table.Get(r.Authority)
	if !ok || held.NodeID != r.NodeID {
		return
	}
	refuted := held.Incarnation > r.Incarnation && held.Status.IsActive()
	if !refuted && (held.Status != StatusSuspect || held.Incarnation != r.Incarnation) {
		return
	}
	if _, busy := c.detect.probes.pending[r.Authority]; busy && !refuted {
		return
	}
	if !c.detect.probes.served.take(now) {
		c.stats.RepliesLimited++
		return
	}
	if refuted {
		c.sendRecords(m.From, []NodeRecord{held})
		return
	}
	c.probe(now, held, c.replyTarget(), m.Seq, 0)
}

// probe sends target a probe carrying its record as held here (a live
// target held Suspect refutes at once), and waits ProbeTimeout for the ack.
// A probe sent again after one failed continues that probe's train (first
// is the train's first Seq, 0 for a new train): a late ack of any probe of
// the train counts.
func (c *MembershipCoordinator) probe(now time.Time, target NodeRecord, requester string, requestSeq, first uint64) {
	p := &c.detect.probes
	seq := c.nextProbeSeq()
	if first == 0 {
		first = seq
	}
	m := c.newMessage(messageProbe)
	m.Seq = seq
	m.Entries = []NodeRecord{target.Clone()}
	c.send(target.Authority, m)
	c.stats.ProbesSent++
	deadline := now.Add(c.cfg.ProbeTimeout)
	p.pending[target.Authority] = &pendingProbe{seq: seq, firstSeq: first, nodeID: target.NodeID, incarnation: target.Incarnation,
		requester: requester, requestSeq: requestSeq, deadline: deadline}
	if p.next.IsZero() || deadline.Before(p.next) {
		p.next = deadline
	}
}

// answerProbe acks a probe, to its source (an ack is smaller than the
// probe, so an unproven source may have it too: see replyFits). Its records
// were merged first, so a member that learns from it that it is suspected
// has refuted already.
func (c *MembershipCoordinator) answerProbe(m Message) {
	ack := c.newMessage(messageProbeAck)
	ack.Seq = m.Seq
	if c.replyFits(EstimateSize(ack)) {
		c.send(c.replyTarget(), ack)
	}
}

// takeProbeAck takes an ack: from the probed member itself, at the address
// probed, for a pending probe of this node's (relayed to the monitor that
// asked for it, if one did), or relayed by a helper, a member held sending
// from its own authority, for a request of this node's. Either shows the
// member alive a moment ago. Only an ack counts: it carries the Seq of a
// probe, which a replay of anything the member sent before cannot.
func (c *MembershipCoordinator) takeProbeAck(now time.Time, m Message) {
	if !c.fromHeldMember() {
		return
	}
	p := &c.detect.probes
	if pr, ok := p.pending[m.From]; ok && pr.nodeID == m.FromID && pr.firstSeq <= m.Seq && m.Seq <= pr.seq {
		delete(p.pending, m.From)
		c.probeAnswered(now, m.From)
		if pr.requester != "" {
			relay := c.newMessage(messageProbeAck)
			relay.Seq = pr.requestSeq
			c.send(pr.requester, relay) // a member: see serveProbeRequest
		}
		return
	}
	for a, seq := range p.asked {
		if seq == m.Seq {
			delete(p.asked, a)
			c.probeAnswered(now, a)
			return
		}
	}
}

// probeAnswered notes that member a answered a probe, directly or through a
// helper, at now: it is shown alive (see shownAlive), and a detector that
// lost it watches it again from now (as after a refutation), so it is not
// declared Dead for the silence its heartbeats kept on this link, and is
// lost again if the silence goes on.
func (c *MembershipCoordinator) probeAnswered(now time.Time, a string) {
	d := &c.detect
	c.shownAlive(now, a)
	if !d.unreachable[a] {
		return
	}
	if c.isWatched(a) {
		d.detector.Rearm(a, now)
	}
	delete(d.unreachable, a)
	delete(d.deferred, a)
}

// pollProbes fails the probes whose ack did not come in time.
func (c *MembershipCoordinator) pollProbes(now time.Time) {
	p := &c.detect.probes
	if p.next.IsZero() || now.Before(p.next) {
		return
	}
	p.next = time.Time{}
	for _, a := range sortedKeys(p.pending) {
		pr := p.pending[a]
		if now.Before(pr.deadline) {
			if p.next.IsZero() || pr.deadline.Before(p.next) {
				p.next = pr.deadline
			}
			continue
		}
		delete(p.pending, a)
		c.probeFailed(now, a, pr)
	}
}

// probeFailed handles a probe that got no ack in time, while the member is
// still held Suspect as probed (no refutation came; otherwise the probing
// ends). A helper becomes a suspector of the member: the suspicion is
// gossiped naming this node and sent to the monitor that asked, whose
// suspicion it confirms. It does not make the suspicion local: only a
// member whose detector follows the suspect's heartbeats declares it Dead,
// when it still hears nothing at the end of the suspicion (an unanswered
// probe is a confirmation, not a verdict: under heavy loss many are). Every
// prober probes again, so that a member alive behind a lossy link gets
// another chance to answer before the suspicion ends.
func (c *MembershipCoordinator) probeFailed(now time.Time, a string, pr *pendingProbe) {
	d := &c.detect
	held, ok := c.table.Get(a)
	if !ok || held.NodeID != pr.nodeID || held.Status != StatusSuspect || held.Incarnation != pr.incarnation {
		return
	}
	s, ok := d.susp[a]
	if !ok || s.incarnation != held.Incarnation {
		return
	}
	c.stats.ProbesFailed++
	if pr.requester == "" {
		if s.local && d.unreachable[a] {
			c.probe(now, held, "", 0, pr.firstSeq)
		}
		return
	}
	if !s.probed && !s.local {
		s.probed, s.heralded = true, true
		c.engine.Enqueue(held) // now with this node among its suspectors
		m := c.newMessage(MessageGossip)
		m.Entries = []NodeRecord{held}
		c.accuse(&m)
		c.send(pr.requester, m)
	}
	c.probe(now, held, pr.requester, pr.requestSeq, pr.firstSeq)
}

// relayRefutation sends r, the refutation of a suspicion this node was
// asked to probe for, to the monitor that asked, when this node's probe
// train for it is still running (it got no ack, and accused the member to
// that monitor). A monitor whose helpers all share its side of a partition
// hears their accusations at once, and its suspect's refutation, which
// comes round through the few members that reach both sides, perhaps not
// before its timeout: the helpers that accused pass it on as soon as they
// hold it.
func (c *MembershipCoordinator) relayRefutation(r NodeRecord) {
	pr, ok := c.detect.probes.pending[r.Authority]
	if !ok || pr.requester == "" || pr.nodeID != r.NodeID {
		return
	}
	delete(c.detect.probes.pending, r.Authority)
	c.sendRecords(pr.requester, []NodeRecord{r}) // a member: see serveProbeRequest
}

// endProbes forgets this node's probe requests about a member whose
// suspicion ended.
func (c *MembershipCoordinator) endProbes(a string) {
	delete(c.detect.probes.asked, a)
}

// maxProbeEntries bounds the records of a messageProbe: the probed member's
// as the prober holds it, and the prober's own.
const maxProbeEntries = 2

// fromHeldMember reports whether the message being handled comes from a
// member held here (a tombstone included), sent from its own authority:
// what answers or acts on it goes to a member, not to an address an
// outsider chose.
func (c *MembershipCoordinator) fromHeldMember() bool {
	r := &c.reply.in
	if !r.active || r.source != r.from {
		return false
	}
	id, _, held := c.table.Instance(r.from)
	return held && id == r.fromID
}

// shownAlive notes that member a showed itself alive at now: it answered a
// probe, directly or through a helper (an ack carries the Seq of a probe,
// which a replay of what the member sent before cannot). A suspicion held
// for it is then not declared Dead by this node when its current timeout
// ends (see expireSuspicions): the member is told again and given another
// timeout, in which it must show itself alive again (checkBeforeVerdict
// probes it for that where no detector of this node's follows it), and
// this node's detector losing it again (see suspect) voids the ack. The
// suspicion still ends only with the member's refutation (or another's
// verdict): the member refuted, or is told again, and its answer has not
// reached this node yet. A monitor cut off from where the refutation went,
// or that no longer watches the member (the ring moved during its
// suspicion), would otherwise declare a member that it knows answered.
func (c *MembershipCoordinator) shownAlive(now time.Time, a string) {
	if s, ok := c.detect.susp[a]; ok {
		s.alive = now
	}
}
