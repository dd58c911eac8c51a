package core

import (
	"slices"
	"time"
)

// detectionState is failure detection: the ring that picks each member's
// monitors, the heartbeats this node sends to its monitors and takes from
// the members it watches, the phi-accrual detector those feed, local health,
// and the suspicions held here (coordinator_suspicion.go). See "Failure
// detection" and "Local health" in the package documentation.
type detectionState struct {
	detector *phiAccrualDetector
	health   *awareness
	ring     *ring

	monitors       []string // successors: whom this node heartbeats
	formerMonitors []string // scratch: the monitors before the ring last moved (see handOff)
	watched        []string // predecessors: whom this node's detector follows
	ringSeen       uint64   // ring version monitors and watched were computed at

	unreachable map[string]bool          // lost by the detector and not heard again
	deferred    map[string]bool          // lost by the detector, pending a stretched phi threshold
	silent      map[string]time.Time     // newly watched members not heard yet, since when
	hbSeen      map[string]heartbeatSeen // watched members: the latest heartbeat fed to the detector

	susp     map[string]*suspicion
	suspNext time.Time // earliest local suspicion deadline; zero when none

	notices targetLimiter // when each target was last sent a notice

	nextWitness   time.Time // no members asked whether this node hears before this
	verdictsAfter time.Time // no member declared Dead before this (see heard)
	cutOffUntil   time.Time // declared Dead itself, this node declares nobody Dead before this, unless heard as alive (see cutOff)

	probes probeState // probes sent and awaited, probe requests made: coordinator_probe.go
	intro  introState // introductions of the ring's unproven candidates: coordinator_introduce.go

	hbSeq     uint64    // the number of the last heartbeat round
	hbHash    uint64    // the table hash last sent in a heartbeat round
	nextHB    time.Time // next heartbeat round
	nextCheck time.Time // next consultation of the detector; zero when nothing is watched
}

func newDetectionState(cfg Config) detectionState {
	return detectionState{
		detector:    newPhiAccrualDetector(phiConfigFrom(cfg)),
		health:      newAwareness(cfg),
		unreachable: map[string]bool{},
		deferred:    map[string]bool{},
		silent:      map[string]time.Time{},
		hbSeen:      map[string]heartbeatSeen{},
		susp:        map[string]*suspicion{},
		notices:     newTargetLimiter(cfg.HeartbeatInterval, 1, maxNoticeTargets),
		probes:      newProbeState(cfg),
		intro:       newIntroState(),
	}
}

// heartbeatSeen is the instance and sequence number of the latest heartbeat
// from a watched member that was fed to the detector.
type heartbeatSeen struct {
	nodeID string
	seq    uint64
}

// heartbeatEpoch: a member's heartbeat numbers start from the number of
// HeartbeatIntervals from heartbeatEpoch to its start, and grow by one per
// heartbeat round (at most one per interval), so they never run ahead of the
// clock and a later instance starts above them (once a heartbeat interval has
// passed). Counted in intervals rather than nanoseconds so that the number
// stays small on the wire (a msgpack uint32 for the LAN preset until 2156,
// not a uint64: 4 bytes less on every heartbeat).
var heartbeatEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// startHeartbeatSeq starts the heartbeat numbers of a member started at now
// from the clock, so that a restarted instance that reuses its NodeID still
// sends numbers above its previous life's, which monitors would otherwise
// ignore as replays.
func (d *detectionState) startHeartbeatSeq(now time.Time, interval time.Duration) {
	if n := now.Sub(heartbeatEpoch) / interval; n > 0 && uint64(n) > d.hbSeq {
		d.hbSeq = uint64(n)
	}
}

