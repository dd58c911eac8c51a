package core

import (
	"encoding/binary"
	"hash/fnv"
	"slices"
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

// topologyTracker batches membership changes into TopologyUpdates. What it
// remembers of the last update is one bit per table slot (the slot's record
// was active in it), the node IDs it held for the slots whose node ID
// changed since (a restart: rare), and the authorities it held whose
// records were pruned since (rarer), so that a member of a large cluster
// does not keep a second list of every member; and a dirty flag set by
// every change of the active set, so that nothing is computed while nothing
// changes.
type topologyTracker struct {
	interval time.Duration
	self     string           // this node's authority: in Members, never in Joined, Left or Dead
	inLast   []uint64         // by table slot: the slot's record was active in the last update
	lastID   map[int32]string // by table slot: the node ID in the last update, for a slot whose node ID changed since
	pruned   []string         // authorities active in the last update whose records were pruned since
	lastHash uint64
	nextEmit time.Time
	dirty    bool
	quiet    bool    // Config.NoTopologyUpdates: decide each update, build none
	touched  []int32 // quiet: the slots touched since the last update (with repeats), which decide the next
	emitted  bool    // an update was emitted (or, quiet, decided) once
	selfGone bool    // this node's own record, active in the last update, was pruned since
}

func newTopologyTracker(interval time.Duration, self string, quiet bool) *topologyTracker {
	return &topologyTracker{interval: interval, self: self, quiet: quiet}
}

// follow records one change of the table, if it may change the active set
// (see touch).
func (t *topologyTracker) follow(ev tableEvent) {
	wasActive := ev.HadPrevious && ev.Previous.Status.IsActive()
	if wasActive != ev.Record.Status.IsActive() || !ev.HadPrevious || ev.Previous.NodeID != ev.Record.NodeID {
		t.touch(ev)
	}
}

// touch records a change of the table that may change the active set: a
// record that became active or inactive, or another instance at an
// authority.
func (t *topologyTracker) touch(ev tableEvent) {
	t.dirty = true
	if t.quiet {
		t.touched = append(t.touched, ev.slot)
	}
	if !ev.HadPrevious || ev.Previous.NodeID == ev.Record.NodeID || !t.wasActive(ev.slot) {
		return
	}
	if _, ok := t.lastID[ev.slot]; !ok {
		if t.lastID == nil {
			t.lastID = map[int32]string{}
		}
		t.lastID[ev.slot] = ev.Previous.NodeID // the first change since the last update
	}
}

// free records that the table dropped the record of authority from slot
// (a pruned tombstone): the slot may hold another authority next.
func (t *topologyTracker) free(slot int32, authority string) {
	if t.wasActive(slot) {
		if authority == t.self {
			t.selfGone = true // never in Left, but the members changed
		} else {
			t.pruned = append(t.pruned, authority)
		}
		t.inLast[slot/64] &^= 1 << (slot % 64)
	}
	delete(t.lastID, slot)
}

// wasActive reports whether slot's record was active in the last update.
func (t *topologyTracker) wasActive(slot int32) bool {
	w := int(slot / 64)
	return slot >= 0 && w < len(t.inLast) && t.inLast[w]&(1<<(slot%64)) != 0
}

// entries is how many entries the tracker keeps besides its bit per slot.
func (t *topologyTracker) entries() int { return len(t.lastID) + len(t.pruned) }

// due reports whether an update should be computed at now.
func (t *topologyTracker) due(now time.Time) bool {
	return t.dirty && !now.Before(t.nextEmit)
}

// emit computes the update from the table: its active records are the
// members, and each slot's record against what the last update held there
// gives the joined, left and dead. It returns nil when the active set is the
// same as in the last update, and always when quiet: then it only decides
// whether there would have been an update, and moves on as if there was.
func (t *topologyTracker) emit(now time.Time, table *membershipTable) *TopologyUpdate {
	if t.quiet {
		t.decide(now, table)
		return nil
	}
	t.dirty = false
	order := table.order()
	u := &TopologyUpdate{ObservedAt: now, Joined: []string{}, Left: []string{}, Dead: []string{}}
	if !t.quiet {
		u.Members = make([]NodeRecord, 0, table.Len())
	}
	active := make([]uint64, (len(table.slots)+63)/64)
	selfChanged := t.selfGone
	for _, s := range order {
		v := table.slots[s].Value()
		isActive := v.status.IsActive()
		if isActive {
			if !t.quiet {
				u.Members = append(u.Members, v.record())
			}
			active[s/64] |= 1 << (s % 64)
		}
		was := t.wasActive(s)
		lastID, replaced := t.lastID[s]
		joined := isActive && (!was || replaced && lastID != v.nodeID)
		if v.authority == t.self {
			selfChanged = selfChanged || joined || was && !isActive
			continue
		}
		switch {
		case joined:
			u.Joined = append(u.Joined, v.authority)
		case !isActive && was && v.status == StatusDead:
			u.Dead = append(u.Dead, v.authority)
		case !isActive && was:
			u.Left = append(u.Left, v.authority)
		}
	}
	if len(t.pruned) > 0 {
		u.Left = append(u.Left, t.pruned...)
		slices.Sort(u.Left)
	}
	same := len(u.Joined) == 0 && len(u.Left) == 0 && len(u.Dead) == 0
	if t.quiet {
		// The members' hash is a function of the active set: unchanged
		// when no other member changed and this node's own record did not,
		// except before the first update (compared with a hash of 0).
		same = same && !selfChanged && t.emitted
	} else {
		u.Hash = topologyHash(u.Members)
		same = same && u.Hash == t.lastHash
	}
	if same {
		return nil
	}
	t.inLast, t.lastID, t.pruned, t.lastHash, t.emitted, t.selfGone = active, nil, nil, u.Hash, true, false
	t.nextEmit = now.Add(t.interval)
	if t.quiet {
		return nil
	}
	return u
}

// decide is emit when quiet: it decides whether there would be an update
// and moves on as if there was, from the slots touched since the last one
// alone, where emit walks the whole table. An update would list another
// member joined, left or dead, or this node's own record changed, exactly
// when a slot's record is active now and was not in the last update, or
// the other way round, or is active under another node ID than in the
// last update, or a record active in the last update was pruned; the
// first update always counts. Only a touched slot can differ from the
// last update: touch sees every change of a record's activity or node ID,
// free every pruned record.
func (t *topologyTracker) decide(now time.Time, table *membershipTable) {
	t.dirty = false
	changed := !t.emitted || t.selfGone || len(t.pruned) > 0
	for _, s := range t.touched {
		if changed {
			break
		}
		changed = t.differs(s, table)
	}
	if changed {
		for _, s := range t.touched {
			t.setActive(s, t.activeIn(s, table))
		}
		t.lastID, t.pruned, t.lastHash, t.emitted, t.selfGone = nil, nil, 0, true, false
		t.nextEmit = now.Add(t.interval)
	}
	if cap(t.touched) > 1024 {
		t.touched = nil // a bootstrap's worth, which a settled view no longer needs
	} else {
		t.touched = t.touched[:0]
	}
}

// activeIn reports whether slot holds an active record in table.
func (t *topologyTracker) activeIn(slot int32, table *membershipTable) bool {
	if int(slot) >= len(table.slots) || table.slots[slot] == (sharedRecord{}) {
		return false
	}
	return table.slots[slot].Value().status.IsActive()
}

// differs reports whether slot's record differs, as far as the members
// go, from what the last update held there.
func (t *topologyTracker) differs(slot int32, table *membershipTable) bool {
	active := t.activeIn(slot, table)
	if active != t.wasActive(slot) {
		return true
	}
	if !active {
		return false
	}
	id, replaced := t.lastID[slot]
	return replaced && id != table.slots[slot].Value().nodeID
}

// setActive records whether slot's record is active in the update made now.
func (t *topologyTracker) setActive(slot int32, active bool) {
	w := int(slot / 64)
	if active {
		for len(t.inLast) <= w {
			t.inLast = append(t.inLast, 0)
		}
		t.inLast[w] |= 1 << (slot % 64)
	} else if w < len(t.inLast) {
		t.inLast[w] &^= 1 << (slot % 64)
	}
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
