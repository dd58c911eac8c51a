package std

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/hearsay-go/hearsay/core"
	"github.com/shamaton/msgpack/v2/def"
)

// decodeLimits bounds what a decoder accepts. A zero field means the default
// of defaultDecodeLimits. Every count is also bounded by the datagram itself:
// a count larger than the bytes left is errTruncated before anything is
// allocated.
type decodeLimits struct {
	// MaxDatagramBytes bounds the whole envelope (default maxUDPPayload).
	MaxDatagramBytes int
	// MaxEntries bounds Message.Entries (default 4096).
	MaxEntries int
	// MaxStringBytes bounds every string: From, FromID, NodeID, Authority,
	// each suspector (default 512).
	MaxStringBytes int
	// MaxMetaBytes bounds NodeRecord.Meta (default 4096; std's Node sets it to
	// the core config's MaxMetadataBytes).
	MaxMetaBytes int
	// MaxDigest bounds Message.Digest (default 4096).
	MaxDigest int
	// MaxWant bounds Message.Want (default 4096).
	MaxWant int
	// MaxSuspectors bounds the Suspectors of each of Message.Accusations
	// (default 16, the most a coordinator accepts); MaxEntries bounds the
	// number of accusations.
	MaxSuspectors int
	// MaxCookieBytes bounds Message.Cookie (default 512, the most a
	// coordinator accepts).
	MaxCookieBytes int
	// MaxUserMessages bounds Message.User (default 256).
	MaxUserMessages int
	// MaxPayloadBytes bounds each UserMessage.Payload (default 65507; std's
	// Node sets it to the core config's MaxPayloadBytes).
	MaxPayloadBytes int
}

// defaultDecodeLimits returns the limits a zero decodeLimits stands for.
func defaultDecodeLimits() decodeLimits {
	return decodeLimits{
		MaxDatagramBytes: maxUDPPayload,
		MaxEntries:       4096,
		MaxStringBytes:   512,
		MaxMetaBytes:     4096,
		MaxDigest:        4096,
		MaxWant:          4096,
		MaxSuspectors:    16,
		MaxCookieBytes:   512,
		MaxUserMessages:  256,
		MaxPayloadBytes:  maxUDPPayload,
	}
}

func (l decodeLimits) withDefaults() decodeLimits {
	d := defaultDecodeLimits()
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.MaxDatagramBytes, d.MaxDatagramBytes)
	set(&l.MaxEntries, d.MaxEntries)
	set(&l.MaxStringBytes, d.MaxStringBytes)
	set(&l.MaxMetaBytes, d.MaxMetaBytes)
	set(&l.MaxDigest, d.MaxDigest)
	set(&l.MaxWant, d.MaxWant)
	set(&l.MaxSuspectors, d.MaxSuspectors)
	set(&l.MaxCookieBytes, d.MaxCookieBytes)
	set(&l.MaxUserMessages, d.MaxUserMessages)
	set(&l.MaxPayloadBytes, d.MaxPayloadBytes)
	return l
}

// maxInterned bounds a envelopeDecoder's string table; it is cleared when full.
const maxInterned = 4096

// maxInternedLen is the longest string a envelopeDecoder interns.
const maxInternedLen = 128

// envelopeDecoder decodes envelopes for one cluster label. It interns the strings it
// decodes (authorities and node IDs repeat in almost every message), so in a
// steady state decoding a heartbeat allocates nothing. A envelopeDecoder is not safe
// for concurrent use; give each receiving goroutine its own.
type envelopeDecoder struct {
	label     string
	limits    decodeLimits
	intern    map[string]string
	canonical map[string]struct{} // authorities found canonical, bounded as intern is
}

// newEnvelopeDecoder returns a decoder that accepts envelopes labelled label, within
// limits (zero fields take their defaults).
func newEnvelopeDecoder(label string, limits decodeLimits) *envelopeDecoder {
	return &envelopeDecoder{label: label, limits: limits.withDefaults(), intern: make(map[string]string),
		canonical: make(map[string]struct{})}
}

// Decode decodes one envelope. On error it returns the zero Message and a
// *decodeError; it never panics and never returns part of a message. The
// result shares no memory with b.
func (d *envelopeDecoder) Decode(b []byte) (core.Message, error) {
	return decodeEnvelope(b, d.label, &d.limits, d)
}

