package core

import (
	"slices"
	"time"
)

// antiEntropyState is anti-entropy: the bucket sums of the table that a
// digest carries, the exchanges this node starts (periodically, after a
// heartbeat whose table hash differs, and around joins), and its answers to
// the peers' digests. The exchange in flight is the gossipEngine's
// (Reconciling). See "Dissemination and repair" in the package
// documentation.
type antiEntropyState struct {
	// Incremental bucket sums of the table, over nbuckets buckets
	// (bucketsFor the table's size, at most maxBuckets); resized only when
	// an exchange starts.
	nbuckets   int
	maxBuckets int
	buckets    []uint64

	next  time.Time // next periodic exchange
	retry bool      // the exchange in flight repeats one a cookie challenge answered
	// The digest of the exchange in flight (its peer and number are the
	// gossipEngine's): its bucket count, and whether it was a summary.
	inFlight sentDigest
	// Digests sent whose replies are still answered: the last exchange
	// ended (its reply may come in parts) and the last witnesses asked.
	ended       sentDigest
	witnesses   [4]sentDigest
	nextWitness int

	mismatch map[string]int // heartbeats in a row whose table hash differed from ours, by sender
	// No exchange started because of a peer's message (a table hash that
	// differs, a summary that differs) before this.
	nextPeerRepair time.Time
	// The member (authority, node ID) whose summary this node still has to
	// descend from (see pollDescent), or "".
	descendTo, descendID string
}

func newAntiEntropyState(cfg Config) antiEntropyState {
	return antiEntropyState{
		nbuckets:   1,
		maxBuckets: digestBuckets(cfg.MaxMessageBytes, cfg.Authority, cfg.NodeID),
		buckets:    make([]uint64, 1),
		mismatch:   map[string]int{},
	}
}

// maxPeerDigestBuckets bounds what a peer may send: a digest of at most this
// many buckets, and Want indexes below it. It is 8 × maxDigestBuckets, so
// that a later version may send larger digests, and small enough that a
// hostile digest or Want costs little to answer.
const maxPeerDigestBuckets = 1024

// hashMismatches is how many heartbeats in a row must carry a table hash
// different from ours before an anti-entropy exchange repairs the difference:
// enough for a change still spreading by gossip to arrive first.
const hashMismatches = 3

// aeInterval is how often anti-entropy runs: AntiEntropyInterval for a
// member; a client, which nobody gossips to, pulls every HeartbeatInterval.
func (c *MembershipCoordinator) aeInterval() time.Duration {
	if c.state == CoordinatorClient {
		return min(c.cfg.AntiEntropyInterval, c.cfg.HeartbeatInterval)
	}
	return c.cfg.AntiEntropyInterval
}

// nextAntiEntropy is when the periodic exchange after one at now is due:
// aeInterval on average, drawn uniformly from ±25% around it, so that members
// whose timers were aligned (say, by joining together and running their early
// post-join exchanges at the same moment) drift apart rather than all sending
// digests in the same second.
func (c *MembershipCoordinator) nextAntiEntropy(now time.Time) time.Time {
	d := c.aeInterval()
	return now.Add(d*3/4 + time.Duration(c.rng.Int64N(int64(d/2)+1)))
}

// pollExchangeTimeout abandons an exchange whose reply did not come in time;
// the next periodic exchange is then drawn afresh.
func (c *MembershipCoordinator) pollExchangeTimeout(now time.Time) {
	if c.engine.Expire(now) {
		c.ae.next = c.nextAntiEntropy(now)
	}
}

// pollAntiEntropy starts the periodic exchange when it is due (and the next
// early exchange after a join, if one is left). A member's periodic exchange
// sends a summary; the early exchanges after a join, which expect to find
// differences, send the whole digest.
func (c *MembershipCoordinator) pollAntiEntropy(now time.Time) {
	if now.Before(c.ae.next) {
		return
	}
	c.ae.next = c.nextAntiEntropy(now)
	c.startAntiEntropy(now, c.state == CoordinatorMember && c.join.repairs == 0)
	c.nextJoinRepair(now)
}

