package core

import (
	"fmt"
	"time"
)

// HandleGossip handles any inbound message, dispatching on its Kind. A
// malformed message (unknown kind, empty sender, a record failing validation,
// a digest of a bad size) is refused whole with an error wrapping
// ErrInvalidMessage, before anything changes. A message from an instance this
// node holds Dead or Removed is refused with a *QuarantinedError, except for
// what it says about this node (so a live node declared Dead still learns it)
// and join requests (answered, so the sender learns its fate); its sender is
// told the record held for it. It returns ErrNotStarted when Stopped.
func (c *MembershipCoordinator) HandleGossip(now time.Time, in GossipInbound) (Outcome, error) {
	if c.state == CoordinatorStopped {
		return Outcome{}, ErrNotStarted
	}
	c.observe(now)
	m := in.Message
	if err := c.validateMessage(m); err != nil {
		c.stats.MessagesRejected++
		return c.finish(), err
	}
	err := c.dispatch(now, m)
	if err != nil {
		c.stats.MessagesRejected++
	} else {
		c.stats.MessagesHandled++
	}
	c.drain(now)
	return c.finish(), err
}

// HandleHeartbeat handles an inbound heartbeat; any other kind is refused
// with ErrInvalidMessage. HandleGossip accepts heartbeats too.
func (c *MembershipCoordinator) HandleHeartbeat(now time.Time, in GossipInbound) (Outcome, error) {
	if c.state != CoordinatorStopped && in.Message.Kind != MessageHeartbeat {
		c.stats.MessagesRejected++
		return Outcome{}, fmt.Errorf("%w: HandleHeartbeat got a %s message", ErrInvalidMessage, in.Message.Kind)
	}
	return c.HandleGossip(now, in)
}

// validateMessage checks the envelope and every record, so that a bad
// message is refused before it changes anything.
func (c *MembershipCoordinator) validateMessage(m Message) error {
	switch {
	case !m.Kind.Valid():
		return fmt.Errorf("%w: unknown kind %d", ErrInvalidMessage, uint8(m.Kind))
	case m.From == "":
		return fmt.Errorf("%w: empty From", ErrInvalidMessage)
	case m.FromID == "":
		return fmt.Errorf("%w: empty FromID (from %s)", ErrInvalidMessage, m.From)
	case m.From == c.cfg.Authority && m.FromID == c.cfg.NodeID:
		return fmt.Errorf("%w: a message from this node itself", ErrInvalidMessage)
	case m.Kind == MessageDigest && !validBucketCount(len(m.Digest)):
		return fmt.Errorf("%w: digest of %d buckets from %s", ErrInvalidMessage, len(m.Digest), m.From)
	case m.Kind == MessageHeartbeat && len(m.Digest) > 1:
		return fmt.Errorf("%w: heartbeat with %d hashes from %s", ErrInvalidMessage, len(m.Digest), m.From)
	}
	for _, r := range m.Entries {
		if err := c.validateRecord(r); err != nil {
			return fmt.Errorf("%w: from %s: %w", ErrInvalidMessage, m.From, err)
		}
	}
	for _, w := range m.Want {
		if w >= 1024 {
			return fmt.Errorf("%w: want bucket %d from %s", ErrInvalidMessage, w, m.From)
		}
	}
	return nil
}

// validateRecord checks one record against the record rules.
func (c *MembershipCoordinator) validateRecord(r NodeRecord) error {
	return r.validate(c.cfg.MaxMetadataBytes)
}

// dispatch handles a valid message.
func (c *MembershipCoordinator) dispatch(now time.Time, m Message) error {
	// The sender's own record first: it may be the refutation that makes the
	// rest of the message acceptable.
	for _, r := range m.Entries {
		if r.Authority == m.From && r.NodeID == m.FromID {
			c.applyRecord(now, r, m.From)
			break
		}
	}
	if held, dead := c.senderDead(m); dead {
		for _, r := range m.Entries {
			if r.Authority == c.cfg.Authority {
				c.applyRecord(now, r, m.From)
			}
		}
		if m.Kind == MessageJoinRequest {
			c.serveJoin(m)
			return nil
		}
		c.notify(now, m.From, held)
		return &QuarantinedError{Authority: held.Authority, Incarnation: held.Incarnation}
	}
	switch m.Kind {
	case MessageHeartbeat:
		c.applyRecords(now, m)
		c.handleHeartbeat(now, m)
	case MessageGossip:
		if m.Seq != 0 {
			// The answer to our digest reply's Want: a repair, merged quietly.
			c.quiet = true
			c.stats.AntiEntropyRepairs += uint64(c.applyRecords(now, m))
			c.quiet = false
		} else {
			c.applyRecords(now, m)
		}
	case MessageJoinRequest:
		c.applyRecords(now, m)
		c.admit(now, m)
		c.serveJoin(m)
	case MessageJoinReply:
		// The seed's view is old news to everyone but us: merge it without
		// queueing it for gossip.
		c.quiet = true
		c.applyRecords(now, m)
		c.quiet = false
		if c.joinPending {
			c.joined(now)
		}
	case MessageDigest:
		c.applyRecords(now, m)
		c.serveDigest(m)
	case MessageDigestReply:
		c.quiet = true
		c.stats.AntiEntropyRepairs += uint64(c.applyRecords(now, m))
		c.quiet = false
		c.answerWant(m)
	}
	return nil
}

