package std

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/hearsay-go/hearsay/core"
	"github.com/shamaton/msgpack/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randString returns a string whose length crosses every msgpack str header
// size now and then.
func randString(r *rand.Rand) string {
	var n int
	switch r.IntN(10) {
	case 0:
		n = 0
	case 1:
		n = 32 + r.IntN(224) // str8
	case 2:
		n = 256 + r.IntN(200) // str16
	default:
		n = 1 + r.IntN(31) // fixstr
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
	}
	return string(b)
}

// randAuthority returns a canonical authority of a random family and length:
// IPv4, IPv6 (short, long enough for a str8 header) and, now and then, IPv6
// with a zone long enough for a str16 header.
func randAuthority(r *rand.Rand) string {
	port := uint16(1 + r.IntN(65535))
	var a netip.Addr
	switch r.IntN(6) {
	case 0:
		var b [16]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		b[0] = 0x20 // global unicast, never mapped, unspecified or multicast
		a = netip.AddrFrom16(b)
	case 1:
		a = netip.AddrFrom16([16]byte{0xfe, 0x80, 15: byte(1 + r.IntN(255))})
		zone := make([]byte, 1+r.IntN(300))
		for i := range zone {
			zone[i] = byte('a' + r.IntN(26))
		}
		a = a.WithZone(string(zone))
	default:
		a = netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.Uint32()), byte(r.Uint32()), byte(1 + r.IntN(254))})
	}
	return netip.AddrPortFrom(a, port).String()
}

// randUint returns a value of a random msgpack width.
func randUint(r *rand.Rand) uint64 {
	switch r.IntN(5) {
	case 0:
		return r.Uint64N(128)
	case 1:
		return 128 + r.Uint64N(128)
	case 2:
		return 256 + r.Uint64N(1<<16-256)
	case 3:
		return 1<<16 + r.Uint64N(1<<32-1<<16)
	}
	return 1<<32 + r.Uint64N(1<<63)
}

func randRecord(r *rand.Rand) core.NodeRecord {
	rec := core.NodeRecord{
		NodeID:      randString(r),
		Authority:   randAuthority(r),
		Status:      core.NodeStatus(1 + r.IntN(6)),
		Incarnation: randUint(r),
	}
	switch r.IntN(4) {
	case 0: // nil
	case 1:
		rec.Meta = []byte{}
	case 2:
		rec.Meta = make([]byte, 256+r.IntN(300)) // bin16
	default:
		rec.Meta = make([]byte, 1+r.IntN(40))
	}
	for i := range rec.Meta {
		rec.Meta[i] = byte(r.Uint32())
	}
	return rec
}