// startAntiEntropy sends a digest of the table (a summary if summary is
// set) to one random peer.
func (c *MembershipCoordinator) startAntiEntropy(now time.Time, summary bool) {
	if _, _, busy := c.engine.Exchange(); busy {
		return
	}
	peers := c.randomPeers(1)
	if len(peers) == 0 {
		return
	}
	c.startExchange(now, peers[0], summary)
}

// exchangeWith sends peer the whole digest of the table, starting an
// exchange.
func (c *MembershipCoordinator) exchangeWith(now time.Time, peer string) {
	c.startExchange(now, peer, false)
}

// startExchange sends peer a digest of the table, a summary if summary is
// set, starting an exchange.
func (c *MembershipCoordinator) startExchange(now time.Time, peer string, summary bool) {
	c.ae.retry = false
	c.ae.inFlight = c.sendDigest(peer, summary)
	c.engine.StartExchange(peer, c.ae.inFlight.seq, now.Add(c.aeInterval()/2))
}

// summaryBuckets is the bucket count of a summary: the digest a member's
// periodic exchange sends once the table has more buckets than this, each
// of its sums the sum of the table's buckets that share its index modulo
// summaryBuckets (bucket b of n holds the records of buckets b, b+n, ... of
// any larger power of two, so a summary is the digest of the table over
// summaryBuckets buckets). The table's buckets grow to maxDigestBuckets with
// its size (bucketsFor), so a whole digest costs more bytes per member as
// the cluster grows; a summary costs the same at any size, and between
// members whose views agree (the steady state) it is all an exchange sends.
// A peer that finds a summary differing in records too many for one
// message descends: it runs an exchange of its own with the whole digest
// (see serveDigest).
const summaryBuckets = 16

// sendDigest sends peer a digest of the table, or, if summary is set, its
// summary over at most summaryBuckets buckets, numbered with a new exchange
// number; it returns what it sent. The number is drawn at random: a reply
// is taken only when it names a digest this node sent, which proves its
// sender received the digest.
func (c *MembershipCoordinator) sendDigest(peer string, summary bool) sentDigest {
	ae := &c.ae
	seq := randomSeq(c.rng)
	c.resizeBuckets()
	m := c.newMessage(MessageDigest)
	m.Seq = seq
	if summary && ae.nbuckets > summaryBuckets {
		m.Digest = foldBuckets(ae.buckets, summaryBuckets)
	} else {
		m.Digest = slices.Clone(ae.buckets)
	}
	id, _, _ := c.table.Instance(peer)
	c.requestCookie(&m, peer, id)
	c.send(peer, m)
	c.stats.AntiEntropyRounds++
	n := len(m.Digest)
	return sentDigest{peer: peer, seq: seq, nbuckets: n, summary: n < ae.nbuckets}
}

// askWitness sends peer a digest outside the exchange in flight, only for
// its answer, which shows that this node hears (see unheardSince); the
// answer repairs both tables like any exchange's.
func (c *MembershipCoordinator) askWitness(peer string) {
	ae := &c.ae
	ae.witnesses[ae.nextWitness%len(ae.witnesses)] = c.sendDigest(peer, false)
	ae.nextWitness++
}

// endExchange ends the exchange in flight, numbered seq, remembering it for
// the parts of its reply still to come.
func (c *MembershipCoordinator) endExchange(seq uint64) {
	if c.engine.EndExchange(seq) {
		c.ae.ended = c.ae.inFlight
	}
}

// sentDigestTo returns the peer a reply numbered seq from in's sender
// answers, and the bucket count of the digest it answers, when it answers a
// digest this node sent outside the exchange in flight (the last exchange
// ended, or a witness's) and the table's bucket count is still the one it
// was sent with (or the digest was a summary, whose count never changes).
func (c *MembershipCoordinator) sentDigestTo(in GossipInbound) (string, int, bool) {
	ae := &c.ae
	m := in.Message
	for _, d := range append([]sentDigest{ae.ended}, ae.witnesses[:]...) {
		current := d.nbuckets == ae.nbuckets || d.summary
		if d.seq != 0 && m.Seq == d.seq && (m.From == d.peer || in.Source == d.peer) && current {
			return d.peer, d.nbuckets, true
		}
	}
	return "", 0, false
}