// PeerStateEntries returns the number of entries in every map and list the
// coordinator keeps about other nodes outside the membership table itself:
// the ring, monitors and watched members, detector histories, unreachable,
// deferred and silent members, heartbeat numbers seen, suspicions, their
// confirmers and silent probe helpers, pending probes and probe requests,
// introductions, notice times,
// heartbeat-hash mismatch counters, Dead members to probe, the join
// replies' Dead tombstones waiting to be taken, the peer list,
// the piggyback queue, quarantine entries, the last topology update's
// members and the node-ID index of the active records. Each is bounded by
// the members held or
// swept on a timer, so on a cluster whose membership has settled it stays
// within a small multiple of the table's size; a fault test can check that.
// What answering others costs (the per-source reply limits, the requests
// answered in full, the cookies peers gave this node) is not counted: it is
// bounded by constants whatever senders do, and swept on a timer.
func (c *MembershipCoordinator) PeerStateEntries() int {
	d := &c.detect
	n := d.ring.len() + len(d.monitors) + len(d.watched) + d.detector.Len() +
		len(d.unreachable) + len(d.deferred) + len(d.silent) + len(d.hbSeen) +
		len(d.susp) + d.notices.len() + len(d.probes.pending) + len(d.probes.asked) + len(d.intro.pending) + len(d.intro.unanswered)
	for _, s := range d.susp {
		n += len(s.confirmers) + len(s.silent)
	}
	n += len(c.ae.mismatch) + len(c.tomb.past) + len(c.tomb.held) + c.gossip.peers.len()
	n += c.engine.Pending() + c.quarantine.Len() + c.topo.entries()
	return n
}

// LocalHealth returns the local-health score (0 when healthy).
func (c *MembershipCoordinator) LocalHealth() int { return c.detect.health.Score() }

// observe feeds the call time to the local-health tracker: a late call is a
// local stall, forgiven in the detector, and a member that watches others
// and has heard nothing for a while may be deaf.
func (c *MembershipCoordinator) observe(now time.Time) {
	d := &c.detect
	listening := c.state == CoordinatorMember && len(d.watched) > 0 && !c.life.leaving
	if gap := d.health.observe(now, listening); gap > 0 {
		c.stats.StallsForgiven++
		d.detector.Forgive(gap)
		// Suspicions held here must not time out because of our own stall.
		for _, s := range d.susp {
			s.start = s.start.Add(gap)
		}
		c.updateSuspicionDeadline()
	}
}

// checkInterval is how often the failure detector is consulted again while
// a lost member waits for a stretched phi threshold (poor local health).
func (c *MembershipCoordinator) checkInterval() time.Duration {
	return max(time.Millisecond, c.cfg.HeartbeatInterval/4)
}

// scheduleCheck sets when the failure detector must next be consulted: when
// the first watched member would be lost if it stays silent (so a loss is
// acted on when it happens, not at the next of a periodic check), at once
// when a lost member's heartbeats resumed, when a newly watched member has
// been silent for two heartbeat intervals (checkSilent; not while an
// exchange runs, whose end wakes the coordinator anyway), and every
// checkInterval while a lost member waits for a stretched threshold. Zero
// when nothing is due.
func (c *MembershipCoordinator) scheduleCheck(now time.Time) {
	d := &c.detect
	next, _ := d.detector.NextLoss(now)
	consider := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	if _, _, busy := c.engine.Exchange(); !busy {
		// checkSilent waits for a running exchange to end (a wake of its own).
		for _, since := range d.silent {
			consider(since.Add(2 * c.cfg.HeartbeatInterval))
		}
	}
	if len(d.deferred) > 0 {
		consider(now.Add(c.checkInterval()))
	}
	d.nextCheck = next
}

// updateRing keeps the ring in step with the table: Joining, Up and Suspect
// members are monitored.
func (c *MembershipCoordinator) updateRing(ev tableEvent) {
	c.detect.ring.update(ev.Previous, ev.HadPrevious, ev.Record)
}

// ringMembers lists the members on the ring: the table's Joining, Up and
// Suspect records.
func (c *MembershipCoordinator) ringMembers(yield func(ringNode)) {
	c.table.each(func(v *recordValue) bool {
		if onRing(v.status) {
			yield(ringNode{hash: ringHash(v.nodeID), authority: v.authority})
		}
		return true
	})
}

