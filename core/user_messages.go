package core

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"time"
)

// userState is application messages: the broadcasts this node relays (its
// own and others'), the IDs of those it has delivered, and the largest
// payload its messages hold. See "User messages" in the package
// documentation.
type userState struct {
	maxPayload int                // the largest payload this node sends: MaxPayloadBytes, or less if a message holds less
	queue      []*queuedBroadcast // at most Config.MaxBroadcasts
	order      uint64             // insertion counter of the queue
	seen       map[broadcastID]time.Time
	seenOrder  []broadcastID // the keys of seen, oldest first, from seenHead on
	seenHead   int
	scratch    []*queuedBroadcast // for fill
}

// broadcastID identifies a broadcast: its origin's node ID and its Seq.
type broadcastID struct {
	origin string
	seq    uint64
}

// queuedBroadcast is one broadcast waiting to be piggybacked.
type queuedBroadcast struct {
	msg       UserMessage
	transmits int
	order     uint64 // higher is newer
}

// seenPerBroadcast: a node remembers the IDs of the broadcasts it delivered
// for QuarantineTTL, and at most seenPerBroadcast × MaxBroadcasts of them.
const seenPerBroadcast = 8

func newUserState(cfg Config) userState {
	return userState{maxPayload: largestOwnPayload(cfg), seen: map[broadcastID]time.Time{}}
}

// largestOwnPayload is the largest payload this node can send: at most
// MaxPayloadBytes, and small enough that a heartbeat at the largest numbers
// carrying its broadcast fits MaxMessageBytes.
func largestOwnPayload(cfg Config) int {
	size := func(p int) int {
		return EstimateSize(Message{Kind: MessageHeartbeat, From: cfg.Authority, FromID: cfg.NodeID, Seq: ^uint64(0),
			Digest: []uint64{^uint64(0)}, User: []UserMessage{{From: cfg.Authority, FromID: cfg.NodeID, Seq: ^uint64(0), Payload: make([]byte, p)}}})
	}
	p := min(cfg.MaxPayloadBytes, cfg.MaxMessageBytes)
	for p > 0 && size(p) > cfg.MaxMessageBytes {
		p -= size(p) - cfg.MaxMessageBytes
	}
	return max(p, 0)
}

// checkPayload refuses a payload this node cannot send.
func (c *MembershipCoordinator) checkPayload(payload []byte) error {
	switch {
	case len(payload) > c.cfg.MaxPayloadBytes:
		return fmt.Errorf("%w: payload of %d bytes, over Config.MaxPayloadBytes %d", ErrInvalidMessage, len(payload), c.cfg.MaxPayloadBytes)
	case len(payload) > c.user.maxPayload:
		return fmt.Errorf("%w: payload of %d bytes, over the %d bytes this node's messages hold (Config.MaxMessageBytes %d)",
			ErrInvalidMessage, len(payload), c.user.maxPayload, c.cfg.MaxMessageBytes)
	}
	return nil
}

// SendTo sends payload to the member at target (its authority, as
// Members lists it) as one direct message, at now: best effort, as
// memberlist's SendBestEffort — one datagram, no acknowledgement, no retry;
// lost if the datagram is. The receiver delivers it in Outcome.User (Seq 0)
// if it holds this node as an active member. Only a member this node holds
// active (Joining, Up, Suspect or Leaving) is a target, so that nothing an
// application does with what it receives can aim this node at an address
// outside the cluster (see "Address validation" in the package
// documentation). A payload over Config.MaxPayloadBytes, or over what one
// message holds, and a target that is not another active member are refused
// with an error wrapping ErrInvalidMessage; a Stopped coordinator returns
// ErrNotStarted. The message is in the returned Outcome: a transport that
// cannot take it (a full queue) fails the send there.
func (c *MembershipCoordinator) SendTo(now time.Time, target string, payload []byte) (Outcome, error) {
	now = c.clock.protocol(now)
	if c.state == CoordinatorStopped {
		return Outcome{}, ErrNotStarted
	}
	if err := c.checkPayload(payload); err != nil {
		return Outcome{}, err
	}
	if _, status, held := c.table.Instance(target); target == c.cfg.Authority || !held || !status.IsActive() {
		return Outcome{}, fmt.Errorf("%w: SendTo %q: a direct message goes to another member held active", ErrInvalidMessage, target)
	}
	c.observe(now)
	m := c.newMessage(MessageUser)
	m.User = []UserMessage{{Payload: bytes.Clone(payload)}}
	c.send(target, m)
	c.stats.UserMessagesSent++
	return c.finish(), nil
}