// decodeWithDefaults decodes one envelope labelled label with the default limits.
// See envelopeDecoder.Decode.
func decodeWithDefaults(label string, b []byte) (core.Message, error) {
	l := defaultDecodeLimits()
	return decodeEnvelope(b, label, &l, nil)
}

// reader walks a datagram. The first failure is kept in err (with the field
// being read) and every later read is a no-op, so decoding code reads
// straight through and checks once per loop.
type reader struct {
	b     []byte
	off   int
	field string
	index int
	err   *decodeError
}

func (r *reader) fail(sentinel error, detail string) {
	if r.err == nil {
		r.err = &decodeError{Field: r.field, Index: r.index, Offset: r.off, Detail: detail, Err: sentinel}
	}
}

func (r *reader) at(field string, index int) {
	r.field, r.index = field, index
}

func (r *reader) byte1() (byte, bool) {
	if r.err != nil {
		return 0, false
	}
	if r.off >= len(r.b) {
		r.fail(errTruncated, "")
		return 0, false
	}
	c := r.b[r.off]
	r.off++
	return c, true
}

// need reports whether n more bytes are available, failing with errTruncated
// if not.
func (r *reader) need(n int) bool {
	if r.err != nil {
		return false
	}
	if n > len(r.b)-r.off {
		r.fail(errTruncated, "")
		return false
	}
	return true
}

func (r *reader) bigEndian(n int) (uint64, bool) {
	if !r.need(n) {
		return 0, false
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	switch n {
	case 1:
		return uint64(p[0]), true
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), true
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), true
	}
	return binary.BigEndian.Uint64(p), true
}

// uint reads a non-negative integer in any msgpack integer format.
func (r *reader) uint() uint64 {
	c, ok := r.byte1()
	if !ok {
		return 0
	}
	switch {
	case c <= def.PositiveFixIntMax:
		return uint64(c)
	case c == def.Uint8:
		v, _ := r.bigEndian(1)
		return v
	case c == def.Uint16:
		v, _ := r.bigEndian(2)
		return v
	case c == def.Uint32:
		v, _ := r.bigEndian(4)
		return v
	case c == def.Uint64:
		v, _ := r.bigEndian(8)
		return v
	case c >= def.Int8 && c <= def.Int64:
		n := 1 << (c - def.Int8)
		v, ok := r.bigEndian(n)
		if !ok {
			return 0
		}
		if v>>(uint(n)*8-1) != 0 { // sign bit set
			r.off -= n + 1
			r.fail(errMalformed, "negative integer")
			return 0
		}
		return v
	}
	r.off--
	r.fail(errMalformed, fmt.Sprintf("type 0x%02x is not an unsigned integer", c))
	return 0
}

// strBytes reads a string of at most limit bytes and returns it aliasing the
// datagram.
func (r *reader) strBytes(limit int) []byte {
	c, ok := r.byte1()
	if !ok {
		return nil
	}
	var n uint64
	switch {
	case c&0xe0 == def.FixStr:
		n = uint64(c & 0x1f)
	case c == def.Str8:
		n, ok = r.bigEndian(1)
	case c == def.Str16:
		n, ok = r.bigEndian(2)
	case c == def.Str32:
		n, ok = r.bigEndian(4)
	default:
		r.off--
		r.fail(errMalformed, fmt.Sprintf("type 0x%02x is not a string", c))
		return nil
	}
	if !ok {
		return nil
	}
	return r.body(n, limit)
}

