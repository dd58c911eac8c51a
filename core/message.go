package core

// MessageKind tells what a Message is for. The numbers are part of the wire
// protocol: append only, never renumber or reuse.
type MessageKind uint8

const (
	// MessageHeartbeat: a member tells one of its monitors it is alive. Seq
	// counts the sender's heartbeats: it starts from the number of
	// heartbeat intervals between 2020-01-01 UTC and the sender's start, and
	// grows by one per heartbeat round, and a monitor
	// ignores a heartbeat whose Seq is not above the last one it took from
	// that instance (a replay). Digest holds exactly one value, the sender's
	// table hash (the order-independent sum of a hash of each record), which the monitor compares with its
	// own to start an anti-entropy exchange when the views differ, or is
	// empty: the coordinator sends the hash every eighth round and on any
	// round where it changed. Entries piggyback gossip.
	MessageHeartbeat MessageKind = 1
	// MessageGossip: dissemination; Entries carry the records. With Seq 0 it
	// is periodic or direct gossip, whose news the receiver gossips on. With
	// Seq != 0 it is an anti-entropy repair: the digest sender's answer to the
	// Want of a MessageDigestReply, Seq being the exchange's number; the
	// receiver merges it without gossiping it on (the sender already had it).
	MessageGossip MessageKind = 2
	// MessageJoinRequest: a new node asks a seed for its view. Entries hold the
	// joiner's own record; Seq, drawn at random for each round of requests,
	// ties the replies to it. Cookie holds the seed's cookie for the
	// joiner's address, if it has one (see MessageCookie).
	MessageJoinRequest MessageKind = 3
	// MessageJoinReply: one part of a seed's view, as Entries. A view larger
	// than one message is split across several replies with the request's
	// Seq. The first part may carry a fresh Cookie.
	MessageJoinReply MessageKind = 4
	// MessageDigest: anti-entropy. Digest holds the sender's hashed buckets of
	// its table; Seq, drawn at random for each exchange, ties the reply to it;
	// Cookie holds the receiver's cookie for the sender's address, if it has
	// one. The receiver answers with MessageDigestReply.
	MessageDigest MessageKind = 5
	// MessageDigestReply: the records of the buckets that differed (Entries)
	// and, in Want, the bucket indexes whose records the digest sender should
	// send back (as MessageGossip), with the digest's Seq. The first part may
	// carry a fresh Cookie.
	MessageDigestReply MessageKind = 6
	// MessageCookie: the answer to a join request or a digest from an address
	// that has not proven it receives there, in place of the full answer:
	// Seq is the request's and Cookie a cookie for the request's source
	// address, no larger than the request. The requester repeats its request
	// with the cookie, and gets the full answer at that address. See
	// "Address validation" in the package documentation.
	MessageCookie MessageKind = 7
	// MessageUser: an application's direct message to one member
	// (MembershipCoordinator.SendTo): User holds exactly one element, whose
	// From and FromID are empty (the envelope's are the sender's) and Seq 0.
	// Broadcasts do not need a kind of their own: they ride in the User field
	// of heartbeats and gossip.
	MessageUser MessageKind = 8
	// The probe kinds are unexported: only coordinators send and read them,
	// and a transport carries them as any other kind (Valid, String).
	//
	// messageProbeRequest: a monitor whose failure detector lost a member
	// asks the receiver to probe it (Lifeguard's indirect probe). Entries
	// hold exactly one record, the lost member's as the monitor holds it
	// (Suspect); Seq is the monitor's request number. The receiver sends
	// the member a messageProbe and, when no messageProbeAck comes within
	// Config.ProbeTimeout, accuses it too: an independent confirmation.
	messageProbeRequest MessageKind = 9
	// messageProbe: the sender asks the receiver to answer with a
	// messageProbeAck carrying the same Seq. Entries hold at most the
	// receiver's record as the sender holds it (a suspected receiver
	// refutes at once) and the sender's own.
	messageProbe MessageKind = 10
	// messageProbeAck: the answer to a messageProbe, with its Seq.
	messageProbeAck MessageKind = 11
)

// String names the kind.
func (k MessageKind) String() string {
	switch k {
	case MessageHeartbeat:
		return "heartbeat"
	case MessageGossip:
		return "gossip"
	case MessageJoinRequest:
		return "join-request"
	case MessageJoinReply:
		return "join-reply"
	case MessageDigest:
		return "digest"
	case MessageDigestReply:
		return "digest-reply"
	case MessageCookie:
		return "cookie"
	case MessageUser:
		return "user"
	case messageProbeRequest:
		return "probe-request"
	case messageProbe:
		return "probe"
	case messageProbeAck:
		return "probe-ack"
	}
	return "unknown"
}

// Valid reports whether k is a defined kind.
func (k MessageKind) Valid() bool { return k >= MessageHeartbeat && k <= messageProbeAck }