// randMessage returns a message whose slices are nil, empty, short or long
// enough for an array16 header.
func randMessage(r *rand.Rand) core.Message {
	m := core.Message{
		Kind:   core.MessageKind(1 + r.IntN(8)),
		From:   randAuthority(r),
		FromID: randString(r),
		Seq:    randUint(r),
	}
	count := func() int {
		switch r.IntN(4) {
		case 0:
			return -1 // nil
		case 1:
			return 0
		case 2:
			return 16 + r.IntN(40)
		}
		return 1 + r.IntN(15)
	}
	if n := count(); n >= 0 {
		m.Entries = make([]core.NodeRecord, n)
		for i := range m.Entries {
			m.Entries[i] = randRecord(r)
		}
	}
	if n := count(); n >= 0 {
		m.Digest = make([]uint64, n)
		for i := range m.Digest {
			m.Digest[i] = randUint(r)
		}
	}
	if n := count(); n >= 0 {
		m.Want = make([]uint32, n)
		for i := range m.Want {
			m.Want[i] = uint32(randUint(r))
		}
	}
	// Accusations are nil or not empty: an empty list is the 7-element form,
	// which decodes as nil.
	if n := count(); n > 0 {
		m.Accusations = make([]core.Accusation, n)
		for i := range m.Accusations {
			a := core.Accusation{Entry: uint32(randUint(r)), Suspectors: make([]string, 1+r.IntN(16))}
			for j := range a.Suspectors {
				a.Suspectors[j] = randAuthority(r)
			}
			m.Accusations[i] = a
		}
	}
	// A cookie is nil or not empty, as Accusations; now and then long
	// enough for a bin16 header.
	switch r.IntN(4) {
	case 0:
		m.Cookie = make([]byte, 8)
	case 1:
		m.Cookie = make([]byte, 1+r.IntN(255))
	case 2:
		m.Cookie = make([]byte, 256+r.IntN(256))
	}
	for i := range m.Cookie {
		m.Cookie[i] = byte(r.Uint32())
	}
	// User is nil or not empty, as Accusations; an origin is empty (a
	// direct message) or an authority; a payload nil, empty, or long enough
	// for a bin16 header now and then.
	if n := count(); n > 0 {
		m.User = make([]core.UserMessage, n)
		for i := range m.User {
			u := core.UserMessage{Seq: randUint(r)}
			if r.IntN(3) > 0 {
				u.From, u.FromID = randAuthority(r), randString(r)
			}
			switch r.IntN(4) {
			case 0:
			case 1:
				u.Payload = []byte{}
			case 2:
				u.Payload = make([]byte, 1+r.IntN(255))
			case 3:
				u.Payload = make([]byte, 256+r.IntN(1024))
			}
			for j := range u.Payload {
				u.Payload[j] = byte(r.Uint32())
			}
			m.User[i] = u
		}
	}
	return m
}

func TestCodecRoundTripProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	labels := []string{"", "prod", strings.Repeat("x", MaxLabelBytes)}
	for i := range 3000 {
		m := randMessage(r)
		label := labels[i%len(labels)]
		b, err := encodeEnvelope(label, m)
		require.NoError(t, err)
		bound := core.EstimateSize(m) + envelopeOverhead(label)
		require.LessOrEqualf(t, len(b), bound, "case %d: encoded %d bytes over the bound %d", i, len(b), bound)

		got, err := decodeWithDefaults(label, b)
		require.NoErrorf(t, err, "case %d", i)
		require.Equalf(t, m, got, "case %d: decode(encode(x)) != x", i)

		// The interning decoder gives the same result.
		got, err = newEnvelopeDecoder(label, decodeLimits{}).Decode(b)
		require.NoError(t, err)
		require.Equal(t, m, got)
	}
}

func TestCodecResultSharesNoMemory(t *testing.T) {
	m := core.Message{Kind: core.MessageGossip, From: "10.0.0.1:7946", FromID: "a",
		Entries: []core.NodeRecord{{NodeID: "b", Authority: "10.0.0.2:7946", Status: core.StatusUp, Meta: []byte("meta")}}}
	b, err := encodeEnvelope("", m)
	require.NoError(t, err)
	got, err := newEnvelopeDecoder("", decodeLimits{}).Decode(b)
	require.NoError(t, err)
	for i := range b {
		b[i] = 0xff
	}
	assert.Equal(t, m, got)
}

// wireRecord and wireMessage mirror core's types for shamaton/msgpack's
// reflection codec: the hand-written codec must agree with it byte for byte.
type wireRecord struct {
	NodeID      string
	Authority   string
	Status      uint8
	Incarnation uint64
	Meta        []byte
}

type wireMessage struct {
	Kind    uint8
	From    string
	FromID  string
	Seq     uint64
	Entries []wireRecord
	Digest  []uint64
	Want    []uint32
}

// wireAccusation and wireMessageAccusations are the 8-element form of a
// message that names suspectors.
type wireAccusation struct {
	Entry      uint32
	Suspectors []string
}

type wireMessageAccusations struct {
	Kind        uint8
	From        string
	FromID      string
	Seq         uint64
	Entries     []wireRecord
	Digest      []uint64
	Want        []uint32
	Accusations []wireAccusation
}