// refreshRing recomputes the monitors and the watched members when the ring
// changed. A member newly watched starts with a synthetic heartbeat at the
// time it is first watched, so a member that is already silent is still
// detected; a member no longer watched leaves the detector.
func (c *MembershipCoordinator) refreshRing(now time.Time) {
	d := &c.detect
	if d.ring.version == d.ringSeen {
		return
	}
	d.ringSeen = d.ring.version
	if c.life.leaving {
		// A leaving member keeps heartbeating the monitors it had (so they
		// do not suspect it before the leave reaches them) and watches no one.
		c.setWatched(now, nil)
		return
	}
	d.formerMonitors = append(d.formerMonitors[:0], d.monitors...)
	d.monitors = d.monitors[:0]
	if c.state != CoordinatorMember || !d.ring.ownerOn() {
		c.setWatched(now, nil)
		return
	}
	d.monitors = d.ring.successors(d.monitors, c.cfg.MonitorCount)
	c.handOff(d.formerMonitors)
	c.setWatched(now, d.ring.predecessors(nil, c.cfg.MonitorCount))
	c.introduce(now)
}

// handOff tells each former monitor that this node no longer heartbeats it
// (one still on the ring: a member joined between the two) the records of
// the monitors that replace it. The former monitor's detector follows this
// node's heartbeats, which stop now: unless it learns the newcomer before
// its detector loses this node, it suspects a live member. When many
// members join at once (thousands) the newcomer's record may take seconds
// to reach it by gossip, every piggyback queue being full of join records;
// told directly, it puts the newcomer on its ring at once and stops
// watching this node. A monitor lost to a crash, a leave or a verdict is
// off the ring and is told nothing, so this costs a message per monitor
// change that a join causes, and nothing in a steady cluster.
func (c *MembershipCoordinator) handOff(former []string) {
	d := &c.detect
	var news []NodeRecord
	for _, a := range former {
		if slices.Contains(d.monitors, a) {
			continue
		}
		if r, ok := c.table.Get(a); !ok || !onRing(r.Status) {
			continue
		}
		if news == nil {
			for _, n := range d.monitors {
				if slices.Contains(former, n) {
					continue
				}
				if r, ok := c.table.Get(n); ok {
					news = append(news, r)
				}
			}
			if len(news) == 0 {
				return
			}
		}
		c.sendRecords(a, news)
		c.stats.HandOffsSent++
	}
}

// setWatched replaces the watched set.
func (c *MembershipCoordinator) setWatched(now time.Time, next []string) {
	d := &c.detect
	for _, a := range d.watched {
		if !slices.Contains(next, a) {
			c.forget(a)
		}
	}
	for _, a := range next {
		if !slices.Contains(d.watched, a) {
			d.detector.Heartbeat(a, now)
			d.silent[a] = now
		}
	}
	d.watched = next
}

// isWatched reports whether this node's detector follows authority.
func (c *MembershipCoordinator) isWatched(authority string) bool {
	return slices.Contains(c.detect.watched, authority)
}

// forget stops following authority in the failure detector.
func (c *MembershipCoordinator) forget(authority string) {
	d := &c.detect
	d.detector.Remove(authority)
	delete(d.unreachable, authority)
	delete(d.deferred, authority)
	delete(d.silent, authority)
	delete(d.hbSeen, authority)
}

// followInstance keeps the detector's history of a watched member about the
// instance the table holds: a new instance at the authority (a restart with
// a new node ID), or the same instance back from a tombstone, starts afresh,
// as a newly watched member does, rather than inherit a silence that was not
// its own. A refutation (the same instance, active at a higher incarnation)
// is news that the member lived a moment ago: the detector watches it again
// from now (Rearm), so that a member the detector had lost and that stays
// silent is reported lost anew and suspected again, whatever the order in
// which the loss, the suspicion and the refutation arrived; and the monitors
// that had not lost it yet start counting its silence from the refutation
// too, rather than take turns suspecting it.
func (c *MembershipCoordinator) followInstance(now time.Time, ev tableEvent) {
	d := &c.detect
	r, prev := ev.Record, ev.Previous
	if !ev.HadPrevious || r.Authority == c.cfg.Authority || !r.Status.IsActive() || !c.isWatched(r.Authority) {
		return
	}
	switch {
	case prev.NodeID != r.NodeID || prev.Status.IsTombstone():
		c.forget(r.Authority)
		d.detector.Heartbeat(r.Authority, now)
		d.silent[r.Authority] = now
	case r.Incarnation > prev.Incarnation:
		d.detector.Rearm(r.Authority, now)
		delete(d.unreachable, r.Authority)
		delete(d.deferred, r.Authority)
	}
}