// Message is the one envelope every protocol message travels in; which fields
// matter depends on Kind, and the others are left empty. A transport carries
// it as a whole: std encodes it as a msgpack array of the fields in this order
// (see EstimateSize), a custom transport may pass the value as it is.
type Message struct {
	// Kind says what the message is for.
	Kind MessageKind
	// From is the sender's advertised authority ("host:port").
	From string
	// FromID is the sender's node ID.
	FromID string
	// Seq is the heartbeat sequence number, or the exchange number that ties
	// replies to a join request or a digest (and marks a MessageGossip as an
	// anti-entropy repair).
	Seq uint64
	// Entries are records: piggybacked gossip, a join reply's view, or an
	// anti-entropy repair.
	Entries []NodeRecord
	// Digest holds the anti-entropy bucket hashes (MessageDigest and
	// MessageDigestReply), or the sender's table hash as its one value
	// (MessageHeartbeat).
	Digest []uint64
	// Want lists bucket indexes the receiver should send records for.
	Want []uint32
	// Accusations name, for Suspect records of Entries, the members whose own
	// failure detectors lost the suspect (Lifeguard's suspectors): what
	// confirms a suspicion, where the senders of the record, which merely
	// pass the rumour on, do not. At most one per entry.
	Accusations []Accusation
	// Cookie proves, in a join request or a digest, that the sender receives
	// at its source address: the receiver's cookie for that address (from
	// a MessageCookie or an earlier answer). In a MessageCookie, a join reply
	// or a digest reply, it is a fresh cookie for the requester. A request
	// without a cookie may carry filler instead, to leave room for the
	// MessageCookie that answers it: anything that is not a valid cookie is
	// ignored. At most maxCookieBytes long.
	Cookie []byte
	// User carries application payloads: a MessageUser's one direct message,
	// or the broadcasts piggybacked on a heartbeat or a gossip message (each
	// with its origin and ID). Other kinds carry none.
	User []UserMessage

	// shared, when not nil, holds the shared copy of each record of
	// Entries, in order, as the coordinator that built the message held
	// it: a coordinator of the same process (a simulation's) that stores
	// one of those records takes its shared copy from here rather than
	// making it again (sharedAt). It is never encoded, and never trusted:
	// an entry is compared with its shared copy before the copy is used.
	shared []sharedRecord
}

// sharedAt returns the shared copy m carries of Entries[i], or the zero
// sharedRecord when it carries none.
func (m *Message) sharedAt(i int) sharedRecord {
	if len(m.shared) != len(m.Entries) {
		return sharedRecord{}
	}
	return m.shared[i]
}

// UserMessage is an application's payload, as it travels and as it is
// delivered (Outcome.User, Event.User). See "User messages" in the package
// documentation for what delivery promises.
type UserMessage struct {
	// From is the authority of the member that sent it: for a broadcast, its
	// origin, not the member that relayed it.
	From string
	// FromID is that member's node ID.
	FromID string
	// Seq is 0 for a direct message (MembershipCoordinator.SendTo). For a
	// broadcast (Broadcast) it is a random number that, with FromID,
	// identifies it, so that each member delivers it once.
	Seq uint64
	// Payload is the application's bytes, at most Config.MaxPayloadBytes.
	Payload []byte
}

// Accusation names the suspectors of one Suspect record of a message.
type Accusation struct {
	// Entry is the index in Message.Entries of a record with status Suspect.
	Entry uint32
	// Suspectors are the authorities of members whose failure detectors lost
	// that member at that incarnation: at most maxSuspectors, none empty.
	Suspectors []string
}

// maxSuspectors bounds Accusation.Suspectors in a message a peer may send:
// a coordinator names at most SuspicionConfirmations + 1 (itself and the
// confirmations it holds); larger values leave room for peers configured
// otherwise, and the bound keeps a hostile accusation cheap to read.
const maxSuspectors = 16

// GossipOutbound is one message for one target authority.
type GossipOutbound struct {
	// Target is the authority ("host:port") to deliver to.
	Target string
	// Message is what to deliver.
	Message Message
}

// GossipInbound is one message that arrived, with the transport-level source
// it came from (for UDP, the datagram's source address, which may differ from
// Message.From behind NAT and cannot be trusted without authentication).
type GossipInbound struct {
	// Source is the transport-level sender address, where replies go. A
	// transport that leaves it empty vouches that Message.From is where the
	// message came from: replies then go there.
	Source string
	// Message is what arrived.
	Message Message
	// Size bounds what a reply to a source that has not proven it receives
	// there may take, as EstimateSize counts: the transport's own measure of
	// the message as it arrived, less what its replies carry that the
	// message did not (std: the datagram's length less the envelope, and
	// less the sealing when a sealed reply answers an unsealed datagram), so
	// that no such reply is a larger datagram than the request. Zero means
	// the transport does not say: EstimateSize(Message) is taken.
	Size int
}

// GossipTransport is core's only seam to the network. Both methods are
// synchronous and never block.
type GossipTransport interface {
	// Send queues one message for one target and returns at once. When it
	// cannot (queue full, bad target, message too large, transport closed) it
	// returns an error wrapping ErrSendFailed that says why.
	Send(out GossipOutbound) error
	// PollDeltas drains and returns what has arrived since the last call. It
	// returns an empty, non-nil slice when nothing has.
	PollDeltas() []GossipInbound
}
