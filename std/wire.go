package std

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/hearsay-go/hearsay/core"
	"github.com/shamaton/msgpack/v2/def"
)

// PROTOCOL — the hearsay wire format, version 1.
//
// Every UDP datagram carries exactly one envelope:
//
//	offset  size  field
//	0       2     magic: 'h' 's'
//	2       1     protocol version: 1
//	3       1     label length L, 0..MaxLabelBytes
//	4       L     cluster label (opaque bytes; must equal the receiver's label)
//	4+L     ...   the core.Message, msgpack-encoded as an array
//
// With a Keyring, the message is sealed (AES-256-GCM) and the version byte
// is sealedWireVersion; the layout is documented in keyring.go.
//
// The message is a msgpack array of 7 to 10 elements, the fields of
// core.Message in declaration order:
//
//	[0] Kind         uint (core.MessageKind, see below)
//	[1] From         str  (sender's advertised authority, "host:port")
//	[2] FromID       str  (sender's node ID)
//	[3] Seq          uint
//	[4] Entries      nil | array of records
//	[5] Digest       nil | array of uint64
//	[6] Want         nil | array of uint32
//	[7] Accusations  nil | array of accusations (8- to 10-element forms)
//	[8] Cookie       nil | bin (9- and 10-element forms)
//	[9] User         nil | array of user messages (the 10-element form)
//
// and each record of Entries is an array of exactly 5 elements, the fields of
// core.NodeRecord in declaration order:
//
//	[0] NodeID       str
//	[1] Authority    str
//	[2] Status       uint (core.NodeStatus: 1 joining, 2 up, 3 suspect,
//	                       4 leaving, 5 removed, 6 dead)
//	[3] Incarnation  uint
//	[4] Meta         nil | bin
//
// and each accusation is an array of exactly 2 elements, the fields of
// core.Accusation:
//
//	[0] Entry       uint (index in Entries of a Suspect record, <= 2^32-1)
//	[1] Suspectors  array of str (authorities)
//
// and each user message of User is an array of exactly 4 elements, the
// fields of core.UserMessage:
//
//	[0] From         str  (the origin's authority; "" in a direct message)
//	[1] FromID       str  (the origin's node ID; "" in a direct message)
//	[2] Seq          uint (a broadcast's ID; 0 in a direct message)
//	[3] Payload      nil | bin
//
// Every authority (From, a record's Authority, a suspector, a user
// message's non-empty From) is an "ip:port"
// in canonical form, exactly as netip.AddrPort.String writes it: no leading
// zeros, IPv6 in brackets and shortest form, IPv4 never mapped into IPv6
// ([::ffff:a.b.c.d]), neither unspecified nor multicast, a port other than
// 0. A datagram naming an authority in any other spelling is dropped
// (counted as a decode error): one address has one spelling, so nothing
// keyed by an authority can be sidestepped by writing it another way.
//
// Versions. Fields are only ever appended to the message array, never
// removed, reordered or given another meaning. The encoder writes the
// shortest array that holds every field in use: 7 elements unless
// Accusations, Cookie or User is set (the fields appended since the first
// release), 8 when only Accusations is, 9 when Cookie is and User is not,
// 10 when User is (the fields before it nil when empty); so a peer that
// predates a field still decodes every message that does not use it, and
// drops (and counts, as malformed) one that does. The decoder accepts every
// arity from the first release's (7) to the current one (10).
// The version byte changes only for a change that an older peer would
// misread rather than refuse.
//
// Message kinds (core.MessageKind). Append only: these numbers are the
// protocol, never renumber or reuse one.
//
//	1 heartbeat, 2 gossip, 3 join-request, 4 join-reply, 5 digest,
//	6 digest-reply, 7 cookie, 8 user, 9 probe-request, 10 probe, 11 probe-ack
//
// The encoder writes every integer, string, bin and array header in its
// shortest msgpack form and nil for a nil slice, so the encoding of a message
// is never longer than core.EstimateSize(m) and an envelope never longer than
// core.EstimateSize(m) + envelopeOverhead(label). The output is byte for byte
// what msgpack.MarshalAsArray of an equivalent struct produces. The decoder
// accepts any msgpack width for an integer, string, bin or array header, but
// nothing else: the wrong type, a wrong arity, an unknown kind or status,
// trailing bytes, or a length or count over its decodeLimits is an error.
//
// The codec is written against shamaton/msgpack's format constants rather
// than its reflection-based Marshal/Unmarshal, so that decoding can bound
// every length before allocating and decode a heartbeat without allocating.