// wireMessageCookie is the 9-element form of a message with a cookie.
type wireMessageCookie struct {
	Kind        uint8
	From        string
	FromID      string
	Seq         uint64
	Entries     []wireRecord
	Digest      []uint64
	Want        []uint32
	Accusations []wireAccusation
	Cookie      []byte
}

// wireUserMessage and wireMessageUser are the 10-element form of a message
// with user messages.
type wireUserMessage struct {
	From    string
	FromID  string
	Seq     uint64
	Payload []byte
}

type wireMessageUser struct {
	Kind        uint8
	From        string
	FromID      string
	Seq         uint64
	Entries     []wireRecord
	Digest      []uint64
	Want        []uint32
	Accusations []wireAccusation
	Cookie      []byte
	User        []wireUserMessage
}

// toWire returns the struct whose MarshalAsArray encoding m must have: the
// first release's 7 fields, 8 when m names suspectors, 9 when it carries a
// cookie, 10 when it carries user messages.
func toWire(m core.Message) any {
	w := wireMessage{Kind: uint8(m.Kind), From: m.From, FromID: m.FromID, Seq: m.Seq, Digest: m.Digest, Want: m.Want}
	if m.Entries != nil {
		w.Entries = make([]wireRecord, len(m.Entries))
		for i, e := range m.Entries {
			w.Entries[i] = wireRecord{e.NodeID, e.Authority, uint8(e.Status), e.Incarnation, e.Meta}
		}
	}
	if len(m.Accusations) == 0 && len(m.Cookie) == 0 && len(m.User) == 0 {
		return w
	}
	wa := wireMessageAccusations{w.Kind, w.From, w.FromID, w.Seq, w.Entries, w.Digest, w.Want, nil}
	for _, a := range m.Accusations {
		wa.Accusations = append(wa.Accusations, wireAccusation{a.Entry, a.Suspectors})
	}
	if len(m.Cookie) == 0 && len(m.User) == 0 {
		return wa
	}
	if len(m.User) == 0 {
		return wireMessageCookie{wa.Kind, wa.From, wa.FromID, wa.Seq, wa.Entries, wa.Digest, wa.Want, wa.Accusations, m.Cookie}
	}
	wu := wireMessageUser{wa.Kind, wa.From, wa.FromID, wa.Seq, wa.Entries, wa.Digest, wa.Want, wa.Accusations, m.Cookie, nil}
	for _, u := range m.User {
		wu.User = append(wu.User, wireUserMessage{u.From, u.FromID, u.Seq, u.Payload})
	}
	return wu
}

func TestCodecMatchesMsgpackMarshalAsArray(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 500 {
		m := randMessage(r)
		ours, err := encodeEnvelope("lbl", m)
		require.NoError(t, err)
		body := ours[envelopeOverhead("lbl"):]

		theirs, err := msgpack.MarshalAsArray(toWire(m))
		require.NoError(t, err)
		require.Truef(t, bytes.Equal(body, theirs), "case %d: encodings differ", i)

		var back wireMessageUser
		require.NoError(t, msgpack.UnmarshalAsArray(body, &back))
		got, err := decodeWithDefaults("lbl", append([]byte("hs\x01\x03lbl"), theirs...))
		require.NoError(t, err)
		require.Equal(t, m, got)
	}
}

func TestEncodeRejects(t *testing.T) {
	ok := core.Message{Kind: core.MessageHeartbeat, From: "a", FromID: "b"}
	tests := []struct {
		name  string
		label string
		m     core.Message
		want  error
	}{
		{"long label", strings.Repeat("x", MaxLabelBytes+1), ok, errOversize},
		{"zero kind", "", core.Message{From: "a"}, errMalformed},
		{"unknown kind", "", core.Message{Kind: 200}, errMalformed},
		{"unknown status", "", core.Message{Kind: core.MessageGossip, Entries: []core.NodeRecord{{Status: 9}}}, errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := appendEnvelope(nil, tt.label, tt.m)
			assert.ErrorIs(t, err, tt.want)
			assert.Empty(t, b)
		})
	}
}