// cutOff is what a node does when it learns that it was declared Dead: it
// was cut off from those who declared it (a partition, a long stall), so
// what it concluded meanwhile about the members it could not hear may be
// wrong, the more so as they may have stopped heartbeating it when they
// held it Dead. It gossips no more deaths (those queued are dropped; its
// table still answers repairs, whose deaths are taken as suspicions: see
// suspectReported), its detector watches every member afresh from now, and
// it declares none of the suspicions it holds Dead itself: a member that is
// really gone is declared by the others.
func (c *MembershipCoordinator) cutOff(now time.Time) {
	d := &c.detect
	c.engine.Drop(func(q NodeRecord) bool { return q.Status == StatusDead })
	for _, a := range d.watched {
		d.detector.Rearm(a, now)
	}
	clear(d.unreachable)
	clear(d.deferred)
	for _, s := range d.susp {
		s.local, s.reported = false, false
	}
	c.holdVerdicts(now)
}

// holdVerdicts is what a node does when it learns that another holds it
// Dead (when it learns it was declared, or when a record of its death
// arrives after it refuted): until a member talks to it as to a live member
// (heardAsAlive), its refutation may not be getting out (a node that cannot
// send), and the members that stopped heartbeating it when they declared it
// Dead would be lost by its detector one after the other and declared Dead
// in error. So it declares nobody Dead meanwhile.
func (c *MembershipCoordinator) holdVerdicts(now time.Time) {
	c.detect.cutOffUntil = now.Add(c.cfg.SuspicionMaxTimeout + cutOffAntiEntropyRounds*c.cfg.AntiEntropyInterval)
	c.updateSuspicionDeadline()
}

// cutOffAntiEntropyRounds bounds, in AntiEntropyIntervals (plus a
// SuspicionMaxTimeout), how long a node that learnt it was declared Dead and
// hears nobody talk to it as to a live member declares nobody Dead: enough
// for its refutation to reach the others by anti-entropy; after it, it acts
// on its detector again (its peers may all be gone).
const cutOffAntiEntropyRounds = 2

// heardAsAlive ends a cut-off (see cutOff) when a member sends this node a
// message that it sends only to members it holds active (not a join request:
// members send those to seeds they hold Dead), and that does not say this
// node is Dead or gone: its refutation got out.
func (c *MembershipCoordinator) heardAsAlive(m Message) {
	d := &c.detect
	if d.cutOffUntil.IsZero() || m.Kind == MessageJoinRequest || m.Kind == MessageCookie || !c.fromHeldMember() {
		return
	}
	for _, r := range m.Entries {
		if r.Authority == c.cfg.Authority && r.Status.IsTombstone() {
			return
		}
	}
	d.cutOffUntil = time.Time{}
	c.updateSuspicionDeadline()
}

// forgetGone stops following another member that is leaving, left or was
// declared Dead.
func (c *MembershipCoordinator) forgetGone(r NodeRecord) {
	switch {
	case r.Authority == c.cfg.Authority:
	case r.Status == StatusDead, r.Status == StatusRemoved, r.Status == StatusLeaving:
		c.forget(r.Authority)
		c.forgetIntroduction(r.Authority)
	}
}

// pollDetector consults the failure detector when its check is due, and
// acts on the suspicions whose timeout passed (after consulting it, so that
// a suspect heard again is not declared Dead).
func (c *MembershipCoordinator) pollDetector(now time.Time) {
	d := &c.detect
	expire := !d.suspNext.IsZero() && !now.Before(d.suspNext)
	if expire || (!d.nextCheck.IsZero() && !now.Before(d.nextCheck)) {
		c.checkDetector(now)
	}
	if expire {
		c.expireSuspicions(now)
	}
	c.renotifyReported(now)
}