const (
	// wireVersion is the protocol version byte written in every envelope.
	wireVersion = 1
	// MaxLabelBytes is the longest cluster label an envelope can carry.
	MaxLabelBytes = 255
	// maxUDPPayload is the largest UDP payload over IPv4 (65535 - 8 - 20).
	maxUDPPayload = 65507
)

// wireMagic is the first two bytes of every envelope.
var wireMagic = [2]byte{'h', 's'}

// envelopeHeaderBytes is magic + version + label length.
const envelopeHeaderBytes = 4

// Array lengths: a message without Accusations (the first release's form)
// and with them, a record, an accusation.
const (
	messageArity            = 7
	messageArityAccusations = 8
	messageArityCookie      = 9
	messageArityUser        = 10
	userMessageArity        = 4
	recordArity             = 5
	accusationArity         = 2
)

// Codec errors. Every decoding failure is a *decodeError wrapping one of
// these; match with errors.Is.
var (
	// errBadMagic: the datagram does not start with the hearsay magic.
	errBadMagic = errors.New("hearsay: bad magic")
	// errWrongVersion: the envelope's protocol version is not wireVersion.
	errWrongVersion = errors.New("hearsay: wrong protocol version")
	// errWrongLabel: the envelope belongs to another cluster (label mismatch).
	errWrongLabel = errors.New("hearsay: wrong cluster label")
	// errTruncated: the datagram ends before a field it declares.
	errTruncated = errors.New("hearsay: truncated datagram")
	// errOversize: a datagram, length or count is over its limit.
	errOversize = errors.New("hearsay: oversize")
	// errMalformed: the bytes are not a valid encoding of a message.
	errMalformed = errors.New("hearsay: malformed datagram")
	// errNonCanonical: an authority (a message's From, a record's
	// Authority, a suspector) is not an "ip:port" in canonical form.
	errNonCanonical = errors.New("hearsay: non-canonical authority")
)

// decodeError reports where and why an envelope could not be decoded (or
// encoded). It wraps one of errBadMagic, errWrongVersion, errWrongLabel,
// errTruncated, errOversize, errMalformed or errNonCanonical.
type decodeError struct {
	// Field names what was being read, e.g. "label" or "entries.meta".
	Field string
	// Index is the element of Entries, Digest or Want concerned, or -1.
	Index int
	// Offset is the byte offset in the datagram where the problem was found.
	Offset int
	// Detail says more, e.g. "length 300 > limit 255"; may be empty.
	Detail string
	// Err is the sentinel error.
	Err error
}