// sample is a valid envelope exercising every field.
func sample(t testing.TB) []byte {
	b, err := encodeEnvelope("prod", core.Message{
		Kind: core.MessageDigestReply, From: "10.0.0.1:7946", FromID: "node-a", Seq: 300,
		Entries: []core.NodeRecord{
			{NodeID: "node-b", Authority: "10.0.0.2:7946", Status: core.StatusUp, Incarnation: 7, Meta: []byte("role=db")},
			{NodeID: "node-c", Authority: "10.0.0.3:7946", Status: core.StatusDead, Incarnation: 1 << 40},
			{NodeID: "node-d", Authority: "10.0.0.5:7946", Status: core.StatusSuspect, Incarnation: 3},
		},
		Digest:      []uint64{1, 1 << 60},
		Want:        []uint32{3, 70000},
		Accusations: []core.Accusation{{Entry: 2, Suspectors: []string{"10.0.0.1:7946", "10.0.0.4:7946"}}},
	})
	require.NoError(t, err)
	return b
}

// envelope builds a datagram from a header and a raw msgpack body.
func envelope(label string, body ...byte) []byte {
	return append(append([]byte{'h', 's', wireVersion, byte(len(label))}, label...), body...)
}

func TestDecodeRejects(t *testing.T) {
	good := sample(t)
	fix := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	// A heartbeat body: fixarray(7), kind 1, "1.2.3.4:5", "b", seq 0, nil,
	// nil, nil.
	hb := []byte{0x97, 0x01, 0xa9, '1', '.', '2', '.', '3', '.', '4', ':', '5', 0xa1, 'b', 0x00, 0xc0, 0xc0, 0xc0}
	tests := []struct {
		name   string
		in     []byte
		limits decodeLimits
		want   error
		field  string
	}{
		{"empty", nil, decodeLimits{}, errTruncated, "magic"},
		{"one byte", []byte{'h'}, decodeLimits{}, errTruncated, "magic"},
		{"bad magic", fix(func(b []byte) []byte { b[0] = 'x'; return b }), decodeLimits{}, errBadMagic, "magic"},
		{"wrong version", fix(func(b []byte) []byte { b[2] = 2; return b }), decodeLimits{}, errWrongVersion, "version"},
		{"wrong label", envelope("dev", hb...), decodeLimits{}, errWrongLabel, "label"},
		{"label longer than datagram", []byte{'h', 's', 1, 200, 'p'}, decodeLimits{}, errTruncated, "label"},
		{"datagram over limit", good, decodeLimits{MaxDatagramBytes: 20}, errOversize, "datagram"},
		{"trailing byte", append(bytes.Clone(good), 0), decodeLimits{}, errMalformed, "message"},
		{"message not an array", envelope("prod", 0x01), decodeLimits{}, errMalformed, "message"},
		{"message with 6 fields", envelope("prod", 0x96, 1, 0xa0, 0xa0, 0, 0xc0, 0xc0), decodeLimits{}, errMalformed, "message"},
		{"unknown kind", envelope("prod", 0x97, 0x7f, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0xc0), decodeLimits{}, errMalformed, "kind"},
		{"kind over a byte", envelope("prod", 0x97, 0xcd, 0x01, 0x01, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0xc0), decodeLimits{}, errMalformed, "kind"},
		{"negative seq", envelope("prod", 0x97, 1, 0xa0, 0xa0, 0xff, 0xc0, 0xc0, 0xc0), decodeLimits{}, errMalformed, "seq"},
		{"negative int8 seq", envelope("prod", 0x97, 1, 0xa0, 0xa0, 0xd0, 0x80, 0xc0, 0xc0, 0xc0), decodeLimits{}, errMalformed, "seq"},
		{"from is an int", envelope("prod", 0x97, 1, 0x01, 0xa0, 0, 0xc0, 0xc0, 0xc0), decodeLimits{}, errMalformed, "from"},
		{"from over limit", append(envelope("prod", 0x97, 1, 0xd9, 40), make([]byte, 48)...), decodeLimits{MaxStringBytes: 32}, errOversize, "from"},
		{"str32 claims 4 GiB", append(envelope("prod", 0x97, 1, 0xdb, 0xff, 0xff, 0xff, 0xff), make([]byte, 8)...), decodeLimits{MaxStringBytes: 1 << 30}, errOversize, "from"},
		{"entries count over limit", envelope("prod", 0x97, 1, 0xa0, 0xa0, 0, 0xdc, 0x01, 0x00), decodeLimits{MaxEntries: 255}, errOversize, "entries"},
		{"entries count over bytes left", envelope("prod", 0x97, 1, 0xa0, 0xa0, 0, 0xdd, 0x00, 0x00, 0x10, 0x00), decodeLimits{}, errTruncated, "entries"},
		{"entries is a map", envelope("prod", 0x97, 1, 0xa0, 0xa0, 0, 0x80, 0xc0, 0xc0), decodeLimits{}, errMalformed, "entries"},
		{"record with 4 fields", envelope("prod", 0x97, 1, 0xa0, 0xa0, 0, 0x91, 0x94, 0xa0, 0xa0, 2, 0, 0xc0, 0xc0), decodeLimits{}, errMalformed, "entries"},
		{"unknown status", envelope("prod", 0x97, 1, 0xa0, 0xa0, 0, 0x91, 0x95, 0xa0, 0xa0, 9, 0, 0xc0, 0xc0, 0xc0), decodeLimits{}, errMalformed, "entries.status"},
		{"meta is a string", envelope("prod", 0x97, 1, 0xa0, 0xa0, 0, 0x91, 0x95, 0xa0, 0xa0, 2, 0, 0xa1, 'x', 0xc0, 0xc0), decodeLimits{}, errMalformed, "entries.meta"},
		{"meta over limit", envelope("prod", 0x97, 1, 0xa0, 0xa0, 0, 0x91, 0x95, 0xa0, 0xa0, 2, 0, 0xc4, 0x05, 1, 2, 3, 4, 5, 0xc0, 0xc0), decodeLimits{MaxMetaBytes: 4}, errOversize, "entries.meta"},
		{"digest over limit", envelope("prod", 0x97, 1, 0xa0, 0xa0, 0, 0xc0, 0x93, 1, 2, 3, 0xc0), decodeLimits{MaxDigest: 2}, errOversize, "digest"},
		{"digest element is a string", envelope("prod", 0x97, 1, 0xa0, 0xa0, 0, 0xc0, 0x91, 0xa0, 0xc0), decodeLimits{}, errMalformed, "digest"},
		{"want over limit", envelope("prod", 0x97, 1, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0x92, 1, 2), decodeLimits{MaxWant: 1}, errOversize, "want"},
		{"want over uint32", envelope("prod", 0x97, 1, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0x91, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0), decodeLimits{}, errMalformed, "want"},
		{"message with 11 fields", envelope("prod", 0x9b, 1, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0), decodeLimits{}, errMalformed, "message"},
		{"user is a map", envelope("prod", 0x9a, 8, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0x80), decodeLimits{}, errMalformed, "user"},
		{"user messages over limit", envelope("prod", 0x9a, 8, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0x92, 0x94, 0xa0, 0xa0, 0, 0xc0, 0x94, 0xa0, 0xa0, 0, 0xc0), decodeLimits{MaxUserMessages: 1}, errOversize, "user"},
		{"user message with 3 fields", envelope("prod", 0x9a, 8, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0x91, 0x93, 0xa0, 0xa0, 0), decodeLimits{}, errMalformed, "user"},
		{"user seq is a string", envelope("prod", 0x9a, 8, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0x91, 0x94, 0xa0, 0xa0, 0xa0, 0xc0), decodeLimits{}, errMalformed, "user.seq"},
		{"payload is a string", envelope("prod", 0x9a, 8, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0x91, 0x94, 0xa0, 0xa0, 0, 0xa1, 'x'), decodeLimits{}, errMalformed, "user.payload"},
		{"payload over limit", envelope("prod", 0x9a, 8, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0x91, 0x94, 0xa0, 0xa0, 0, 0xc4, 3, 1, 2, 3), decodeLimits{MaxPayloadBytes: 2}, errOversize, "user.payload"},
		{"cookie is a string", envelope("prod", 0x99, 1, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0xc0, 0xc0, 0xa1, 'x'), decodeLimits{}, errMalformed, "cookie"},
		{"cookie over limit", envelope("prod", 0x99, 1, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc4, 3, 1, 2, 3), decodeLimits{MaxCookieBytes: 2}, errOversize, "cookie"},
		{"accusations is a map", envelope("prod", 0x98, 1, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0xc0, 0x80), decodeLimits{}, errMalformed, "accusations"},
		{"accusations over limit", envelope("prod", 0x98, 1, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0xc0, 0x92, 0x92, 0, 0x91, 0xa0, 0x92, 0, 0x91, 0xa0), decodeLimits{MaxEntries: 1}, errOversize, "accusations"},
		{"accusation with 3 fields", envelope("prod", 0x98, 1, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0xc0, 0x91, 0x93, 0, 0x91, 0xa0, 0), decodeLimits{}, errMalformed, "accusations"},
		{"accusation entry over uint32", envelope("prod", 0x98, 1, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0xc0, 0x91, 0x92, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0, 0x91, 0xa0), decodeLimits{}, errMalformed, "accusations.entry"},
		{"suspectors over limit", envelope("prod", 0x98, 1, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0xc0, 0x91, 0x92, 0, 0x93, 0xa0, 0xa0, 0xa0), decodeLimits{MaxSuspectors: 2}, errOversize, "accusations.suspectors"},
		{"suspectors is nil", envelope("prod", 0x98, 1, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0xc0, 0x91, 0x92, 0, 0xc0), decodeLimits{}, errMalformed, "accusations.suspectors"},
		{"suspector is an int", envelope("prod", 0x98, 1, 0xa0, 0xa0, 0, 0xc0, 0xc0, 0xc0, 0x91, 0x92, 0, 0x91, 0x01), decodeLimits{}, errMalformed, "accusations.suspectors"},
	}
	// Every authority in another spelling than canonical: as a message's
	// From, a record's Authority, a suspector and a broadcast's origin.
	for _, a := range nonCanonicalAuthorities {
		from := core.Message{Kind: core.MessageHeartbeat, From: a, FromID: "b"}
		record := core.Message{Kind: core.MessageGossip, From: "10.0.0.1:7946", FromID: "b",
			Entries: []core.NodeRecord{{NodeID: "c", Authority: a, Status: core.StatusUp}}}
		suspector := core.Message{Kind: core.MessageGossip, From: "10.0.0.1:7946", FromID: "b",
			Entries:     []core.NodeRecord{{NodeID: "c", Authority: "10.0.0.3:7946", Status: core.StatusSuspect}},
			Accusations: []core.Accusation{{Entry: 0, Suspectors: []string{"10.0.0.4:7946", a}}}}
		origin := core.Message{Kind: core.MessageGossip, From: "10.0.0.1:7946", FromID: "b",
			User: []core.UserMessage{{From: "10.0.0.4:7946", FromID: "d", Seq: 1}, {From: a, FromID: "c", Seq: 2}}}
		cases := map[string]core.Message{"from": from, "entries.authority": record, "accusations.suspectors": suspector, "user.from": origin}
		if a == "" {
			delete(cases, "user.from") // a direct message has no origin
		}
		for field, m := range cases {
			b, err := encodeEnvelope("prod", m)
			require.NoError(t, err)
			tests = append(tests, struct {
				name   string
				in     []byte
				limits decodeLimits
				want   error
				field  string
			}{fmt.Sprintf("%s %q", field, a), b, decodeLimits{}, errNonCanonical, field})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := newEnvelopeDecoder("prod", tt.limits).Decode(tt.in)
			require.ErrorIs(t, err, tt.want)
			var de *decodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tt.field, de.Field, "field; error: %v", err)
			assert.Equal(t, core.Message{}, m, "no partial result")
		})
	}
	// The heartbeat body itself is valid, and so is the 8-element form with
	// no accusations (nil or empty), which decodes as the 7-element one.
	want, err := decodeWithDefaults("dev", envelope("dev", hb...))
	require.NoError(t, err)
	for _, tail := range [][]byte{{0xc0}, {0x90}} {
		long := append([]byte{0x98}, hb[1:]...)
		got, err := decodeWithDefaults("dev", envelope("dev", append(long, tail...)...))
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
}