// Broadcast sends payload to every member, at now, by the epidemic: like a
// change of the table, it rides on heartbeats and gossip (after the
// records they carry) and every member that receives it first delivers it
// (Outcome.User, with this node as From and a random Seq that identifies
// it) and passes it on, each RetransmitMult × ceil(log10(N+1)) times, as
// memberlist's TransmitLimitedQueue does. It is best effort: there is no
// acknowledgement and no repair by anti-entropy, so under loss a member may
// miss it (BENCHMARKS.md has how often, in the simulator). Each member
// delivers it at most once (see "User messages" in the package
// documentation); the sender does not deliver its own. A payload over
// Config.MaxPayloadBytes, or over what one message holds, is refused with
// an error wrapping ErrInvalidMessage; a Stopped coordinator returns
// ErrNotStarted. When MaxBroadcasts are already queued, the one transmitted
// most is dropped to make room (CoordinatorStats.BroadcastsDropped). The
// first gossip round carrying it may be in the returned Outcome.
func (c *MembershipCoordinator) Broadcast(now time.Time, payload []byte) (Outcome, error) {
	now = c.clock.protocol(now)
	if c.state == CoordinatorStopped {
		return Outcome{}, ErrNotStarted
	}
	if err := c.checkPayload(payload); err != nil {
		return Outcome{}, err
	}
	c.observe(now)
	u := UserMessage{From: c.cfg.Authority, FromID: c.cfg.NodeID, Seq: c.rng.Uint64() | 1, Payload: bytes.Clone(payload)}
	c.markSeen(now, broadcastID{u.FromID, u.Seq})
	c.enqueueBroadcast(u)
	c.stats.BroadcastsSent++
	c.pollGossip(now)
	return c.finish(), nil
}

// takeUserMessages delivers what m carries for the application — a direct
// message, or the broadcasts not delivered before, which are queued to be
// passed on — if its sender is a member this node holds active, under the
// node ID it gives; anything else is refused and counted
// (UserMessagesRefused). Delivering never answers the sender.
func (c *MembershipCoordinator) takeUserMessages(now time.Time, m Message) {
	if len(m.User) == 0 {
		return
	}
	if id, status, held := c.table.Instance(m.From); !held || id != m.FromID || !status.IsActive() {
		c.stats.UserMessagesRefused += uint64(len(m.User))
		return
	}
	if m.Kind == MessageUser {
		u := m.User[0]
		u.From, u.FromID, u.Payload = m.From, m.FromID, bytes.Clone(u.Payload)
		c.out.User = append(c.out.User, u)
		c.stats.UserMessagesReceived++
		return
	}
	for _, u := range m.User {
		id := broadcastID{u.FromID, u.Seq}
		if _, dup := c.user.seen[id]; dup {
			continue
		}
		c.markSeen(now, id)
		u.Payload = bytes.Clone(u.Payload)
		c.out.User = append(c.out.User, u)
		c.stats.BroadcastsReceived++
		if userMessageSize(u) > c.cfg.MaxMessageBytes-EstimateSize(c.newMessage(MessageGossip))-3-headerGrowth {
			c.stats.BroadcastsDropped++ // too large for any message of this node: it cannot pass it on
			continue
		}
		c.enqueueBroadcast(u)
	}
}

// validateUserMessages checks m's User field: a MessageUser holds exactly
// one direct message (no origin, Seq 0), heartbeats and gossip hold
// broadcasts (an origin and a Seq each), other kinds hold none; no payload
// is over MaxPayloadBytes.
func (c *MembershipCoordinator) validateUserMessages(m Message) error {
	switch {
	case m.Kind == MessageUser && len(m.User) != 1:
		return fmt.Errorf("%w: a user message with %d payloads from %s", ErrInvalidMessage, len(m.User), m.From)
	case len(m.User) > 0 && m.Kind != MessageUser && m.Kind != MessageHeartbeat && m.Kind != MessageGossip:
		return fmt.Errorf("%w: a %s message with user payloads from %s", ErrInvalidMessage, m.Kind, m.From)
	}
	for _, u := range m.User {
		direct := u.From == "" && u.FromID == "" && u.Seq == 0
		switch {
		case len(u.Payload) > c.cfg.MaxPayloadBytes:
			return fmt.Errorf("%w: a payload of %d bytes, over Config.MaxPayloadBytes %d, from %s", ErrInvalidMessage, len(u.Payload), c.cfg.MaxPayloadBytes, m.From)
		case m.Kind == MessageUser && !direct:
			return fmt.Errorf("%w: a direct message with an origin or a Seq from %s", ErrInvalidMessage, m.From)
		case m.Kind != MessageUser && (u.From == "" || u.FromID == "" || u.Seq == 0):
			return fmt.Errorf("%w: a broadcast without an origin or a Seq from %s", ErrInvalidMessage, m.From)
		}
	}
	return nil
}

