package core

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"math/rand/v2"
	"time"
)

// replyState is how this node answers what it receives, so that it cannot
// be used to reflect or amplify traffic: every reply goes to the
// transport-level source of what it answers, never to an address the
// message names; a source that has not proven it receives there gets at most
// one reply, no larger than what it sent; a join request or a digest is
// answered in full only at a source that proved it with a cookie, at most
// once each, and within per-source and global rates. It also keeps the
// cookies peers gave this node, for its own requests. See "Address
// validation" in the package documentation.
type replyState struct {
	in inboundReply // the message being handled, if any

	// Cookies this node hands out: a truncated HMAC of the epoch and the
	// source address, under a key drawn afresh every epoch. A cookie is
	// accepted in its epoch and the next.
	keyRand *rand.ChaCha8 // seeded from Config.Rand: rotations do not draw from it
	period  time.Duration
	epoch   int64        // the epoch of macs[0]; macs[1] is the epoch before
	macs    [2]hash.Hash // nil until the first cookie
	scratch []byte

	// Cookies peers handed this node, by the authority its requests go to.
	held map[string]heldCookie

	// Per-source limits, and global ones, on full answers and challenges.
	joinAnswers, digestAnswers, challenges targetLimiter
	joinBudget, digestBudget               tokenBucket
	answered                               replayLog
}

// inboundReply is what the replies to the message being handled may be.
type inboundReply struct {
	active    bool
	source    string // where replies go
	from      string // the sender's authority, as it says
	fromID    string
	budget    int  // the most EstimateSize one reply to an unproven source may take
	validated bool // the message carried a valid cookie for source
	fresh     bool // ... of the current epoch (no fresh one need be handed back)
	replied   bool // the one reply an unproven source may get was sent
}

// heldCookie is a cookie a peer gave this node, and when.
type heldCookie struct {
	value []byte
	at    time.Time
}

const (
	// cookieBytes is the length of a cookie: 64 bits of HMAC-SHA256, enough
	// that guessing one for an address takes on the order of 2^63 datagrams.
	cookieBytes = 8
	// maxCookieBytes bounds Message.Cookie as a peer may send it: a cookie,
	// or the filler a request without one carries.
	maxCookieBytes = 512
	// cookieEpochs is the length of a cookie epoch in AntiEntropyIntervals:
	// a cookie is accepted for one to two epochs after it was handed out.
	cookieEpochs = 6
	// assumedIDBytes is the node ID length a requester assumes for a seed it
	// knows nothing about when it leaves room for the seed's cookie
	// challenge (a longer one is answered only when the request is long
	// enough anyway).
	assumedIDBytes = 64

	// maxReplyTargets bounds each per-source limit and the cookies held: a
	// flood of sources fills them, and the limit then refuses newcomers
	// until it is swept, rather than grow.
	maxReplyTargets = 4096
	// answerBurst and answerRate are the global limits on full join answers
	// (per JoinRetryInterval) and on full digest answers (per
	// GossipInterval): generous enough that a thousand members joining one
	// seed at once are answered at once, and a bound on what any number of
	// validated sources can draw.
	answerBurst = 1024
	answerRate  = 256
	// digestAnswersPerSource is how many full digest answers, and how many
	// cookie challenges, one source may get per GossipInterval: a member
	// may run an exchange with a peer and ask it as a witness at the same
	// time, or repeat its digest after a challenge.
	digestAnswersPerSource = 4
)

func newReplyState(cfg Config) replyState {
	var seed [32]byte
	for i := 0; i < len(seed); i += 8 {
		binary.LittleEndian.PutUint64(seed[i:], cfg.Rand.Uint64())
	}
	period := cookieEpochs * cfg.AntiEntropyInterval
	return replyState{
		keyRand:       rand.NewChaCha8(seed),
		period:        period,
		joinAnswers:   newTargetLimiter(cfg.JoinRetryInterval/2, 1, maxReplyTargets),
		digestAnswers: newTargetLimiter(cfg.GossipInterval, digestAnswersPerSource, maxReplyTargets),
		challenges:    newTargetLimiter(cfg.GossipInterval, digestAnswersPerSource, maxReplyTargets),
		joinBudget:    newTokenBucket(answerRate, answerBurst, cfg.JoinRetryInterval),
		digestBudget:  newTokenBucket(answerRate, answerBurst, cfg.GossipInterval),
		answered:      replayLog{keep: 2 * period, max: maxReplyTargets},
	}
}