// takeChallenge takes a cookie challenge answering a request in flight: the
// digest of the exchange in flight (which is then sent again with the
// cookie, once), a witness's digest, or the join requests of the round in
// flight. Any other is ignored: a cookie is kept only from a peer this node
// asked.
func (c *MembershipCoordinator) takeChallenge(now time.Time, in GossipInbound) {
	m := in.Message
	peer, seq, ok := c.engine.Exchange()
	if !ok || m.Seq != seq || (m.From != peer && in.Source != peer) {
		if peer, _, ok := c.sentDigestTo(in); ok {
			c.keepCookie(now, peer, m.Cookie)
			return
		}
		c.takeJoinChallenge(now, in)
		return
	}
	c.keepCookie(now, peer, m.Cookie)
	retried, summary := c.ae.retry, c.ae.inFlight.summary
	c.endExchange(seq)
	if !retried {
		c.startExchange(now, peer, summary)
		c.ae.retry = true
	}
}

// resizeBuckets fits the digest's bucket count to the table before a new
// exchange: it grows as soon as the table outgrows it, and shrinks only once
// the table fits a quarter of it, so a table whose size hovers around a
// boundary does not flip the count (and recompute the sums) every exchange.
func (c *MembershipCoordinator) resizeBuckets() {
	ae := &c.ae
	want := bucketsFor(c.table.Len(), ae.maxBuckets)
	if want == ae.nbuckets || (want < ae.nbuckets && 4*want > ae.nbuckets) {
		return
	}
	ae.nbuckets = want
	ae.buckets = c.table.digest(want)
}

// updateBuckets keeps the bucket sums in step with a change of the table.
func (c *MembershipCoordinator) updateBuckets(ev tableEvent) {
	ae := &c.ae
	v := ev.shared.Value()
	b := bucketAt(v.place, ae.nbuckets)
	switch {
	case ev.previous != (sharedRecord{}):
		prev := ev.previous.Value()
		ae.buckets[b] -= prev.hash // recordHash(ev.Previous), computed once
	case ev.HadPrevious:
		ae.buckets[b] -= recordHash(ev.Previous)
	}
	ae.buckets[b] += v.hash // recordHash(ev.Record), computed once
}

// removeFromBuckets takes a pruned record out of the bucket sums.
func (c *MembershipCoordinator) removeFromBuckets(r NodeRecord) {
	c.ae.buckets[digestBucket(r.Authority, c.ae.nbuckets)] -= recordHash(r)
}

// compareHash compares the table hash a heartbeat carries with ours. Views
// that differ are repaired at once by an anti-entropy exchange with the
// sender (at most one such exchange per two heartbeat intervals), so a record
// that gossip missed does not wait for the next periodic exchange: on the
// first mismatch when this node has nothing queued for gossip (its own
// gossip will not close the gap), else after hashMismatches heartbeats in a
// row (a change still spreading gets the chance to arrive first). Only the
// heartbeats of active members held (the sender's authority at its node ID)
// count: a stranger's heartbeat never starts an exchange, and the counters
// stay bounded by the members.
func (c *MembershipCoordinator) compareHash(now time.Time, m Message) {
	ae := &c.ae
	if len(m.Digest) != 1 || c.state == CoordinatorStopped || !c.isActiveMember(m.From, m.FromID) {
		return
	}
	if m.Digest[0] == c.table.Hash() {
		delete(ae.mismatch, m.From)
		return
	}
	ae.mismatch[m.From]++
	need := hashMismatches
	if c.engine.Pending() == 0 {
		// Nothing queued here: gossip from this node will not close the gap.
		need = 1
	}
	if ae.mismatch[m.From] < need || now.Before(ae.nextPeerRepair) {
		return
	}
	if _, _, busy := c.engine.Exchange(); busy {
		return
	}
	delete(ae.mismatch, m.From)
	ae.nextPeerRepair = now.Add(2 * c.cfg.HeartbeatInterval)
	c.exchangeWith(now, m.From)
}

