package core

import (
	"fmt"
	"slices"
	"time"
)

// HandleGossip handles any inbound message, dispatching on its Kind. A
// malformed message (unknown kind, empty sender, a record failing validation,
// a digest of a bad size) is refused whole with an error wrapping
// ErrInvalidMessage, before anything changes. A message from an instance this
// node holds Dead or Removed is refused with a *QuarantinedError, except for
// what it says about this node (so a live node declared Dead still learns it)
// and join requests (answered, so the sender learns its fate); its sender is
// told the record held for it. A message that carries its sender's own
// record, which Config.Admit refuses, is refused whole with an error that
// wraps Admit's. Replies go to in.Source, bounded as "Address validation"
// in the package documentation says. It returns ErrNotStarted when Stopped.
func (c *MembershipCoordinator) HandleGossip(now time.Time, in GossipInbound) (Outcome, error) {
	now = c.clock.protocol(now)
	if c.state == CoordinatorStopped {
		return Outcome{}, ErrNotStarted
	}
	c.observe(now)
	m := in.Message
	if err := c.validateMessage(m); err != nil {
		c.stats.MessagesRejected++
		return c.finish(), err
	}
	c.heard(now)
	c.beginReply(now, in)
	err := c.dispatch(now, in)
	c.endReply()
	if err != nil {
		c.stats.MessagesRejected++
	} else {
		c.stats.MessagesHandled++
	}
	c.drain(now, gossipOn)
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
	case len(m.Cookie) > maxCookieBytes:
		return fmt.Errorf("%w: cookie of %d bytes from %s", ErrInvalidMessage, len(m.Cookie), m.From)
	case m.Kind == MessageCookie && len(m.Cookie) != cookieBytes:
		return fmt.Errorf("%w: cookie challenge with a cookie of %d bytes from %s", ErrInvalidMessage, len(m.Cookie), m.From)
	case m.Kind == messageProbeRequest && (len(m.Entries) != 1 || m.Entries[0].Status != StatusSuspect || m.Entries[0].Authority == m.From):
		return fmt.Errorf("%w: a probe request from %s must name one Suspect member other than its sender", ErrInvalidMessage, m.From)
	case (m.Kind == messageProbe && len(m.Entries) > maxProbeEntries) || (m.Kind == messageProbeAck && len(m.Entries) > 0):
		return fmt.Errorf("%w: %s with %d records from %s", ErrInvalidMessage, m.Kind, len(m.Entries), m.From)
	}
	for _, r := range m.Entries {
		if err := c.validateRecord(r); err != nil {
			return fmt.Errorf("%w: from %s: %w", ErrInvalidMessage, m.From, err)
		}
	}
	for _, w := range m.Want {
		if w >= maxPeerDigestBuckets {
			return fmt.Errorf("%w: want bucket %d from %s", ErrInvalidMessage, w, m.From)
		}
	}
	if err := c.validateUserMessages(m); err != nil {
		return err
	}
	return validateAccusations(m)
}

// validateAccusations checks that every accusation names a Suspect record of
// m, at most once, with between 1 and maxSuspectors non-empty suspectors.
func validateAccusations(m Message) error {
	if len(m.Accusations) == 0 {
		return nil
	}
	if len(m.Accusations) > len(m.Entries) {
		return fmt.Errorf("%w: %d accusations for %d records from %s", ErrInvalidMessage, len(m.Accusations), len(m.Entries), m.From)
	}
	accused := make([]bool, len(m.Entries))
	for i, acc := range m.Accusations {
		switch {
		case int64(acc.Entry) >= int64(len(m.Entries)):
			return fmt.Errorf("%w: accusation %d names record %d of %d from %s", ErrInvalidMessage, i, acc.Entry, len(m.Entries), m.From)
		case m.Entries[acc.Entry].Status != StatusSuspect:
			return fmt.Errorf("%w: accusation %d names a %s record from %s", ErrInvalidMessage, i, m.Entries[acc.Entry].Status, m.From)
		case len(acc.Suspectors) == 0 || len(acc.Suspectors) > maxSuspectors:
			return fmt.Errorf("%w: accusation %d names %d suspectors from %s (want 1 to %d)", ErrInvalidMessage, i, len(acc.Suspectors), m.From, maxSuspectors)
		case slices.Contains(acc.Suspectors, ""):
			return fmt.Errorf("%w: accusation %d names an empty suspector from %s", ErrInvalidMessage, i, m.From)
		}
		if accused[acc.Entry] {
			return fmt.Errorf("%w: two accusations for record %d from %s", ErrInvalidMessage, acc.Entry, m.From)
		}
		accused[acc.Entry] = true
	}
	return nil
}

// validateRecord checks one record against the record rules.
func (c *MembershipCoordinator) validateRecord(r NodeRecord) error {
	return r.validate(c.cfg.MaxMetadataBytes)
}