// beginReply sets up the replies to in: where they go, how large one may be,
// and whether its source proved it receives there.
func (c *MembershipCoordinator) beginReply(now time.Time, in GossipInbound) {
	m := in.Message
	r := inboundReply{active: true, source: in.Source, from: m.From, fromID: m.FromID, budget: in.Size}
	if r.source == "" {
		r.source = m.From
	}
	if r.budget == 0 {
		r.budget = EstimateSize(m)
	}
	if (m.Kind == MessageJoinRequest || m.Kind == MessageDigest) && len(m.Cookie) == cookieBytes {
		r.validated, r.fresh = c.checkCookie(now, r.source, m.Cookie)
	}
	c.reply.in = r
}

// endReply closes the replies of the message handled.
func (c *MembershipCoordinator) endReply() { c.reply.in = inboundReply{} }

// replyTarget is where replies to the message being handled go.
func (c *MembershipCoordinator) replyTarget() string { return c.reply.in.source }

// unlimitedReplies reports whether the source of the message being handled
// may be sent replies of any size: it proved it receives there with a
// cookie, or it is a member held here (a tombstone included), sending from
// its own authority, where this node sends to it anyway (what a member is
// sent in reply is bounded by the per-target notice limit and the table).
func (c *MembershipCoordinator) unlimitedReplies() bool {
	return c.reply.in.validated || c.fromHeldMember()
}

// replyFits reports whether one more reply of size bytes may go to the
// source of the message being handled and, for an unproven source, spends
// its one reply. A reply that does not fit is counted as withheld.
func (c *MembershipCoordinator) replyFits(size int) bool {
	r := &c.reply.in
	if !r.active || c.unlimitedReplies() {
		return true
	}
	if r.replied || size > r.budget {
		c.stats.RepliesWithheld++
		return false
	}
	r.replied = true
	return true
}

// tellSender sends the sender of the message being handled the record r
// held for it, and this member's own record: a notice, at most once per
// HeartbeatInterval per target, so that a live node held Suspect or Dead
// learns it and refutes, and a node that holds stale news of us learns
// better.
func (c *MembershipCoordinator) tellSender(now time.Time, r NodeRecord) {
	records := []NodeRecord{r.Clone()}
	if c.state == CoordinatorMember && r.Authority != c.cfg.Authority {
		records = append(records, c.life.self.Clone())
	}
	c.replyRecords(now, records)
}

// replyRecords sends the records, as a notice, to the source of the message
// being handled: in full to a source that may be sent anything, else as many
// of them, first first, as one message no larger than the request holds.
func (c *MembershipCoordinator) replyRecords(now time.Time, records []NodeRecord) {
	if !c.reply.in.active {
		return
	}
	target := c.replyTarget()
	if c.unlimitedReplies() {
		if c.noticeDue(now, target) {
			c.sendRecords(target, records)
		}
		return
	}
	m := c.newMessage(MessageGossip)
	budget := min(c.reply.in.budget, c.cfg.MaxMessageBytes)
	for _, r := range records {
		if EstimateSize(m)+EstimateRecordSize(r)+headerGrowth > budget {
			break
		}
		m.Entries = append(m.Entries, r)
	}
	if len(m.Entries) == 0 {
		c.stats.RepliesWithheld++
		return
	}
	if c.replyFits(EstimateSize(m)) && c.noticeDue(now, target) {
		c.send(target, m)
	}
}

