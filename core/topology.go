package core

import (
	"encoding/binary"
	"hash/fnv"
	"time"
)

// TopologyUpdate is a batched summary of the membership view: emitted at most
// once per Config.TopologyEmitInterval, and only when the set of active
// members changed since the previous update.
type TopologyUpdate struct {
	// Hash identifies the view: a hash of the active members' authorities and
	// node IDs (not their statuses or incarnations), so two nodes that see the
	// same members report the same hash.
	Hash uint64
	// Members are the active members (Joining, Up, Suspect, Leaving), sorted
	// by authority, this node included.
	Members []NodeRecord
	// Joined are the authorities of the other members that became active
	// (or changed instance) since the previous update, sorted. This node's
	// own authority is never in Joined, Left or Dead.
	Joined []string
	// Left are the authorities of the other members that left gracefully
	// (Removed, or pruned) since the previous update, sorted.
	Left []string
	// Dead are the authorities of the other members declared Dead since the
	// previous update, sorted. Joined, Left and Dead are disjoint.
	Dead []string
	// ObservedAt is when the update was computed.
	ObservedAt time.Time
}

// topologyTracker batches membership changes into TopologyUpdates. It holds
// the active records of the last update (sorted by authority, shared with
// the table: one pointer each) and a dirty flag set by every member change,
// so that nothing is computed while nothing changes.
type topologyTracker struct {
	interval time.Duration
	self     string         // this node's authority: in Members, never in Joined, Left or Dead
	last     []sharedRecord // active records of the last update, sorted by authority
	lastHash uint64
	nextEmit time.Time
	dirty    bool
}

func newTopologyTracker(interval time.Duration, self string) *topologyTracker {
	return &topologyTracker{interval: interval, self: self}
}

// touch records that the membership changed.
func (t *topologyTracker) touch() { t.dirty = true }

// due reports whether an update should be computed at now.
func (t *topologyTracker) due(now time.Time) bool {
	return t.dirty && !now.Before(t.nextEmit)
}

// emit computes the update from the active records (sorted by authority) and
// the full table (to tell Dead from Left for those no longer active). It
// returns nil when the active set is the same as in the last update. The two
// sorted sets are compared in one pass.
func (t *topologyTracker) emit(now time.Time, active []sharedRecord, lookup func(string) (NodeRecord, bool)) *TopologyUpdate {
	t.dirty = false
	u := &TopologyUpdate{Members: make([]NodeRecord, len(active)), ObservedAt: now, Joined: []string{}, Left: []string{}, Dead: []string{}}
	for i, r := range active {
		v := r.Value()
		u.Members[i] = v.record()
	}
	gone := func(a string) {
		if a == t.self {
			return
		}
		if r, ok := lookup(a); ok && r.Status == StatusDead {
			u.Dead = append(u.Dead, a)
		} else {
			u.Left = append(u.Left, a)
		}
	}
	i, j := 0, 0
	for i < len(active) || j < len(t.last) {
		var c int
		switch {
		case j == len(t.last):
			c = -1
		case i == len(active):
			c = 1
		default:
			c = compareAuthority(active[i], t.last[j])
		}
		switch {
		case c < 0: // active now, not in the last update
			if a := u.Members[i].Authority; a != t.self {
				u.Joined = append(u.Joined, a)
			}
			i++
		case c > 0: // in the last update, no longer active
			gone(t.last[j].Value().authority)
			j++
		default:
			if r := u.Members[i]; r.NodeID != t.last[j].Value().nodeID && r.Authority != t.self {
				u.Joined = append(u.Joined, r.Authority)
			}
			i++
			j++
		}
	}
	u.Hash = topologyHash(u.Members)
	if len(u.Joined) == 0 && len(u.Left) == 0 && len(u.Dead) == 0 && u.Hash == t.lastHash {
		return nil
	}
	t.last, t.lastHash = active, u.Hash
	t.nextEmit = now.Add(t.interval)
	return u
}

// topologyHash hashes the authorities and node IDs of records sorted by
// authority.
func topologyHash(active []NodeRecord) uint64 {
	h := fnv.New64a()
	var n [8]byte
	for _, r := range active {
		binary.BigEndian.PutUint64(n[:], uint64(len(r.Authority)))
		h.Write(n[:])
		h.Write([]byte(r.Authority))
		binary.BigEndian.PutUint64(n[:], uint64(len(r.NodeID)))
		h.Write(n[:])
		h.Write([]byte(r.NodeID))
	}
	return h.Sum64()
}