// body returns the next n bytes, n being a declared length bounded by limit.
func (r *reader) body(n uint64, limit int) []byte {
	if n > uint64(limit) {
		r.fail(errOversize, fmt.Sprintf("length %d over limit %d", n, limit))
		return nil
	}
	if !r.need(int(n)) {
		return nil
	}
	p := r.b[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return p
}

// bin reads nil or a bin of at most limit bytes, aliasing the datagram. isNil
// tells a nil from an empty bin.
func (r *reader) bin(limit int) (p []byte, isNil bool) {
	c, ok := r.byte1()
	if !ok {
		return nil, false
	}
	var n uint64
	switch c {
	case def.Nil:
		return nil, true
	case def.Bin8:
		n, ok = r.bigEndian(1)
	case def.Bin16:
		n, ok = r.bigEndian(2)
	case def.Bin32:
		n, ok = r.bigEndian(4)
	default:
		r.off--
		r.fail(errMalformed, fmt.Sprintf("type 0x%02x is not bin or nil", c))
		return nil, false
	}
	if !ok {
		return nil, false
	}
	return r.body(n, limit), false
}

// array reads an array header (or nil, when nilOK) with at most limit
// elements. Each element takes at least one byte, so a count larger than the
// bytes left is errTruncated.
func (r *reader) array(limit int, nilOK bool) (n int, isNil bool) {
	c, ok := r.byte1()
	if !ok {
		return 0, false
	}
	var v uint64
	switch {
	case c&0xf0 == def.FixArray:
		v = uint64(c & 0x0f)
	case c == def.Array16:
		v, ok = r.bigEndian(2)
	case c == def.Array32:
		v, ok = r.bigEndian(4)
	case c == def.Nil && nilOK:
		return 0, true
	default:
		r.off--
		r.fail(errMalformed, fmt.Sprintf("type 0x%02x is not an array", c))
		return 0, false
	}
	if !ok {
		return 0, false
	}
	if v > uint64(limit) {
		r.fail(errOversize, fmt.Sprintf("count %d over limit %d", v, limit))
		return 0, false
	}
	if v > uint64(len(r.b)-r.off) {
		r.fail(errTruncated, fmt.Sprintf("count %d, %d bytes left", v, len(r.b)-r.off))
		return 0, false
	}
	return int(v), false
}

// authority checks that s, just read by r, is an authority in canonical
// form (see canonicalAuthority), failing r with errNonCanonical if not. The
// authorities found canonical are remembered (as strings are interned), so a
// steady stream of the same members costs a map lookup each.
func (d *envelopeDecoder) authority(r *reader, s string) bool {
	if r.err != nil {
		return false
	}
	if d != nil {
		if _, ok := d.canonical[s]; ok {
			return true
		}
	}
	if !canonicalAuthority(s) {
		r.fail(errNonCanonical, fmt.Sprintf("%q", s))
		return false
	}
	if d != nil && len(s) <= maxInternedLen {
		if len(d.canonical) >= maxInterned {
			clear(d.canonical)
		}
		d.canonical[s] = struct{}{}
	}
	return true
}

// canonicalAuthority reports whether s is an authority in the one form std
// accepts, so that one address has one spelling and a limit keyed by it
// cannot be sidestepped by writing it another way: "ip:port" exactly as
// netip.AddrPort.String writes it (no leading zeros, IPv6 in brackets, in
// its shortest lower-case form), an IPv4 address as such and never mapped
// into IPv6 ([::ffff:a.b.c.d]), and an address a datagram can be sent to
// (neither unspecified nor multicast, and a port other than 0). It does not
// allocate for a valid authority.
func canonicalAuthority(s string) bool {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return false
	}
	a := ap.Addr()
	if a.Is4In6() || a.IsUnspecified() || a.IsMulticast() || ap.Port() == 0 {
		return false
	}
	var buf [64]byte
	return string(ap.AppendTo(buf[:0])) == s
}

// str converts decoded bytes to a string, interning it when d is not nil.
func (d *envelopeDecoder) str(b []byte) string {
	if d == nil || len(b) > maxInternedLen {
		return string(b)
	}
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	if len(d.intern) >= maxInterned {
		clear(d.intern)
	}
	s := string(b)
	d.intern[s] = s
	return s
}