// challenge answers a join request or a digest m from a source that has not
// proven it receives there with a MessageCookie carrying a cookie for it, if
// one fits the request and the source has not had digestAnswersPerSource
// such answers within the last GossipInterval.
func (c *MembershipCoordinator) challenge(now time.Time, m Message) {
	reply := c.newMessage(MessageCookie)
	reply.Seq = m.Seq
	reply.Cookie = c.issueCookie(now, c.replyTarget())
	if c.replySmall(now, reply) {
		c.stats.CookieChallenges++
	}
}

// replySmall sends reply, the answer to a join request or a digest from a
// source that has not proven it receives there, if it is no larger than the
// request and the source has not had digestAnswersPerSource such answers
// within the last GossipInterval, and reports whether it did.
func (c *MembershipCoordinator) replySmall(now time.Time, reply Message) bool {
	target := c.replyTarget()
	if !c.replyFits(EstimateSize(reply)) {
		return false
	}
	if !c.reply.challenges.allow(now, target) {
		c.stats.RepliesLimited++
		return false
	}
	c.send(target, reply)
	return true
}

// mayAnswerInFull reports whether the validated request m of kind may get
// its full answer: it was not answered already (a replay), the source had
// no full answer of that kind within the per-source interval, and the
// global rate allows one. A refusal is counted.
func (c *MembershipCoordinator) mayAnswerInFull(now time.Time, m Message) bool {
	rs := &c.reply
	target := c.replyTarget()
	limit, budget := &rs.joinAnswers, &rs.joinBudget
	if m.Kind == MessageDigest {
		limit, budget = &rs.digestAnswers, &rs.digestBudget
	}
	key := answerKey{source: target, kind: m.Kind, seq: m.Seq}
	if rs.answered.contains(key) || !limit.allow(now, target) || !budget.take(now) {
		c.stats.RepliesLimited++
		return false
	}
	rs.answered.add(now, key)
	return true
}

// freshCookie returns a cookie for the source of the validated request
// being answered when the one it presented is about to expire, else nil.
func (c *MembershipCoordinator) freshCookie(now time.Time) []byte {
	if c.reply.in.fresh {
		return nil
	}
	return c.issueCookie(now, c.replyTarget())
}

// rotateCookieKeys brings the cookie keys to the epoch of now: a new key
// every epoch, the previous one kept to accept the cookies it made.
func (c *MembershipCoordinator) rotateCookieKeys(now time.Time) {
	rs := &c.reply
	e := now.UnixNano() / int64(rs.period)
	if rs.macs[0] != nil && e == rs.epoch {
		return
	}
	newMAC := func() hash.Hash {
		var key [32]byte
		_, _ = rs.keyRand.Read(key[:])
		return hmac.New(sha256.New, key[:])
	}
	if rs.macs[0] != nil && e == rs.epoch+1 {
		rs.macs[1] = rs.macs[0]
	} else {
		rs.macs[1] = newMAC()
	}
	rs.macs[0] = newMAC()
	rs.epoch = e
}

// cookieOf returns the cookie of epoch e for source, under mac.
func (c *MembershipCoordinator) cookieOf(mac hash.Hash, e int64, source string) []byte {
	rs := &c.reply
	rs.scratch = binary.BigEndian.AppendUint64(rs.scratch[:0], uint64(e))
	rs.scratch = append(rs.scratch, source...)
	mac.Reset()
	mac.Write(rs.scratch)
	sum := mac.Sum(rs.scratch[:0])
	rs.scratch = sum[:0] // keep what Sum grew
	return sum[:cookieBytes]
}

// issueCookie returns a new cookie for source.
func (c *MembershipCoordinator) issueCookie(now time.Time, source string) []byte {
	c.rotateCookieKeys(now)
	return append([]byte(nil), c.cookieOf(c.reply.macs[0], c.reply.epoch, source)...)
}

// checkCookie reports whether cookie is valid for source at now, and
// whether it is of the current epoch.
func (c *MembershipCoordinator) checkCookie(now time.Time, source string, cookie []byte) (valid, current bool) {
	c.rotateCookieKeys(now)
	rs := &c.reply
	if hmac.Equal(cookie, c.cookieOf(rs.macs[0], rs.epoch, source)) {
		return true, true
	}
	return hmac.Equal(cookie, c.cookieOf(rs.macs[1], rs.epoch-1, source)), false
}