// senderDead reports whether the sender is an instance held Dead or Removed,
// and the record held for it.
func (c *MembershipCoordinator) senderDead(m Message) (NodeRecord, bool) {
	r, ok := c.table.Get(m.From)
	return r, ok && r.NodeID == m.FromID && r.Status.IsTombstone()
}

// applyRecords applies every record of m and returns how many changed the
// table.
func (c *MembershipCoordinator) applyRecords(now time.Time, m Message) int {
	n := 0
	for _, r := range m.Entries {
		if c.applyRecord(now, r, m.From) {
			n++
		}
	}
	return n
}

// applyRecord merges one record learnt from from. Records of this node's
// authority go to applySelfRecord; a tombstone of an authority this node
// does not hold is ignored (it was pruned here, or never known: taking it
// would resurrect pruned tombstones forever). It reports whether the table
// changed.
func (c *MembershipCoordinator) applyRecord(now time.Time, r NodeRecord, from string) bool {
	if r.Authority == c.cfg.Authority {
		c.applySelfRecord(now, r, from)
		return false
	}
	if r.Status.IsTombstone() {
		if _, ok := c.table.Get(r.Authority); !ok {
			return false
		}
	}
	changed, err := c.table.Merge(now, r)
	if err != nil {
		c.stats.RecordsRejected++
		return false
	}
	if changed {
		c.drain(now)
	} else {
		c.engine.Heard(r, c.clusterSize())
	}
	if r.Status == StatusSuspect && from != r.Authority {
		if s, ok := c.susp[r.Authority]; ok && s.incarnation == r.Incarnation && s.confirm(from) {
			c.updateSuspicionDeadline()
		}
	}
	return changed
}

// applySelfRecord reacts to a record of this node's own authority; see
// "Restart and conflicts" on MembershipCoordinator.
func (c *MembershipCoordinator) applySelfRecord(now time.Time, r NodeRecord, from string) {
	if c.state != CoordinatorMember {
		return
	}
	if !r.Supersedes(c.self) {
		if r.NodeID == c.self.NodeID && (r.Status == StatusSuspect || r.Status == StatusDead) {
			c.notify(now, from, c.self) // the sender holds stale news of us
		}
		return
	}
	if c.leaving && (r.Status == StatusRemoved || r.Status == StatusLeaving || r.Status == StatusDead) {
		return // we are going anyway
	}
	if r.NodeID == c.self.NodeID && r.Incarnation == c.self.Incarnation && r.Status == StatusUp {
		// A seed admitted us (Joining → Up): take it as it is.
		c.self.Status = StatusUp
		c.storeSelf(now)
		return
	}
	if r.NodeID != c.self.NodeID && r.Status.IsActive() && now.Sub(c.startedAt) >= claimWindowFactor*c.cfg.AntiEntropyInterval {
		c.yield(now)
		return
	}
	if r.Incarnation >= maxRefutableIncarnation {
		// Nothing this node could send would supersede it (only a forgery
		// gets here): keep our record rather than wrap the incarnation to 0.
		return
	}
	// Refute (our instance), or take over (another instance's tombstone, or
	// an older instance during the claim window).
	if r.NodeID != c.self.NodeID {
		c.stats.Conflicts++
	}
	c.stats.Refutations++
	c.self.Incarnation = r.Incarnation + 1
	if c.self.Status != StatusJoining && c.self.Status != StatusLeaving {
		c.self.Status = StatusUp
	}
	c.storeSelf(now)
	if r.NodeID == c.self.NodeID {
		c.notify(now, from, c.self)
	}
}