// enqueueBroadcast queues u to be piggybacked, making room if the queue is
// full by dropping the broadcast transmitted most (the oldest among those).
func (c *MembershipCoordinator) enqueueBroadcast(u UserMessage) {
	s := &c.user
	if len(s.queue) >= c.cfg.MaxBroadcasts {
		worst := 0
		for i, b := range s.queue {
			if w := s.queue[worst]; b.transmits > w.transmits || (b.transmits == w.transmits && b.order < w.order) {
				worst = i
			}
		}
		s.queue = slices.Delete(s.queue, worst, worst+1)
		c.stats.BroadcastsDropped++
	}
	s.order++
	s.queue = append(s.queue, &queuedBroadcast{msg: u, order: s.order})
}

// fillBroadcasts appends to m.User the queued broadcasts that fit what is
// left of MaxMessageBytes, least transmitted first and newest first among
// equals, counts a transmission for each and retires those that reached
// the retransmit limit. Heartbeats and gossip carry them.
func (c *MembershipCoordinator) fillBroadcasts(m *Message) {
	s := &c.user
	if len(s.queue) == 0 {
		return
	}
	budget := c.cfg.MaxMessageBytes - EstimateSize(*m)
	if len(m.User) == 0 {
		budget -= 3 // the nil Accusations and Cookie before User, the User header
	}
	budget -= headerGrowth
	s.scratch = append(s.scratch[:0], s.queue...)
	slices.SortFunc(s.scratch, func(a, b *queuedBroadcast) int {
		if a.transmits != b.transmits {
			return cmp.Compare(a.transmits, b.transmits)
		}
		return cmp.Compare(b.order, a.order) // newest first
	})
	limit := retransmitLimit(c.cfg.RetransmitMult, c.clusterSize())
	sent := false
	for _, b := range s.scratch {
		sz := userMessageSize(b.msg)
		if sz > budget {
			continue
		}
		budget -= sz
		u := b.msg
		u.Payload = bytes.Clone(u.Payload)
		m.User = append(m.User, u)
		b.transmits++
		sent = true
	}
	clear(s.scratch)
	if sent {
		s.queue = slices.DeleteFunc(s.queue, func(b *queuedBroadcast) bool { return b.transmits >= limit })
	}
}

// markSeen remembers that broadcast id was delivered (or sent) here at now,
// forgetting the oldest IDs beyond seenPerBroadcast × MaxBroadcasts.
func (c *MembershipCoordinator) markSeen(now time.Time, id broadcastID) {
	s := &c.user
	s.seen[id] = now
	s.seenOrder = append(s.seenOrder, id)
	for len(s.seen) > seenPerBroadcast*c.cfg.MaxBroadcasts {
		c.forgetOldestSeen()
	}
}

// sweepSeen forgets the IDs of broadcasts delivered QuarantineTTL or more
// before now.
func (c *MembershipCoordinator) sweepSeen(now time.Time) {
	s := &c.user
	for s.seenHead < len(s.seenOrder) && !now.Before(s.seen[s.seenOrder[s.seenHead]].Add(c.cfg.QuarantineTTL)) {
		c.forgetOldestSeen()
	}
}

// forgetOldestSeen drops the oldest remembered broadcast ID.
func (c *MembershipCoordinator) forgetOldestSeen() {
	s := &c.user
	delete(s.seen, s.seenOrder[s.seenHead])
	s.seenOrder[s.seenHead] = broadcastID{}
	s.seenHead++
	if s.seenHead > len(s.seenOrder)/2 {
		s.seenOrder = append(s.seenOrder[:0], s.seenOrder[s.seenHead:]...)
		s.seenHead = 0
	}
}