// keepCookie keeps the cookie peer gave this node in answer to one of its
// requests to peer.
func (c *MembershipCoordinator) keepCookie(now time.Time, peer string, cookie []byte) {
	rs := &c.reply
	if len(cookie) != cookieBytes {
		return
	}
	if _, ok := rs.held[peer]; !ok && len(rs.held) >= maxReplyTargets {
		return
	}
	if rs.held == nil {
		rs.held = map[string]heldCookie{}
	}
	rs.held[peer] = heldCookie{value: append([]byte(nil), cookie...), at: now}
}

// requestCookie sets the Cookie of request m to target (whose node ID, if
// known, is targetID): the cookie target gave this node, or else filler
// enough that target's MessageCookie answering it is no larger than m.
func (c *MembershipCoordinator) requestCookie(m *Message, target, targetID string) {
	if h, ok := c.reply.held[target]; ok {
		m.Cookie = h.value
		return
	}
	idLen := len(targetID)
	if idLen == 0 {
		idLen = assumedIDBytes
	}
	need := EstimateSize(Message{Kind: MessageCookie, From: target, FromID: string(make([]byte, idLen)), Seq: m.Seq, Cookie: make([]byte, cookieBytes)})
	m.Cookie = nil
	if EstimateSize(*m) >= need {
		return
	}
	m.Cookie = make([]byte, cookieBytes)
	for short := need - EstimateSize(*m); short > 0; short = need - EstimateSize(*m) {
		m.Cookie = append(m.Cookie, make([]byte, short)...)
	}
}

// sweepLimits forgets, in every per-target limit, the targets that no longer
// limit anything, so that what a flood of senders left behind is let go
// within a housekeeping interval; and the cookies held that are too old to
// be accepted.
func (c *MembershipCoordinator) sweepLimits(now time.Time) {
	rs := &c.reply
	c.detect.notices.sweep(now)
	rs.joinAnswers.sweep(now)
	rs.digestAnswers.sweep(now)
	rs.challenges.sweep(now)
	rs.answered.sweep(now)
	for peer, h := range rs.held {
		if now.Sub(h.at) >= 2*rs.period {
			delete(rs.held, peer)
		}
	}
	if len(rs.held) == 0 {
		rs.held = nil
	}
}

// entries counts the entries of the reply limits and the cookies
// held.
func (rs *replyState) entries() int {
	return rs.joinAnswers.len() + rs.digestAnswers.len() + rs.challenges.len() + rs.answered.len() + len(rs.held)
}

// answerKey identifies a validated request answered in full.
type answerKey struct {
	source string
	kind   MessageKind
	seq    uint64
}

// replayLog remembers the validated requests answered in full, for as long
// as the cookie they carried can be accepted, so that a replay of one
// (captured and sent again from the same address) is not answered again. It
// holds at most max, forgetting the oldest first.
type replayLog struct {
	keep  time.Duration
	max   int
	seen  map[answerKey]time.Time
	order []answerKey // oldest first
}

func (l *replayLog) contains(k answerKey) bool {
	_, ok := l.seen[k]
	return ok
}

func (l *replayLog) add(now time.Time, k answerKey) {
	if len(l.order) >= l.max {
		delete(l.seen, l.order[0])
		l.order = l.order[1:]
	}
	if l.seen == nil {
		l.seen = map[answerKey]time.Time{}
	}
	l.seen[k] = now
	l.order = append(l.order, k)
}

// sweep forgets the requests whose cookies can no longer be accepted.
func (l *replayLog) sweep(now time.Time) {
	i := 0
	for i < len(l.order) && now.Sub(l.seen[l.order[i]]) >= l.keep {
		delete(l.seen, l.order[i])
		i++
	}
	l.order = l.order[i:]
	if len(l.order) == 0 {
		l.seen, l.order = nil, nil
	}
}

func (l *replayLog) len() int { return len(l.order) }