// maxRefutableIncarnation is the highest incarnation of a record of this
// node's authority that it answers by raising its own above it: one below
// the largest, so that a leave can still raise it once more.
const maxRefutableIncarnation = ^uint64(0) - 1

// yield gives the authority up to a newer instance: a conflict event, and
// the coordinator stops.
func (c *MembershipCoordinator) yield(now time.Time) {
	c.stats.Conflicts++
	c.out.Members = append(c.out.Members, MemberEvent{Record: c.self.Clone(), From: c.self.Status, To: c.self.Status, At: now, Conflict: true})
	c.state = CoordinatorStopped
	c.leaving = false
}

// storeSelf writes the own record into the table; it always supersedes the
// record held, by construction.
func (c *MembershipCoordinator) storeSelf(now time.Time) {
	if _, err := c.table.Merge(now, c.self); err != nil {
		// Only quarantine can refuse it: jump above the quarantined incarnation.
		if e, ok := c.quarantine.Lookup(c.self.Authority); ok {
			c.self.Incarnation = e.Incarnation + 1
			_, _ = c.table.Merge(now, c.self)
		}
	}
	c.drain(now)
}

// notify sends target the record held for it (at most once per
// HeartbeatInterval per target), so that a live node held Suspect or Dead
// learns it and refutes, and a node that holds stale news of us learns
// better.
func (c *MembershipCoordinator) notify(now time.Time, target string, r NodeRecord) {
	if t, ok := c.lastNotice[target]; ok && now.Sub(t) < c.cfg.HeartbeatInterval {
		return
	}
	c.lastNotice[target] = now
	records := []NodeRecord{r.Clone()}
	if c.state == CoordinatorMember && r.Authority != c.cfg.Authority {
		records = append(records, c.self.Clone())
	}
	c.sendRecords(target, records)
}

// sendRecords sends target the records in as few gossip messages as the size
// budget allows.
func (c *MembershipCoordinator) sendRecords(target string, records []NodeRecord) {
	for _, m := range packMessages(c.newMessage(MessageGossip), records, c.cfg.MaxMessageBytes, false) {
		c.send(target, m)
	}
}

// notifyRecords sends target the records held for authorities, under the
// same rate limit as notify.
func (c *MembershipCoordinator) notifyRecords(now time.Time, target string, authorities []string) {
	if t, ok := c.lastNotice[target]; ok && now.Sub(t) < c.cfg.HeartbeatInterval {
		return
	}
	c.lastNotice[target] = now
	records := []NodeRecord{c.self.Clone()}
	for _, a := range authorities {
		if r, ok := c.table.Get(a); ok && a != target {
			records = append(records, r)
		}
	}
	c.sendRecords(target, records)
}

// handleHeartbeat feeds a heartbeat from a watched member to the detector,
// and tells a sender held Suspect that it is. A heartbeat from a watched
// member whose Seq is not above the last one fed to the detector from the
// same instance (a replayed or reordered datagram) is not an arrival: it
// neither feeds the detector nor has its table hash compared.
func (c *MembershipCoordinator) handleHeartbeat(now time.Time, m Message) {
	c.stats.HeartbeatsReceived++
	if c.isWatched(m.From) {
		if seen, ok := c.hbSeen[m.From]; ok && seen.nodeID == m.FromID && m.Seq <= seen.seq {
			c.stats.HeartbeatsStale++
			return
		}
		c.hbSeen[m.From] = heartbeatSeen{nodeID: m.FromID, seq: m.Seq}
		c.compareHash(now, m)
		c.detector.Heartbeat(m.From, now)
		delete(c.silent, m.From)
	} else {
		c.compareHash(now, m)
		if c.state == CoordinatorMember {
			// The sender takes us for one of its monitors, so it misses
			// members between it and us that we know: tell it who our
			// predecessors are.
			c.notifyRecords(now, m.From, c.watched)
		}
	}
	if s, ok := c.susp[m.From]; ok {
		if r, held := c.table.Get(m.From); held && r.NodeID == m.FromID && r.Status == StatusSuspect && r.Incarnation == s.incarnation {
			c.notify(now, m.From, r)
		}
	}
}