// Error describes the failure.
func (e *decodeError) Error() string {
	field := e.Field
	if e.Index >= 0 {
		field = fmt.Sprintf("%s[%d]", e.Field, e.Index)
	}
	s := fmt.Sprintf("%v: %s at offset %d", e.Err, field, e.Offset)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the sentinel error.
func (e *decodeError) Unwrap() error { return e.Err }

// envelopeOverhead returns how many bytes an envelope with this label adds
// to the message: magic, version, label length and label. A transport with a
// datagram limit of D gives core a Config.MaxMessageBytes of
// D - envelopeOverhead(label).
func envelopeOverhead(label string) int { return envelopeHeaderBytes + len(label) }

// MaxMessageBytes returns the core.Config.MaxMessageBytes that makes every
// message core emits fit a datagram of maxDatagramBytes with this label.
func MaxMessageBytes(maxDatagramBytes int, label string) int {
	return maxDatagramBytes - envelopeOverhead(label)
}

// appendEnvelope appends the envelope of m, labelled label, to dst and
// returns the extended slice. It fails (with a *decodeError) only for a label
// over MaxLabelBytes, an unknown message kind or an unknown record status:
// things no peer would accept. It does not allocate when dst has room.
func appendEnvelope(dst []byte, label string, m core.Message) ([]byte, error) {
	if len(label) > MaxLabelBytes {
		return dst, &decodeError{Field: "label", Index: -1, Offset: 3, Err: errOversize,
			Detail: fmt.Sprintf("label is %d bytes, over %d", len(label), MaxLabelBytes)}
	}
	if !m.Kind.Valid() {
		return dst, &decodeError{Field: "kind", Index: -1, Err: errMalformed,
			Detail: fmt.Sprintf("unknown message kind %d", m.Kind)}
	}
	for i := range m.Entries {
		if !m.Entries[i].Status.Valid() {
			return dst, &decodeError{Field: "entries.status", Index: i, Err: errMalformed,
				Detail: fmt.Sprintf("unknown status %d", m.Entries[i].Status)}
		}
	}
	dst = append(dst, wireMagic[0], wireMagic[1], wireVersion, byte(len(label)))
	dst = append(dst, label...)
	arity := messageArity
	switch {
	case len(m.User) > 0:
		arity = messageArityUser
	case len(m.Cookie) > 0:
		arity = messageArityCookie
	case len(m.Accusations) > 0:
		arity = messageArityAccusations
	}
	dst = append(dst, def.FixArray|byte(arity))
	dst = appendUint(dst, uint64(m.Kind))
	dst = appendStr(dst, m.From)
	dst = appendStr(dst, m.FromID)
	dst = appendUint(dst, m.Seq)
	if m.Entries == nil {
		dst = append(dst, def.Nil)
	} else {
		dst = appendArrayHeader(dst, len(m.Entries))
		for i := range m.Entries {
			r := &m.Entries[i]
			dst = append(dst, def.FixArray|recordArity)
			dst = appendStr(dst, r.NodeID)
			dst = appendStr(dst, r.Authority)
			dst = appendUint(dst, uint64(r.Status))
			dst = appendUint(dst, r.Incarnation)
			dst = appendBin(dst, r.Meta)
		}
	}
	if m.Digest == nil {
		dst = append(dst, def.Nil)
	} else {
		dst = appendArrayHeader(dst, len(m.Digest))
		for _, d := range m.Digest {
			dst = appendUint(dst, d)
		}
	}
	if m.Want == nil {
		dst = append(dst, def.Nil)
	} else {
		dst = appendArrayHeader(dst, len(m.Want))
		for _, w := range m.Want {
			dst = appendUint(dst, uint64(w))
		}
	}
	if arity >= messageArityAccusations {
		if len(m.Accusations) == 0 {
			dst = append(dst, def.Nil)
		} else {
			dst = appendArrayHeader(dst, len(m.Accusations))
			for _, a := range m.Accusations {
				dst = append(dst, def.FixArray|accusationArity)
				dst = appendUint(dst, uint64(a.Entry))
				dst = appendArrayHeader(dst, len(a.Suspectors))
				for _, s := range a.Suspectors {
					dst = appendStr(dst, s)
				}
			}
		}
	}
	if arity >= messageArityCookie {
		dst = appendBin(dst, m.Cookie)
	}
	if arity == messageArityUser {
		dst = appendArrayHeader(dst, len(m.User))
		for _, u := range m.User {
			dst = append(dst, def.FixArray|userMessageArity)
			dst = appendStr(dst, u.From)
			dst = appendStr(dst, u.FromID)
			dst = appendUint(dst, u.Seq)
			dst = appendBin(dst, u.Payload)
		}
	}
	return dst, nil
}

// encodeEnvelope returns the envelope of m labelled label in a new slice.
func encodeEnvelope(label string, m core.Message) ([]byte, error) {
	return appendEnvelope(make([]byte, 0, core.EstimateSize(m)+envelopeOverhead(label)), label, m)
}

func appendUint(dst []byte, v uint64) []byte {
	switch {
	case v <= def.PositiveFixIntMax:
		return append(dst, byte(v))
	case v <= math.MaxUint8:
		return append(dst, def.Uint8, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, def.Uint16), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, def.Uint32), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(dst, def.Uint64), v)
}

func appendStr(dst []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		dst = append(dst, def.FixStr|byte(n))
	case n <= math.MaxUint8:
		dst = append(dst, def.Str8, byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, def.Str16), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, def.Str32), uint32(n))
	}
	return append(dst, s...)
}

func appendBin(dst []byte, b []byte) []byte {
	if b == nil {
		return append(dst, def.Nil)
	}
	n := len(b)
	switch {
	case n <= math.MaxUint8:
		dst = append(dst, def.Bin8, byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, def.Bin16), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, def.Bin32), uint32(n))
	}
	return append(dst, b...)
}

func appendArrayHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, def.FixArray|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, def.Array16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, def.Array32), uint32(n))
}