// dispatch handles a valid message.
func (c *MembershipCoordinator) dispatch(now time.Time, in GossipInbound) error {
	m := in.Message
	if m.Kind == MessageCookie {
		// Only a cookie for a request in flight is taken, whoever sends it.
		c.takeChallenge(now, in)
		return nil
	}
	// The sender's own record first: it may be the refutation that makes the
	// rest of the message acceptable, or a member Config.Admit refuses, whose
	// message is refused whole.
	for _, r := range m.Entries {
		if r.Authority == m.From && r.NodeID == m.FromID {
			if err := c.admission(r); err != nil {
				return err
			}
			c.applyRecord(now, r, m.From, gossipOn)
			break
		}
	}
	if held, dead := c.senderDead(m); dead {
		return c.refuseDeadSender(now, m, held)
	}
	c.heardAlive(now, m, in.Source)
	c.heardAsAlive(m)
	switch m.Kind {
	case MessageHeartbeat:
		c.applyRecords(now, m, gossipOn)
		c.handleHeartbeat(now, m)
		c.takeUserMessages(now, m)
	case MessageGossip:
		if m.Seq != 0 {
			// The answer to our digest reply's Want: a repair.
			c.stats.AntiEntropyRepairs += uint64(c.applyRecords(now, m, oldNews))
		} else {
			c.applyRecords(now, m, gossipOn)
		}
		c.takeUserMessages(now, m)
	case MessageUser:
		c.takeUserMessages(now, m)
	case MessageJoinRequest:
		c.applyRecords(now, m, gossipOn)
		c.admit(now, m)
		c.serveJoin(now, m)
	case MessageJoinReply:
		// The seed's view is old news to everyone but us.
		c.takeTombstones(now, m)
		// Nearly every record is new to a joiner: one member event each,
		// room made at once rather than by doubling.
		c.out.Members = slices.Grow(c.out.Members, len(m.Entries))
		c.applyRecords(now, m, oldNews)
		c.takeJoinReplyCookie(now, in)
		if c.join.pending {
			c.joined(now)
		}
	case MessageDigest:
		c.applyRecords(now, m, gossipOn)
		c.serveDigest(now, m)
	case MessageDigestReply:
		c.stats.AntiEntropyRepairs += uint64(c.applyRecords(now, m, oldNews))
		c.answerWant(now, in)
	case messageProbeRequest:
		c.applyRecords(now, m, gossipOn)
		c.serveProbeRequest(now, m)
	case messageProbe:
		c.applyRecords(now, m, gossipOn)
		c.answerProbe(m)
	case messageProbeAck:
		c.applyRecords(now, m, gossipOn)
		c.takeProbeAck(now, m)
	}
	if m.Kind != MessageHeartbeat && m.Kind != MessageJoinRequest && c.fromHeldMember() {
		c.remindSuspect(now, m) // heartbeats: see handleHeartbeat
	}
	return nil
}

// refuseDeadSender handles a message from an instance held Dead or Removed:
// only what it says about this node is taken (so a live node declared Dead
// still learns it), a join request is answered (so the sender learns its
// fate), and the sender is told the record held for it.
func (c *MembershipCoordinator) refuseDeadSender(now time.Time, m Message, held NodeRecord) error {
	for _, r := range m.Entries {
		if r.Authority == c.cfg.Authority {
			c.applyRecord(now, r, m.From, gossipOn)
		}
	}
	if m.Kind == MessageJoinRequest {
		c.serveJoin(now, m)
		return nil
	}
	if m.Kind == messageProbe {
		// Whether this node is alive does not depend on what it holds of
		// the prober: a prober that does not hear the answer would declare
		// it Dead in error.
		c.answerProbe(m)
	}
	c.tellSender(now, held)
	return &QuarantinedError{Authority: held.Authority, Incarnation: held.Incarnation}
}

// senderDead reports whether the sender is an instance held Dead or Removed,
// or remembered so after its tombstone was pruned (coordinator_past.go),
// and the record held or remembered for it.
func (c *MembershipCoordinator) senderDead(m Message) (NodeRecord, bool) {
	r, ok := c.table.Get(m.From)
	if ok && r.NodeID == m.FromID {
		return r, r.Status.IsTombstone()
	}
	return c.pastSender(m)
}

// applyRecords applies every record of m and returns how many changed the
// table; n says whether the changes are news to gossip on.
func (c *MembershipCoordinator) applyRecords(now time.Time, m Message, n news) int {
	changed := 0
	for i, r := range m.Entries {
		c.table.hint = m.sharedAt(i)
		if c.applyRecord(now, r, m.From, n) {
			changed++
		}
	}
	c.table.hint = sharedRecord{}
	c.takeAccusations(m)
	return changed
}

// applyRecord merges one record learnt from from. Records of this node's
// authority go to applySelfRecord; a tombstone of an authority this node
// does not hold is ignored (it was pruned here, or never known: taking it
// would resurrect pruned tombstones forever). It reports whether the table
// changed; n says whether a change is news to gossip on.
func (c *MembershipCoordinator) applyRecord(now time.Time, r NodeRecord, from string, n news) bool {
	if r.Authority == c.cfg.Authority {
		c.applySelfRecord(now, r)
		return false
	}
	if r.Status.IsTombstone() && !c.table.Has(r.Authority) {
		return false
	}
	if c.refusePast(now, r, from) {
		return false
	}
	if c.answerStale(now, r) {
		return false
	}
	// A death learnt from a repair, about a member heard from a moment ago
	// (see aliveState), or whose suspicion never reached this node (see
	// verdictUnheralded), about the instance held active, is a suspicion
	// here (suspectReported); one about another instance is merged as any
	// record (a successor outranks its predecessor's tombstone).
	if r.Status == StatusDead && (n == oldNews || c.heardRecently(now, r.Authority) || c.verdictUnheralded(now, r)) {
		if held, ok := c.table.Get(r.Authority); ok && held.NodeID == r.NodeID && held.Status.IsActive() {
			c.suspectReported(now, r)
			return false
		}
	}
	if c.admission(r) != nil {
		return false
	}
	changed, err := c.table.Merge(now, r)
	if err != nil {
		c.stats.RecordsRejected++
		return false
	}
	if changed {
		c.drain(now, n)
	} else {
		c.engine.Heard(r, c.clusterSize())
	}
	if r.Status == StatusSuspect && n == gossipOn {
		c.heraldSuspicion(r)
	}
	return changed
}
