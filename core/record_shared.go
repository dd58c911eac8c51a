package core

import (
	"strings"
	"unique"
)

// sharedRecord is a NodeRecord held by reference to one immutable, canonical
// copy of its contents. Every table, piggyback queue and event of the process
// that holds the same record (same node ID, authority, status, incarnation
// and metadata) shares that copy through unique.Make: a record that reached a
// thousand members of a simulation, or that one member holds in its table
// and its piggyback queue, is stored once. A sharedRecord is one pointer; the
// zero value holds no record.
type sharedRecord = unique.Handle[recordValue]

// recordValue is the contents of a sharedRecord: a NodeRecord with its
// metadata as a string (so that it is comparable and immutable) and its
// recordHash, computed once.
type recordValue struct {
	nodeID      string
	authority   string
	meta        string
	incarnation uint64
	hash        uint64 // recordHash of the record
	place       uint64 // placeOf the authority: where it goes among digest buckets
	status      NodeStatus
}

// shareRecord returns the shared copy of r. Empty and nil metadata are the
// same record.
func shareRecord(r NodeRecord) sharedRecord {
	return unique.Make(recordValue{
		nodeID:      r.NodeID,
		authority:   r.Authority,
		meta:        string(r.Meta),
		incarnation: r.Incarnation,
		hash:        recordHash(r),
		place:       placeOf(r.Authority),
		status:      r.Status,
	})
}

// record returns a NodeRecord of v that shares no memory a caller could
// change with v: the metadata is a new slice (nil when empty).
func (v *recordValue) record() NodeRecord {
	r := NodeRecord{NodeID: v.nodeID, Authority: v.authority, Status: v.status, Incarnation: v.incarnation}
	if v.meta != "" {
		r.Meta = []byte(v.meta)
	}
	return r
}

// estimateSize is EstimateRecordSize of v's record.
func (v *recordValue) estimateSize() int {
	return recordSize(len(v.nodeID), len(v.authority), v.status, v.incarnation, len(v.meta))
}

// equal reports whether r carries the same information as v (NodeRecord.Equal).
func (v *recordValue) equal(r NodeRecord) bool {
	return r.NodeID == v.nodeID && r.Authority == v.authority && r.Status == v.status &&
		r.Incarnation == v.incarnation && string(r.Meta) == v.meta
}

// supersededBy reports whether r Supersedes the record v holds, without
// copying v.
func (v *recordValue) supersededBy(r NodeRecord) bool {
	if r.Incarnation != v.incarnation {
		return r.Incarnation > v.incarnation
	}
	if rp, vp := r.Status.precedence(), v.status.precedence(); rp != vp {
		return rp > vp
	}
	if r.NodeID != v.nodeID {
		return r.NodeID > v.nodeID
	}
	return compareMeta(r.Meta, v.meta) > 0
}

// compareMeta compares metadata bytes with metadata held as a string, as
// bytes.Compare would, without converting either.
func compareMeta(b []byte, s string) int {
	for i := 0; i < len(b) && i < len(s); i++ {
		if b[i] != s[i] {
			if b[i] < s[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(b) < len(s):
		return -1
	case len(b) > len(s):
		return 1
	}
	return 0
}

// compareAuthority orders two shared records by authority.
func compareAuthority(a, b sharedRecord) int {
	return strings.Compare(a.Value().authority, b.Value().authority)
}