// admit accepts a joiner: a member that sent its own record as Joining is
// made Up at that incarnation (as Akka's leader moves Joining to Up), so the
// cluster gossips one record per joiner, not two. The joiner itself turns Up
// at the same incarnation when the reply arrives: the same record.
func (c *MembershipCoordinator) admit(now time.Time, m Message) {
	if c.state != CoordinatorMember {
		return
	}
	if c.self.Status == StatusJoining && !c.joinPending {
		c.joined(now) // the first member of a cluster, asked before its first Poll
	}
	if r, ok := c.table.Get(m.From); ok && r.NodeID == m.FromID && r.Status == StatusJoining {
		if _, err := c.table.Transition(now, m.From, StatusUp, r.Incarnation); err == nil {
			c.drain(now)
		}
	}
}

// compareHash compares the table hash a heartbeat carries with ours. Views
// that differ are repaired at once by an anti-entropy exchange with the
// sender (at most one such exchange per two heartbeat intervals), so a record
// that gossip missed does not wait for the next periodic exchange: on the
// first mismatch when this node has nothing queued for gossip (its own
// gossip will not close the gap), else after hashMismatches heartbeats in a
// row (a change still spreading gets the chance to arrive first).
func (c *MembershipCoordinator) compareHash(now time.Time, m Message) {
	if len(m.Digest) != 1 || c.state == CoordinatorStopped {
		return
	}
	if m.Digest[0] == c.table.Hash() {
		delete(c.mismatch, m.From)
		return
	}
	c.mismatch[m.From]++
	need := hashMismatches
	if c.engine.Pending() == 0 {
		// Nothing queued here: gossip from this node will not close the gap.
		need = 1
	}
	if c.mismatch[m.From] < need || now.Before(c.nextHashRepair) {
		return
	}
	if _, _, busy := c.engine.Exchange(); busy {
		return
	}
	delete(c.mismatch, m.From)
	c.nextHashRepair = now.Add(2 * c.cfg.HeartbeatInterval)
	c.exchangeWith(now, m.From)
}

// hashMismatches is how many heartbeats in a row must carry a table hash
// different from ours before an anti-entropy exchange repairs the difference:
// enough for a change still spreading by gossip to arrive first.
const hashMismatches = 3

// serveJoin answers a join request with this node's view: the active records
// and any record of the joiner's authority, over as many replies as needed.
func (c *MembershipCoordinator) serveJoin(m Message) {
	var view []NodeRecord
	for _, r := range c.table.Snapshot() {
		if r.Status.IsActive() || r.Authority == m.From {
			view = append(view, r)
		}
	}
	base := c.newMessage(MessageJoinReply)
	base.Seq = m.Seq
	for _, reply := range packMessages(base, view, c.cfg.MaxMessageBytes, true) {
		c.send(m.From, reply)
	}
	c.stats.JoinRequestsServed++
}

// serveDigest answers a digest with the records of the buckets that differ,
// and asks for the sender's records of those buckets.
func (c *MembershipCoordinator) serveDigest(m Message) {
	n := len(m.Digest)
	mine := c.buckets
	var snapshot []NodeRecord
	if n != c.nbuckets {
		snapshot = c.table.Snapshot()
		mine = Digest(snapshot, n)
	}
	diff := DiffBuckets(m.Digest, mine)
	base := c.newMessage(MessageDigestReply)
	base.Seq = m.Seq
	base.Want = diff
	for len(base.Want) > 0 && EstimateSize(base)+minRecordBytes > c.cfg.MaxMessageBytes {
		base.Want = base.Want[:len(base.Want)/2]
	}
	var records []NodeRecord
	if len(diff) > 0 {
		if snapshot == nil {
			snapshot = c.table.Snapshot()
		}
		records = RecordsInBuckets(snapshot, n, diff)
	}
	for _, reply := range packMessages(base, records, c.cfg.MaxMessageBytes, true) {
		c.send(m.From, reply)
	}
}

// answerWant ends the exchange and sends the peer this node's records of the
// buckets it wants. A late reply to a digest sent before the bucket count
// last changed names buckets of the old count: it is not answered (the next
// exchange repairs what it would have).
func (c *MembershipCoordinator) answerWant(m Message) {
	c.engine.EndExchange(m.Seq)
	if m.Seq < c.bucketsSince {
		return
	}
	var want []uint32
	for _, w := range m.Want {
		if int(w) < c.nbuckets {
			want = append(want, w)
		}
	}
	if len(want) == 0 {
		return
	}
	records := RecordsInBuckets(c.table.Snapshot(), c.nbuckets, want)
	base := c.newMessage(MessageGossip)
	base.Seq = m.Seq // marks the gossip as a repair
	for _, msg := range packMessages(base, records, c.cfg.MaxMessageBytes, false) {
		c.send(m.From, msg)
	}
}