// nonCanonicalAuthorities are spellings the decoder refuses: another
// spelling of an address that has a canonical one (leading zeros, IPv4
// mapped into IPv6, upper case, IPv6 not in its shortest form), and
// authorities no datagram can be sent to.
var nonCanonicalAuthorities = []string{
	"127.0.0.1:029900",
	"[::ffff:127.0.0.1]:29900",
	"127.000.0.1:29900",
	"[2001:DB8::1]:7946",
	"[2001:db8:0:0::1]:7946",
	"[2001:db8::1]:07946",
	"localhost:7946",
	"10.0.0.1",
	"10.0.0.1:",
	"10.0.0.1:0",
	"0.0.0.0:7946",
	"[::]:7946",
	"224.0.0.1:7946",
	" 10.0.0.1:7946",
	"",
}

func TestCanonicalAuthority(t *testing.T) {
	for _, a := range nonCanonicalAuthorities {
		assert.False(t, canonicalAuthority(a), "%q", a)
	}
	for _, a := range []string{"127.0.0.1:29900", "10.0.0.1:1", "255.255.255.254:65535", "[::1]:7946",
		"[2001:db8::1]:7946", "[fe80::1%eth0]:7946"} {
		assert.True(t, canonicalAuthority(a), "%q", a)
	}
	assert.Zero(t, testing.AllocsPerRun(100, func() { canonicalAuthority("[2001:db8::1]:7946") }))
}