// checkDetector consults the failure detector. A lost member is suspected
// unless local health is poor, in which case its phi must also reach the
// threshold times the local-health multiplier (re-checked on every later
// check until it does or the member comes back).
func (c *MembershipCoordinator) checkDetector(now time.Time) {
	d := &c.detect
	mult := float64(d.health.multiplier())
	c.checkSilent(now)
	for _, ev := range d.detector.Check(now) {
		a := ev.Authority
		switch ev.Kind {
		case detectorSuspect:
			if !c.isWatched(a) {
				c.forget(a)
				continue
			}
			d.unreachable[a] = true
			if ev.Phi < c.cfg.PhiThreshold*mult || c.mayBeDeaf(now, a) {
				d.deferred[a] = true
				continue
			}
			c.suspect(now, a)
		case detectorReachable:
			delete(d.unreachable, a)
			delete(d.deferred, a)
		}
	}
	if len(d.deferred) == 0 {
		return
	}
	for _, a := range sortedKeys(d.deferred) {
		if d.detector.Phi(a, now) >= c.cfg.PhiThreshold*mult && !c.mayBeDeaf(now, a) {
			delete(d.deferred, a)
			c.suspect(now, a)
		}
	}
}

// heard notes that a message arrived at now. If this node heard nothing
// for a while — it was holding a verdict because of it (a local suspicion
// that timed out having passed entirely unheard: see unheardSince), or the
// silence had raised its local health, which now falls back and shortens
// its suspicions at once — the silence ends, but no verdict is given before
// one more HeartbeatInterval: the first message after a silence is often
// the end of a partition, and the next ones may bring the suspects'
// refutations, or tell this node that it was declared Dead itself (see
// cutOff).
func (c *MembershipCoordinator) heard(now time.Time) {
	d := &c.detect
	silence := false
	for _, s := range d.susp {
		if s.held {
			s.held, silence = false, true
		}
	}
	if d.health.heard(now) {
		silence = true
	}
	if silence {
		d.verdictsAfter = now.Add(c.cfg.HeartbeatInterval)
		c.updateSuspicionDeadline()
	}
}

// mayBeDeaf reports whether this node's losing member a may be its own
// fault rather than a's: nothing at all arrived from anyone since a's next
// heartbeat was due (one HeartbeatInterval after its last), so this node
// may not have been hearing anything while a was silent; see unheardSince.
func (c *MembershipCoordinator) mayBeDeaf(now time.Time, a string) bool {
	return c.unheardSince(now, c.detect.detector.LastArrival(a).Add(c.cfg.HeartbeatInterval))
}

// deafWitnesses is how many members a node that may be deaf asks at once
// whether it hears, as Lifeguard asks k members to probe for it and learns
// from their answers (or their silence) whether it is the one at fault.
const deafWitnesses = 3

// witnessRounds is how many heartbeat intervals a node that may be deaf
// waits for its witnesses' answers before it asks others.
const witnessRounds = 2

// unheardSince reports whether this node may be deaf: nothing arrived from
// anyone after t, and some active member that its detector did not lose
// could show whether it hears. Then, at most once per witnessRounds
// heartbeat intervals, it asks deafWitnesses such members with a digest,
// which each answers (an arrival: proof that this node hears), and the
// caller holds its accusation until something arrives: a node that hears
// nothing accuses nobody. A node with no one else to ask (every other
// member lost too, as in a cluster of two) acts on its detector.
func (c *MembershipCoordinator) unheardSince(now, t time.Time) bool {
	d := &c.detect
	if d.health.heardAfter(t) {
		return false
	}
	peers := &c.gossip.peers
	witnesses := 0
	for i := range peers.len() {
		if !d.unreachable[peers.at(i)] {
			witnesses++
			break
		}
	}
	if witnesses == 0 {
		return false
	}
	if now.Before(d.nextWitness) {
		return true
	}
	d.nextWitness = now.Add(witnessRounds * c.cfg.HeartbeatInterval)
	asked := make([]string, 0, deafWitnesses)
	for try := 0; try < 4*deafWitnesses && len(asked) < deafWitnesses; try++ {
		p := peers.at(c.rng.IntN(peers.len()))
		if !d.unreachable[p] && !slices.Contains(asked, p) {
			asked = append(asked, p)
			c.askWitness(p)
		}
	}
	return true
}