// followMismatches drops the hash-mismatch counter of a member that is no
// longer active, or is another instance now, as the table changes.
func (c *MembershipCoordinator) followMismatches(ev tableEvent) {
	r := ev.Record
	if !r.Status.IsActive() || (ev.HadPrevious && ev.Previous.NodeID != r.NodeID) {
		delete(c.ae.mismatch, r.Authority)
	}
}

// isActiveMember reports whether the table holds authority as an active
// member with node ID id.
func (c *MembershipCoordinator) isActiveMember(authority, id string) bool {
	nodeID, status, ok := c.table.Instance(authority)
	return ok && nodeID == id && status.IsActive()
}

// serveDigest answers a digest with the records of the buckets that differ,
// and asks for the sender's records of those buckets, at the digest's
// source. A source that proved it receives there with a cookie gets the full
// answer, within the reply limits; any other gets the full answer only if it
// is one message no larger than the digest (with a cookie for next time, as
// between members whose views agree), else a cookie challenge.
//
// A summary (summaryBuckets buckets, where this node's table has more) from
// an active member held, whose differing buckets hold more records than one
// message carries, is answered as if it agreed, and this node descends: it
// runs an exchange of its own with the sender (at the member's authority),
// with its whole digest, which repairs both tables at the table's bucket
// count instead of sending the records of every differing summary bucket.
// The exchange starts at once, or, while one of its own is in flight or
// within two heartbeat intervals of the last exchange a peer's message
// started (as for a table hash that differs), as soon as that allows (see
// pollDescent).
func (c *MembershipCoordinator) serveDigest(now time.Time, m Message) {
	n := len(m.Digest)
	diff := diffBuckets(m.Digest, c.digestOver(n))
	var records []sharedRecord
	if len(diff) > 0 {
		records = c.table.sharedInBuckets(n, diff)
	}
	descend := len(diff) > 0 && c.descends(m, records)
	if descend {
		diff, records = nil, nil
	}
	base := c.newMessage(MessageDigestReply)
	base.Seq = m.Seq
	base.Want = diff
	validated := c.reply.in.validated
	if validated {
		base.Cookie = c.freshCookie(now)
	} else {
		base.Cookie = c.issueCookie(now, c.replyTarget())
	}
	for len(base.Want) > 0 && EstimateSize(base)+minRecordBytes > c.cfg.MaxMessageBytes {
		base.Want = base.Want[:len(base.Want)/2]
	}
	replies := packShared(base, records, c.cfg.MaxMessageBytes, true)
	target := c.replyTarget()
	switch {
	case validated:
		if !c.mayAnswerInFull(now, m) {
			return
		}
	case len(replies) == 1 && EstimateSize(replies[0]) <= c.reply.in.budget:
		if !c.replySmall(now, replies[0]) {
			return
		}
		c.stats.DigestsServed++
		c.descend(now, m, descend)
		return
	default:
		c.challenge(now, m)
		return
	}
	for _, reply := range replies {
		c.send(target, reply)
	}
	c.stats.DigestsServed++
	c.descend(now, m, descend)
}

// digestOver returns the sums of the table over n buckets: the
// incremental sums, folded when n divides their count, else summed afresh.
func (c *MembershipCoordinator) digestOver(n int) []uint64 {
	ae := &c.ae
	switch {
	case n == ae.nbuckets:
		return ae.buckets
	case n < ae.nbuckets && ae.nbuckets%n == 0:
		return foldBuckets(ae.buckets, n)
	}
	return c.table.digest(n)
}