func TestDecodeEveryTruncation(t *testing.T) {
	good := sample(t)
	for n := range len(good) {
		m, err := decodeWithDefaults("prod", good[:n])
		require.ErrorIsf(t, err, errTruncated, "prefix of %d bytes", n)
		require.Equal(t, core.Message{}, m)
	}
}

func TestDecodeEveryByteFlipNeverPanics(t *testing.T) {
	good := sample(t)
	d := newEnvelopeDecoder("prod", decodeLimits{})
	for i := range good {
		for _, v := range []byte{0x00, 0x7f, 0x80, 0xc0, 0xc1, 0xcf, 0xd3, 0xdb, 0xdd, 0xff} {
			b := bytes.Clone(good)
			b[i] = v
			m, err := d.Decode(b)
			if err != nil {
				var de *decodeError
				require.ErrorAs(t, err, &de)
				require.Equal(t, core.Message{}, m)
			}
		}
	}
}

func TestDecodeErrorMessage(t *testing.T) {
	_, err := newEnvelopeDecoder("prod", decodeLimits{MaxMetaBytes: 4}).Decode(
		envelope("prod", 0x97, 1, 0xa0, 0xa0, 0, 0x91, 0x95, 0xa0, 0xa0, 2, 0, 0xc4, 0x05, 1, 2, 3, 4, 5, 0xc0, 0xc0))
	require.Error(t, err)
	assert.Equal(t, "hearsay: oversize: entries.meta[0] at offset 21: length 5 over limit 4", err.Error())
	assert.True(t, errors.Is(err, errOversize))
}