// checkSilent repairs views around a newly watched member that has not sent
// a heartbeat within two heartbeat intervals: it likely does not know this
// node (or this node misses members it knows), so the two run an
// anti-entropy exchange, once, before the detector would suspect it.
func (c *MembershipCoordinator) checkSilent(now time.Time) {
	d := &c.detect
	if len(d.silent) == 0 {
		return
	}
	if _, _, busy := c.engine.Exchange(); busy {
		return
	}
	for _, a := range sortedKeys(d.silent) {
		if now.Sub(d.silent[a]) >= 2*c.cfg.HeartbeatInterval {
			delete(d.silent, a)
			c.exchangeWith(now, a)
			return
		}
	}
}

// pollHeartbeats runs a heartbeat round when one is due.
func (c *MembershipCoordinator) pollHeartbeats(now time.Time) {
	if c.state == CoordinatorMember && !now.Before(c.detect.nextHB) {
		c.detect.nextHB = now.Add(c.cfg.HeartbeatInterval)
		c.sendHeartbeats()
	}
}

// hashEvery is how often, in heartbeat rounds, the table hash rides on the
// heartbeats when it did not change: a monitor's view that fell behind the
// member's is noticed within that many rounds (a change of the member's own
// view is sent at once), and a steady-state heartbeat carries the 10 bytes
// of the hash once in that many rounds.
const hashEvery = 8

// sendHeartbeats sends a heartbeat, with piggybacked gossip, to each monitor.
// The table hash rides on every hashEvery-th round, and on any round where
// it changed since it was last sent.
func (c *MembershipCoordinator) sendHeartbeats() {
	d := &c.detect
	if !c.life.self.Status.IsActive() {
		return
	}
	d.hbSeq++
	h := c.table.Hash()
	withHash := d.hbSeq%hashEvery == 0 || h != d.hbHash
	if withHash {
		d.hbHash = h
	}
	for _, t := range d.monitors {
		m := c.newMessage(MessageHeartbeat)
		m.Seq = d.hbSeq
		if withHash {
			m.Digest = []uint64{h}
		}
		c.piggyback(&m)
		c.send(t, m)
		c.stats.HeartbeatsSent++
	}
}

// handleHeartbeat feeds a heartbeat from a watched member to the detector,
// and tells a sender held Suspect that it is. A heartbeat from a watched
// member whose Seq is not above the last one fed to the detector from the
// same instance (a replayed or reordered datagram) is not an arrival: it
// neither feeds the detector nor has its table hash compared.
func (c *MembershipCoordinator) handleHeartbeat(now time.Time, m Message) {
	d := &c.detect
	c.stats.HeartbeatsReceived++
	if c.isWatched(m.From) {
		if seen, ok := d.hbSeen[m.From]; ok && seen.nodeID == m.FromID && m.Seq <= seen.seq {
			c.stats.HeartbeatsStale++
			return
		}
		d.hbSeen[m.From] = heartbeatSeen{nodeID: m.FromID, seq: m.Seq}
		c.compareHash(now, m)
		d.detector.Heartbeat(m.From, now)
		delete(d.silent, m.From)
	} else {
		c.compareHash(now, m)
		if c.state == CoordinatorMember {
			// The sender takes us for one of its monitors, so it misses
			// members between it and us that we know: tell it who our
			// predecessors are.
			records := []NodeRecord{c.life.self.Clone()}
			for _, a := range d.watched {
				if r, ok := c.table.Get(a); ok && a != m.From {
					records = append(records, r)
				}
			}
			c.replyRecords(now, records)
		}
	}
	c.remindSuspect(now, m)
}
