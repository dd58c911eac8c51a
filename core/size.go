package core

// Core does not encode bytes, but it must know what fits a datagram. The
// functions here give a conservative size: an upper bound of the msgpack
// encoding of a Message as an array of its fields, in declaration order, with
// each NodeRecord an array of its fields. Every integer is counted at the size
// msgpack needs for its value (at most 9 bytes), every string and byte slice at
// its length plus the largest header its length can need. std's codec is held
// to this bound by a property test; a custom transport may use it too.

// messageFields is the number of fields of Message as encoded when none of
// Accusations, Cookie and User is set: the fields before them. The fields
// appended since are encoded only when set, and then with every field before
// them (Accusations as an eighth element, Cookie as a ninth, User as a
// tenth, each nil when empty), so that a peer that predates them reads every
// message that does not need them.
const messageFields = 7

// userMessageFields is the number of fields of UserMessage.
const userMessageFields = 4

// recordFields is the number of fields of NodeRecord.
const recordFields = 5

// EstimateSize returns an upper bound, in bytes, of m's encoding.
func EstimateSize(m Message) int {
	fields := messageFields
	switch {
	case len(m.User) > 0:
		fields += 3
	case len(m.Cookie) > 0:
		fields += 2
	case len(m.Accusations) > 0:
		fields++
	}
	n := arrayHeaderSize(fields)
	n += uintSize(uint64(m.Kind))
	n += strSize(len(m.From))
	n += strSize(len(m.FromID))
	n += uintSize(m.Seq)
	n += arrayHeaderSize(len(m.Entries))
	for _, r := range m.Entries {
		n += EstimateRecordSize(r)
	}
	n += arrayHeaderSize(len(m.Digest))
	for _, d := range m.Digest {
		n += uintSize(d)
	}
	n += arrayHeaderSize(len(m.Want))
	for _, w := range m.Want {
		n += uintSize(uint64(w))
	}
	if fields > messageFields {
		n += arrayHeaderSize(len(m.Accusations)) // nil when empty: one byte, as an empty array header
		for _, a := range m.Accusations {
			n += accusationSize(a)
		}
	}
	if fields > messageFields+1 {
		n += binSize(len(m.Cookie)) // nil when empty: one byte, less than an empty bin
	}
	if fields > messageFields+2 {
		n += arrayHeaderSize(len(m.User))
		for _, u := range m.User {
			n += userMessageSize(u)
		}
	}
	return n
}

// userMessageSize returns an upper bound, in bytes, of u's encoding as one
// element of Message.User: EstimateSize(m) grows by this much, plus at most
// 4 bytes of array header (and 3 bytes the first time, for the nil fields
// before User), when u is appended to m.User.
func userMessageSize(u UserMessage) int {
	return arrayHeaderSize(userMessageFields) + strSize(len(u.From)) + strSize(len(u.FromID)) +
		uintSize(u.Seq) + binSize(len(u.Payload))
}

// accusationSize is the size of a as one element of Message.Accusations: an
// array of its two fields.
func accusationSize(a Accusation) int {
	n := arrayHeaderSize(2) + uintSize(uint64(a.Entry)) + arrayHeaderSize(len(a.Suspectors))
	for _, s := range a.Suspectors {
		n += strSize(len(s))
	}
	return n
}

// EstimateRecordSize returns an upper bound, in bytes, of r's encoding as one
// element of Message.Entries. EstimateSize(m) grows by exactly this much (plus
// at most 4 bytes of array header) when r is appended to m.Entries.
func EstimateRecordSize(r NodeRecord) int {
	return recordSize(len(r.NodeID), len(r.Authority), r.Status, r.Incarnation, len(r.Meta))
}

// recordSize is EstimateRecordSize of a record with these field lengths and
// values.
func recordSize(nodeID, authority int, status NodeStatus, incarnation uint64, meta int) int {
	return arrayHeaderSize(recordFields) + strSize(nodeID) + strSize(authority) +
		uintSize(uint64(status)) + uintSize(incarnation) + binSize(meta)
}

// uintSize is the msgpack size of an unsigned integer.
func uintSize(v uint64) int {
	switch {
	case v < 1<<7:
		return 1
	case v < 1<<8:
		return 2
	case v < 1<<16:
		return 3
	case v < 1<<32:
		return 5
	}
	return 9
}

// strSize is the msgpack size of a string of n bytes.
func strSize(n int) int {
	switch {
	case n < 32:
		return 1 + n
	case n < 1<<8:
		return 2 + n
	case n < 1<<16:
		return 3 + n
	}
	return 5 + n
}

// binSize is the msgpack size of a byte slice of n bytes (nil counts as nil,
// which is smaller than any bin header).
func binSize(n int) int {
	switch {
	case n < 1<<8:
		return 2 + n
	case n < 1<<16:
		return 3 + n
	}
	return 5 + n
}

// arrayHeaderSize is the msgpack size of an array header for n elements.
func arrayHeaderSize(n int) int {
	switch {
	case n < 16:
		return 1
	case n < 1<<16:
		return 3
	}
	return 5
}