func heartbeat() core.Message {
	return core.Message{Kind: core.MessageHeartbeat, From: "10.0.0.1:7946", FromID: "01J9Z3K4M5N6P7Q8R9S0T1V2W3", Seq: 123456}
}

// fullDatagram returns a gossip message with as many records as fit a
// 1400-byte datagram by core's estimate.
func fullDatagram() core.Message {
	m := core.Message{Kind: core.MessageGossip, From: "10.0.0.1:7946", FromID: "01J9Z3K4M5N6P7Q8R9S0T1V2W3", Seq: 99}
	limit := MaxMessageBytes(1400, "prod")
	for i := 0; ; i++ {
		r := core.NodeRecord{NodeID: fmt.Sprintf("01J9Z3K4M5N6P7Q8R9S0T1%04d", i), Authority: fmt.Sprintf("10.0.%d.%d:7946", i/250, i%250+1),
			Status: core.NodeStatus(1 + i%6), Incarnation: uint64(i * 1000), Meta: []byte("dc=eu1")}
		if core.EstimateSize(m)+core.EstimateRecordSize(r)+4 > limit {
			return m
		}
		m.Entries = append(m.Entries, r)
	}
}

func TestFullDatagramFits(t *testing.T) {
	m := fullDatagram()
	b, err := encodeEnvelope("prod", m)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(b), 1400)
	assert.Greater(t, len(m.Entries), 15, "enough records to need an array16 header")
}