func decodeEnvelope(b []byte, label string, lim *decodeLimits, d *envelopeDecoder) (core.Message, error) {
	r := reader{b: b, index: -1}
	if len(b) > lim.MaxDatagramBytes {
		r.at("datagram", -1)
		r.fail(errOversize, fmt.Sprintf("%d bytes over limit %d", len(b), lim.MaxDatagramBytes))
		return core.Message{}, r.err
	}
	// Header.
	r.at("magic", -1)
	if !r.need(2) {
		return core.Message{}, r.err
	}
	if b[0] != wireMagic[0] || b[1] != wireMagic[1] {
		r.fail(errBadMagic, fmt.Sprintf("got 0x%02x%02x", b[0], b[1]))
		return core.Message{}, r.err
	}
	r.off = 2
	r.at("version", -1)
	if v, ok := r.byte1(); !ok {
		return core.Message{}, r.err
	} else if v != wireVersion {
		r.off--
		r.fail(errWrongVersion, fmt.Sprintf("got %d, want %d", v, wireVersion))
		return core.Message{}, r.err
	}
	r.at("label", -1)
	n, ok := r.byte1()
	if !ok || !r.need(int(n)) {
		return core.Message{}, r.err
	}
	if string(b[r.off:r.off+int(n)]) != label {
		r.fail(errWrongLabel, fmt.Sprintf("got %q, want %q", b[r.off:r.off+int(n)], label))
		return core.Message{}, r.err
	}
	r.off += int(n)

	// Message.
	r.at("message", -1)
	arity, _ := r.array(0xff, false)
	if r.err == nil && (arity < messageArity || arity > messageArityUser) {
		r.fail(errMalformed, fmt.Sprintf("message has %d fields, want %d to %d", arity, messageArity, messageArityUser))
	}
	var m core.Message
	r.at("kind", -1)
	kind := r.uint()
	if r.err == nil && (kind > 0xff || !core.MessageKind(kind).Valid()) {
		r.fail(errMalformed, fmt.Sprintf("unknown message kind %d", kind))
	}
	m.Kind = core.MessageKind(kind)
	r.at("from", -1)
	from := r.strBytes(lim.MaxStringBytes)
	r.at("fromID", -1)
	fromID := r.strBytes(lim.MaxStringBytes)
	r.at("seq", -1)
	m.Seq = r.uint()

	r.at("entries", -1)
	count, isNil := r.array(lim.MaxEntries, true)
	if r.err != nil {
		return core.Message{}, r.err
	}
	metaBytes := 0
	if !isNil {
		m.Entries = make([]core.NodeRecord, count)
		for i := range m.Entries {
			e := &m.Entries[i]
			r.at("entries", i)
			if arity, _ := r.array(0xff, false); r.err == nil && arity != recordArity {
				r.fail(errMalformed, fmt.Sprintf("record has %d fields, want %d", arity, recordArity))
			}
			r.at("entries.nodeID", i)
			id := r.strBytes(lim.MaxStringBytes)
			r.at("entries.authority", i)
			auth := r.strBytes(lim.MaxStringBytes)
			r.at("entries.status", i)
			st := r.uint()
			if r.err == nil && (st > 0xff || !core.NodeStatus(st).Valid()) {
				r.fail(errMalformed, fmt.Sprintf("unknown status %d", st))
			}
			r.at("entries.incarnation", i)
			e.Incarnation = r.uint()
			r.at("entries.meta", i)
			meta, metaNil := r.bin(lim.MaxMetaBytes)
			if r.err != nil {
				return core.Message{}, r.err
			}
			e.NodeID, e.Authority, e.Status = d.str(id), d.str(auth), core.NodeStatus(st)
			r.at("entries.authority", i)
			if !d.authority(&r, e.Authority) {
				return core.Message{}, r.err
			}
			if !metaNil {
				e.Meta = meta // aliases b until copied below
				metaBytes += len(meta)
			}
		}
	}

	r.at("digest", -1)
	count, isNil = r.array(lim.MaxDigest, true)
	if r.err != nil {
		return core.Message{}, r.err
	}
	if !isNil {
		m.Digest = make([]uint64, count)
		for i := range m.Digest {
			r.at("digest", i)
			m.Digest[i] = r.uint()
		}
	}

	r.at("want", -1)
	count, isNil = r.array(lim.MaxWant, true)
	if r.err != nil {
		return core.Message{}, r.err
	}
	if !isNil {
		m.Want = make([]uint32, count)
		for i := range m.Want {
			r.at("want", i)
			w := r.uint()
			if r.err == nil && w > 0xffffffff {
				r.fail(errMalformed, fmt.Sprintf("bucket %d over uint32", w))
			}
			m.Want[i] = uint32(w)
		}
	}
	var suspectors [][]byte // aliasing b until copied below
	if arity >= messageArityAccusations {
		r.at("accusations", -1)
		count, isNil = r.array(lim.MaxEntries, true)
		if r.err != nil {
			return core.Message{}, r.err
		}
		if !isNil && count > 0 {
			m.Accusations = make([]core.Accusation, count)
			for i := range m.Accusations {
				a := &m.Accusations[i]
				r.at("accusations", i)
				if n, _ := r.array(0xff, false); r.err == nil && n != accusationArity {
					r.fail(errMalformed, fmt.Sprintf("accusation has %d fields, want %d", n, accusationArity))
				}
				r.at("accusations.entry", i)
				e := r.uint()
				if r.err == nil && e > 0xffffffff {
					r.fail(errMalformed, fmt.Sprintf("entry %d over uint32", e))
				}
				a.Entry = uint32(e)
				r.at("accusations.suspectors", i)
				n, _ := r.array(lim.MaxSuspectors, false)
				if r.err != nil {
					return core.Message{}, r.err
				}
				a.Suspectors = make([]string, n)
				for range n {
					suspectors = append(suspectors, r.strBytes(lim.MaxStringBytes))
				}
			}
		}
	}
	var cookie []byte // aliasing b until copied below
	if arity >= messageArityCookie {
		r.at("cookie", -1)
		cookie, _ = r.bin(lim.MaxCookieBytes)
	}
	var userFrom, userFromID [][]byte // aliasing b until copied below
	if arity == messageArityUser {
		r.at("user", -1)
		count, isNil = r.array(lim.MaxUserMessages, true)
		if r.err != nil {
			return core.Message{}, r.err
		}
		if !isNil && count > 0 {
			m.User = make([]core.UserMessage, count)
			userFrom, userFromID = make([][]byte, count), make([][]byte, count)
			for i := range m.User {
				u := &m.User[i]
				r.at("user", i)
				if n, _ := r.array(0xff, false); r.err == nil && n != userMessageArity {
					r.fail(errMalformed, fmt.Sprintf("user message has %d fields, want %d", n, userMessageArity))
				}
				r.at("user.from", i)
				userFrom[i] = r.strBytes(lim.MaxStringBytes)
				r.at("user.fromID", i)
				userFromID[i] = r.strBytes(lim.MaxStringBytes)
				r.at("user.seq", i)
				u.Seq = r.uint()
				r.at("user.payload", i)
				u.Payload, _ = r.bin(lim.MaxPayloadBytes) // aliases b until copied below
				if r.err != nil {
					return core.Message{}, r.err
				}
			}
		}
	}
	if r.err != nil {
		return core.Message{}, r.err
	}
	if r.off != len(b) {
		r.at("message", -1)
		r.fail(errMalformed, fmt.Sprintf("%d trailing bytes", len(b)-r.off))
		return core.Message{}, r.err
	}

	// Copy what still aliases b, and check the authorities.
	if len(cookie) > 0 {
		m.Cookie = append([]byte(nil), cookie...)
	}
	m.From, m.FromID = d.str(from), d.str(fromID)
	r.at("from", -1)
	if !d.authority(&r, m.From) {
		return core.Message{}, r.err
	}
	for i := range m.User {
		u := &m.User[i]
		u.From, u.FromID = d.str(userFrom[i]), d.str(userFromID[i])
		r.at("user.from", i)
		if u.From != "" && !d.authority(&r, u.From) {
			return core.Message{}, r.err
		}
		if u.Payload != nil {
			u.Payload = append([]byte{}, u.Payload...)
		}
	}
	k := 0
	for i := range m.Accusations {
		r.at("accusations.suspectors", i)
		for j := range m.Accusations[i].Suspectors {
			m.Accusations[i].Suspectors[j] = d.str(suspectors[k])
			if !d.authority(&r, m.Accusations[i].Suspectors[j]) {
				return core.Message{}, r.err
			}
			k++
		}
	}
	if m.Entries != nil {
		var slab []byte
		if metaBytes > 0 {
			slab = make([]byte, 0, metaBytes)
		}
		for i := range m.Entries {
			e := &m.Entries[i]
			if e.Meta == nil {
				continue
			}
			if len(e.Meta) == 0 {
				e.Meta = []byte{}
				continue
			}
			start := len(slab)
			slab = append(slab, e.Meta...)
			e.Meta = slab[start:len(slab):len(slab)]
		}
	}
	return m, nil
}