// descends reports whether a digest m whose differing buckets hold records
// is a summary to descend from (see serveDigest).
func (c *MembershipCoordinator) descends(m Message, records []sharedRecord) bool {
	if len(m.Digest) != summaryBuckets || c.ae.nbuckets <= summaryBuckets || c.state != CoordinatorMember {
		return false
	}
	if !c.isActiveMember(m.From, m.FromID) {
		return false
	}
	size := 0
	for _, r := range records {
		v := r.Value()
		if size += v.estimateSize(); size > c.cfg.MaxMessageBytes {
			return true
		}
	}
	return false
}

// descend, once the answer to the summary m went out, starts the exchange
// with its sender that repairs what the summary showed differs, now or as
// soon as pollDescent may.
func (c *MembershipCoordinator) descend(now time.Time, m Message, descend bool) {
	if !descend {
		return
	}
	c.ae.descendTo, c.ae.descendID = m.From, m.FromID
	c.pollDescent(now)
}

// pollDescent starts the exchange of a descent still to run (see
// serveDigest) once no exchange of this node's is in flight and two
// heartbeat intervals have passed since the last exchange a peer's message
// started, if its peer is still an active member held. One descent waits at
// a time: a later one takes its place (the difference the earlier one would
// have repaired is found again by a later exchange).
func (c *MembershipCoordinator) pollDescent(now time.Time) {
	ae := &c.ae
	if ae.descendTo == "" || now.Before(ae.nextPeerRepair) {
		return
	}
	if _, _, busy := c.engine.Exchange(); busy {
		return
	}
	peer, id := ae.descendTo, ae.descendID
	ae.descendTo, ae.descendID = "", ""
	if !c.isActiveMember(peer, id) {
		return
	}
	ae.nextPeerRepair = now.Add(2 * c.cfg.HeartbeatInterval)
	c.stats.SummariesDescended++
	c.exchangeWith(now, peer)
}

// descentDue is when pollDescent has a descent to start, if one waits and
// no exchange is in flight (whose end, or timeout, makes it due).
func (c *MembershipCoordinator) descentDue() (time.Time, bool) {
	if _, _, busy := c.engine.Exchange(); c.ae.descendTo == "" || busy {
		return time.Time{}, false
	}
	return c.ae.nextPeerRepair, true
}

// answerWant ends the exchange and sends the peer this node's records of the
// buckets it wants. Only the reply to a digest this node sent (the exchange
// in flight, the one that just ended, whose reply came in parts, or a
// witness's) is answered, by its random number: a reply from anyone else,
// or a late one whose buckets were counted otherwise, is not (the next
// exchange repairs what it would have). The records go to the peer the
// digest went to. A client only pulls: it sends nothing, for its view may be
// any age (cut off for longer than the tombstones live, it would bring back
// members pruned meanwhile).
func (c *MembershipCoordinator) answerWant(now time.Time, in GossipInbound) {
	m := in.Message
	peer, seq, inFlight := c.engine.Exchange()
	n := c.ae.inFlight.nbuckets
	if inFlight && m.Seq == seq && (m.From == peer || in.Source == peer) {
		c.endExchange(seq)
	} else {
		var ok bool
		if peer, n, ok = c.sentDigestTo(in); !ok {
			return
		}
	}
	c.keepCookie(now, peer, m.Cookie)
	if c.state == CoordinatorClient {
		return
	}
	var want []uint32
	for _, w := range m.Want {
		if int(w) < n {
			want = append(want, w)
		}
	}
	if len(want) == 0 {
		return
	}
	records := c.table.sharedInBuckets(n, want)
	base := c.newMessage(MessageGossip)
	base.Seq = m.Seq // marks the gossip as a repair
	for _, msg := range packShared(base, records, c.cfg.MaxMessageBytes, false) {
		c.send(peer, msg)
	}
}

// sentDigest is a digest this node sent: to whom, its number, and its
// bucket count (the table's, or summaryBuckets for a summary).
type sentDigest struct {
	peer     string
	seq      uint64
	nbuckets int
	summary  bool
}