func TestDecodeHeartbeatAllocatesNothing(t *testing.T) {
	b, err := encodeEnvelope("prod", heartbeat())
	require.NoError(t, err)
	d := newEnvelopeDecoder("prod", decodeLimits{})
	_, err = d.Decode(b) // warm the intern table
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := d.Decode(b); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)

	buf := make([]byte, 0, 1400)
	allocs = testing.AllocsPerRun(100, func() {
		buf, _ = appendEnvelope(buf[:0], "prod", heartbeat())
	})
	assert.Zero(t, allocs, "encoding into a buffer with room")
}

func FuzzDecode(f *testing.F) {
	f.Add(sample(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := newEnvelopeDecoder("prod", decodeLimits{MaxDatagramBytes: 1 << 16})
		m, err := d.Decode(b)
		if err != nil {
			var de *decodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			if !reflect.DeepEqual(m, core.Message{}) {
				t.Fatalf("partial result %+v with error %v", m, err)
			}
			return
		}
		// Whatever decodes re-encodes within the bound and decodes the same.
		again, err := encodeEnvelope("prod", m)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if bound := core.EstimateSize(m) + envelopeOverhead("prod"); len(again) > bound {
			t.Fatalf("re-encoded %d bytes over bound %d", len(again), bound)
		}
		m2, err := d.Decode(again)
		if err != nil {
			t.Fatalf("decode of re-encoding: %v", err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", m, m2)
		}
	})
}

func BenchmarkCodecEncodeHeartbeat(b *testing.B) {
	m := heartbeat()
	buf := make([]byte, 0, 1400)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = appendEnvelope(buf[:0], "prod", m)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkCodecDecodeHeartbeat(b *testing.B) {
	buf, _ := encodeEnvelope("prod", heartbeat())
	d := newEnvelopeDecoder("prod", decodeLimits{})
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decode(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCodecEncodeFullDatagram(b *testing.B) {
	m := fullDatagram()
	buf := make([]byte, 0, 1400)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = appendEnvelope(buf[:0], "prod", m)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkCodecDecodeFullDatagram(b *testing.B) {
	buf, _ := encodeEnvelope("prod", fullDatagram())
	d := newEnvelopeDecoder("prod", decodeLimits{})
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decode(buf); err != nil {
			b.Fatal(err)
		}
	}
}
