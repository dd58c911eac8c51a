package core

import (
	"fmt"
	"slices"
	"time"
)

// tableConfig bounds a membershipTable and connects it to quarantine.
type tableConfig struct {
	// MaxMembers bounds how many records the table holds, tombstones
	// included; a record for a new authority beyond it is refused with
	// ErrTableFull. Zero or negative means no bound.
	MaxMembers int
	// MaxMetadataBytes bounds NodeRecord.Meta; a longer record is refused
	// with ErrInvalidRecord. Zero or negative means no bound.
	MaxMetadataBytes int
	// Quarantine, when not nil, is consulted (never changed) by Merge, Add
	// and Transition: an active record of a quarantined instance is refused
	// with a *QuarantinedError. Tombstones of a quarantined instance pass, so
	// that its death still spreads.
	Quarantine *quarantineTable
}

// tableConfigFrom returns the table bounds of c (MaxMembers,
// MaxMetadataBytes) with the quarantine table q, which may be nil.
func tableConfigFrom(c Config, q *quarantineTable) tableConfig {
	return tableConfig{MaxMembers: c.MaxMembers, MaxMetadataBytes: c.MaxMetadataBytes, Quarantine: q}
}

// membershipTable holds one NodeRecord per authority and applies the merge
// and life-cycle rules to it. It keeps a local version counter (one step per
// change), the time each tombstone was stored (for PruneTombstones), an
// order-independent hash of its contents, and a buffer of TableEvents that
// its owner drains.
//
// Merge is a per-record join: the table keeps, for each authority, the record
// that NodeRecord.Supersedes every other it was given. Because Supersedes is
// a strict total order on valid records of one authority, the contents after
// any set of merges do not depend on their order or on repetitions.
//
// Records are held as sharedRecords, one pointer each, in slots; an
// open-addressing index of slot numbers finds an authority's slot, and the
// authority order that Snapshot and Active follow is settled lazily, when
// one of them reads it after records were added. A table of N records so
// costs about 20 bytes per record besides the shared records themselves,
// which is what lets one process simulate thousands of members that each
// hold every other.
//
// A membershipTable is not safe for concurrent use; its owner (the
// coordinator) serialises access. Records going out are copies, so callers
// never share metadata with the table.
type membershipTable struct {
	cfg     tableConfig
	slots   []sharedRecord      // by slot number; the zero sharedRecord marks a free slot
	free    []int32             // free slot numbers
	index   authorityIndex      // authority → slot number
	ids     nodeIDIndex         // node ID → slot numbers of the active records
	sorted  []int32             // slot numbers in authority order, once settled
	added   []int32             // slots taken since the order was last settled
	buried  map[int32]time.Time // when each tombstone was stored, by slot
	version uint64
	hash    uint64
	events  []tableEvent
	spare   []tableEvent // the buffer DrainEvents returned last: see there
	// hint, when not zero, may be the shared copy of the next record
	// stored (Message.shared): store takes it if it is, rather than
	// sharing the record again. Its owner sets it around a merge.
	hint sharedRecord
}

// newMembershipTable returns an empty table at version 0.
func newMembershipTable(cfg tableConfig) *membershipTable {
	return &membershipTable{cfg: cfg, index: newAuthorityIndex(), ids: newNodeIDIndex(), buried: map[int32]time.Time{}, events: []tableEvent{}, spare: []tableEvent{}}
}

// lookup returns the slot holding authority.
func (t *membershipTable) lookup(authority string) (int32, bool) {
	return t.index.find(authority, t.slots)
}

// Get returns a copy of the record held for authority, and whether there is
// one (a tombstone counts).
func (t *membershipTable) Get(authority string) (NodeRecord, bool) {
	s, ok := t.lookup(authority)
	if !ok {
		return NodeRecord{}, false
	}
	v := t.slots[s].Value()
	return v.record(), true
}

// Has reports whether the table holds a record (a tombstone counts) for
// authority.
func (t *membershipTable) Has(authority string) bool {
	_, ok := t.lookup(authority)
	return ok
}

// Instance returns the node ID and status held for authority, without
// copying the record.
func (t *membershipTable) Instance(authority string) (nodeID string, status NodeStatus, ok bool) {
	s, ok := t.lookup(authority)
	if !ok {
		return "", 0, false
	}
	v := t.slots[s].Value()
	return v.nodeID, v.status, true
}

// authorityAt returns the authority held in slot, which must hold a record.
func (t *membershipTable) authorityAt(slot int32) string { return t.slots[slot].Value().authority }

// Len returns how many records the table holds, tombstones included.
func (t *membershipTable) Len() int { return t.index.len() }

// Version returns the local version counter: 0 for a new table, one more for
// every change (each record stored and each tombstone pruned).
func (t *membershipTable) Version() uint64 { return t.version }

// Merge applies a record learnt from gossip. The table takes r when it holds
// nothing for r.Authority or when r Supersedes the record it holds: a higher
// incarnation wins; at equal incarnation the status with the higher
// precedence wins (Dead > Removed > Leaving > Suspect > Up > Joining), then
// the greater NodeID, then the greater metadata. Merge never consults the
// life-cycle table of Transition: gossip may skip steps.
//
// This also decides between two instances (different NodeIDs) of one
// authority: the winner under Supersedes replaces the other, so a restarted
// node takes its authority over by raising its incarnation above the old
// instance's, and a tableJoined event with Previous set to the replaced
// instance reports it. When an active record of another instance loses
// against the active record held, the table is unchanged and a tableConflict
// event is emitted.
//
// Merge returns changed == true when the table took r (one version step, one
// event), and changed == false with a nil error when r was stale or already
// known. It refuses, without changing anything:
//   - an invalid record: empty NodeID or Authority, unknown status, metadata
//     over MaxMetadataBytes (an error wrapping ErrInvalidRecord);
//   - an active record of a quarantined instance, whose (Authority,
//     Incarnation) the quarantineTable Contains (a *QuarantinedError);
//   - a record for a new authority when the table is full (an error wrapping
//     ErrTableFull).
func (t *membershipTable) Merge(now time.Time, r NodeRecord) (changed bool, err error) {
	if err := t.validate(r); err != nil {
		return false, err
	}
	if err := t.checkQuarantine(r); err != nil {
		return false, err
	}
	slot, ok := t.lookup(r.Authority)
	if !ok {
		if err := t.checkRoom(r.Authority); err != nil {
			return false, err
		}
		t.store(now, r, -1)
		return true, nil
	}
	cur := t.slots[slot].Value()
	if !cur.supersededBy(r) {
		if r.NodeID != cur.nodeID && r.Status.IsActive() && cur.status.IsActive() {
			t.events = append(t.events, tableEvent{Kind: tableConflict, Record: r.Clone(), Previous: cur.record(), HadPrevious: true})
		}
		return false, nil
	}
	t.store(now, r, slot)
	return true, nil
}

// Add stores a new member decided locally (for example the coordinator's own
// record, or a node that sent a join request). It refuses, without changing
// anything:
//   - an invalid record (ErrInvalidRecord), a quarantined active instance
//     (*QuarantinedError), a new authority in a full table (ErrTableFull), as
//     Merge does;
//   - an authority held by an active record of a different NodeID
//     (*authorityConflictError);
//   - an authority held by an active record of the same NodeID
//     (*invalidTransitionError: use Transition or Merge to change a member),
//     unless r is equal to it, which is a no-op returning nil;
//   - an authority holding a tombstone that r does not Supersede
//     (*invalidTransitionError: a rejoin needs a higher incarnation, else
//     gossip of the tombstone would overrule it everywhere).
//
// On success the table takes r, steps its version and emits one event
// (tableJoined for an active record).
func (t *membershipTable) Add(now time.Time, r NodeRecord) error {
	if err := t.validate(r); err != nil {
		return err
	}
	if err := t.checkQuarantine(r); err != nil {
		return err
	}
	slot, ok := t.lookup(r.Authority)
	if !ok {
		if err := t.checkRoom(r.Authority); err != nil {
			return err
		}
		t.store(now, r, -1)
		return nil
	}
	held := t.slots[slot].Value()
	switch {
	case held.status.IsActive() && held.nodeID != r.NodeID:
		return &authorityConflictError{Authority: r.Authority, ExistingID: held.nodeID, IncomingID: r.NodeID}
	case held.status.IsActive() && held.equal(r):
		return nil
	case held.status.IsActive():
		return fmt.Errorf("%w: %s is already a member", &invalidTransitionError{Authority: r.Authority, From: held.status, To: r.Status}, r.NodeID)
	case !held.supersededBy(r):
		return fmt.Errorf("%w: the %s tombstone at incarnation %d needs a higher incarnation to rejoin, got %d",
			&invalidTransitionError{Authority: r.Authority, From: held.status, To: r.Status}, held.status, held.incarnation, r.Incarnation)
	}
	t.store(now, r, slot)
	return nil
}

// Transition changes the status (and possibly raises the incarnation) of the
// record held for authority, by the life-cycle table documented in
// transitions.go, and returns a copy of the resulting record. Node ID and
// metadata are kept. A transition to the current status at the current
// incarnation is a no-op: no version step, no event. It fails with a
// *unknownAuthorityError when the table holds no record for authority, an
// error matching *invalidTransitionError when the table forbids the change
// (incarnation below the current one, or a refutation or rejoin that does not
// raise it), and a *QuarantinedError when the result would be an active
// record of a quarantined instance.
func (t *membershipTable) Transition(now time.Time, authority string, to NodeStatus, incarnation uint64) (NodeRecord, error) {
	slot, ok := t.lookup(authority)
	if !ok {
		return NodeRecord{}, &unknownAuthorityError{Authority: authority}
	}
	held := t.slots[slot].Value()
	if err := checkTransition(authority, held.status, held.incarnation, to, incarnation); err != nil {
		return NodeRecord{}, err
	}
	if to == held.status && incarnation == held.incarnation {
		return held.record(), nil
	}
	next := held.record()
	next.Status, next.Incarnation = to, incarnation
	if err := t.checkQuarantine(next); err != nil {
		return NodeRecord{}, err
	}
	t.store(now, next, slot)
	return next.Clone(), nil
}

// settleBatch is how many slots taken since the order was last settled are
// inserted one by one; beyond it they are sorted and merged in.
const settleBatch = 16

// order returns the occupied slots in authority order, first settling the
// slots taken since the last call: a few by binary insertion, a burst (a
// join reply of a thousand members) by one sort and a merge.
func (t *membershipTable) order() []int32 {
	if len(t.added) == 0 {
		return t.sorted
	}
	byAuthority := func(a, b int32) int { return compareAuthority(t.slots[a], t.slots[b]) }
	if len(t.added) <= settleBatch {
		for _, s := range t.added {
			i, _ := slices.BinarySearchFunc(t.sorted, s, byAuthority)
			t.sorted = slices.Insert(t.sorted, i, s)
		}
	} else {
		slices.SortFunc(t.added, byAuthority)
		// Merge from the back, in place.
		i, j := len(t.sorted)-1, len(t.added)-1
		t.sorted = append(t.sorted, t.added...)
		for k := len(t.sorted) - 1; j >= 0; k-- {
			if i >= 0 && byAuthority(t.sorted[i], t.added[j]) > 0 {
				t.sorted[k] = t.sorted[i]
				i--
			} else {
				t.sorted[k] = t.added[j]
				j--
			}
		}
	}
	if cap(t.added) > 4*settleBatch {
		t.added = nil // a burst's worth, which a settled table no longer needs
	} else {
		t.added = t.added[:0]
	}
	return t.sorted
}

// each calls fn with every record, tombstones included, in authority order,
// until fn returns false. fn must not change the table or keep v. It copies
// nothing.
func (t *membershipTable) each(fn func(v *recordValue) bool) {
	var v recordValue // one for the whole walk: fn(&v) makes it escape
	for _, s := range t.order() {
		v = t.slots[s].Value()
		if !fn(&v) {
			return
		}
	}
}

// selectRecords returns copies of the records, tombstones included, for
// which keep reports true, sorted by authority (empty, not nil, when none).
// keep must not change the table or keep v.
func (t *membershipTable) selectRecords(keep func(v *recordValue) bool) []NodeRecord {
	out := make([]NodeRecord, 0, t.Len()) // at most every record: one allocation, not a doubling
	t.each(func(v *recordValue) bool {
		if keep(v) {
			out = append(out, v.record())
		}
		return true
	})
	return out
}

// Snapshot returns copies of all records, tombstones included, sorted by
// authority.
func (t *membershipTable) Snapshot() []NodeRecord {
	out := make([]NodeRecord, 0, t.Len())
	t.each(func(v *recordValue) bool {
		out = append(out, v.record())
		return true
	})
	return out
}

// Active returns copies of the records whose status IsActive (Joining, Up,
// Suspect, Leaving), sorted by authority.
func (t *membershipTable) Active() []NodeRecord {
	return t.selectRecords(func(v *recordValue) bool { return v.status.IsActive() })
}

// sharedInBuckets returns the records, tombstones included, whose bucket
// among n is in want, sorted by authority, as the table holds them (nothing
// is copied but the pointers; packShared copies what it sends):
// recordsInBuckets(t.Snapshot(), n, want) without the copies.
func (t *membershipTable) sharedInBuckets(n int, want []uint32) []sharedRecord {
	in := wantedBuckets(n, want)
	out := make([]sharedRecord, 0, t.Len()*len(want)/max(n, 1)+8)
	for _, s := range t.order() {
		if v := t.slots[s].Value(); in[bucketAt(v.place, n)] {
			out = append(out, t.slots[s])
		}
	}
	return out
}

// snapshotShared is Snapshot without copies: every record, tombstones
// included, sorted by authority, as the table holds it.
func (t *membershipTable) snapshotShared() []sharedRecord {
	order := t.order()
	out := make([]sharedRecord, len(order))
	for i, s := range order {
		out[i] = t.slots[s]
	}
	return out
}

// digest returns the sums of the records' hashes in n buckets:
// digestOf(t.Snapshot(), n) from the hashes the table holds.
func (t *membershipTable) digest(n int) []uint64 {
	d := make([]uint64, n)
	for _, ref := range t.slots {
		if ref != (sharedRecord{}) {
			v := ref.Value()
			d[bucketAt(v.place, n)] += v.hash
		}
	}
	return d
}

// PruneTombstones drops the Dead and Removed records whose last change is at
// least retention before now, and returns them sorted by authority (empty,
// not nil, when none). Each drop steps the version; no event is emitted. A
// dropped record no longer appears in Snapshot or Hash, so retention must
// outlive any gossip that could still carry an older record of the same
// instance (Config.TombstoneRetention >= Config.QuarantineTTL).
func (t *membershipTable) PruneTombstones(now time.Time, retention time.Duration) []NodeRecord {
	return t.pruneTombstones(now, retention, nil)
}

// pruneTombstones is PruneTombstones, calling freed (when not nil) with
// the slot and authority of each record dropped, before its slot is free
// for another authority.
func (t *membershipTable) pruneTombstones(now time.Time, retention time.Duration, freed func(slot int32, authority string)) []NodeRecord {
	out := []NodeRecord{}
	var gone []int32
	for s, at := range t.buried {
		if !now.Before(at.Add(retention)) {
			gone = append(gone, s)
		}
	}
	if len(gone) == 0 {
		return out
	}
	t.order() // settled, so that no slot about to be freed waits in added
	slices.SortFunc(gone, func(a, b int32) int { return compareAuthority(t.slots[a], t.slots[b]) })
	for _, s := range gone {
		v := t.slots[s].Value()
		out = append(out, v.record())
		if freed != nil {
			freed(s, v.authority)
		}
		t.hash -= v.viewHash() // 0: a tombstone
		t.version++
		t.index.remove(v.authority, t.slots)
		t.slots[s] = sharedRecord{}
		t.free = append(t.free, s)
		delete(t.buried, s)
	}
	t.sorted = slices.DeleteFunc(t.sorted, func(s int32) bool { return t.slots[s] == sharedRecord{} })
	return out
}

// DrainEvents returns the events buffered since the last call, oldest first,
// and empties the buffer. It returns an empty, non-nil slice when there are
// none. The buffer is unbounded: the owner drains it on every step.
//
// The slice returned is the table's until the next call but one: two
// buffers take turns, so that a merge, the commonest change, costs no
// allocation for its event (the owner handles each drained batch, during
// which new events fill the other buffer, before it drains again).
func (t *membershipTable) DrainEvents() []tableEvent {
	out := t.events
	clear(t.spare)
	if cap(t.spare) > maxSpareEvents {
		t.spare = nil // a burst's: not kept for every member of a large cluster
	}
	t.events, t.spare = t.spare[:0], out
	if t.events == nil {
		t.events = []tableEvent{}
	}
	return out
}

// maxSpareEvents is the largest event buffer DrainEvents keeps for reuse.
const maxSpareEvents = 16

// Hash returns an order-independent hash of the active records: the sum,
// modulo 2^64, of viewHash over the records (tombstones count for nothing).
// Two tables with the same active records have the same Hash whatever the
// order they were built in; it is kept up to date on every change, so the
// call is O(1). A table with no active record hashes to 0.
//
// Heartbeats carry this hash, and a mismatch starts an anti-entropy
// exchange at once (compareHash). Tombstones are left out because each table
// keeps them for its own TombstoneRetention from the moment it learnt of the
// death (a member that joined after it, later than the others), so tables
// that agree on every member differ for a while on which tombstones they
// still hold; comparing them would start exchange after exchange that repair
// nothing. A death still changes the hash of every table that held the
// member active. The digests of the periodic exchanges do count tombstones
// (digestOf): those repair a tombstone that differs (Dead where the others
// hold Removed, say) without starting any exchange of their own.
func (t *membershipTable) Hash() uint64 { return t.hash }

// viewHash is r's share of a table's Hash: recordHash(r) for an active
// record, 0 for a tombstone.
func viewHash(r NodeRecord) uint64 {
	if !r.Status.IsActive() {
		return 0
	}
	return recordHash(r)
}

// viewHash is the record's share of a table's Hash (see viewHash).
func (v *recordValue) viewHash() uint64 {
	if !v.status.IsActive() {
		return 0
	}
	return v.hash
}

// recordHash returns a 64-bit hash of every field of r: FNV-1a over the
// length-prefixed NodeID, Authority and Meta, the status and the
// incarnation, passed through a 64-bit finaliser so that sums of hashes mix
// well. Equal records hash equal; nil and empty Meta hash the same.
func recordHash(r NodeRecord) uint64 {
	h := uint64(fnvOffset)
	h = fnvString(fnvUint64(h, uint64(len(r.NodeID))), r.NodeID)
	h = fnvString(fnvUint64(h, uint64(len(r.Authority))), r.Authority)
	h = fnvUint64(h, uint64(len(r.Meta)))
	for _, b := range r.Meta {
		h = (h ^ uint64(b)) * fnvPrime
	}
	h = fnvUint64(h, uint64(r.Status))
	h = fnvUint64(h, r.Incarnation)
	return mix64(h)
}

// The 64-bit FNV-1a parameters (hash/fnv's), for hashing without allocating.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvString folds the bytes of s into the FNV-1a state h.
func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

// fnvUint64 folds the 8 big-endian bytes of x into the FNV-1a state h.
func fnvUint64(h, x uint64) uint64 {
	for shift := 56; shift >= 0; shift -= 8 {
		h = (h ^ (x >> shift & 0xff)) * fnvPrime
	}
	return h
}

// mix64 is the splitmix64 finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// validate checks r against the record rules and the metadata bound.
func (t *membershipTable) validate(r NodeRecord) error {
	return r.validate(t.cfg.MaxMetadataBytes)
}

// checkQuarantine refuses an active record of a quarantined instance.
func (t *membershipTable) checkQuarantine(r NodeRecord) error {
	q := t.cfg.Quarantine
	if q == nil || !r.Status.IsActive() || !q.Contains(r.Authority, r.Incarnation) {
		return nil
	}
	e, _ := q.Lookup(r.Authority)
	return &QuarantinedError{Authority: r.Authority, Incarnation: e.Incarnation}
}

// checkRoom refuses a new authority when the table is full.
func (t *membershipTable) checkRoom(authority string) error {
	if t.cfg.MaxMembers > 0 && t.Len() >= t.cfg.MaxMembers {
		return fmt.Errorf("%w: %d records, cannot add %s", ErrTableFull, t.Len(), authority)
	}
	return nil
}

// store puts r in the table in slot (-1 for a new authority), steps the
// version, updates the hash and emits the event.
func (t *membershipTable) store(now time.Time, r NodeRecord, slot int32) {
	ref := t.hint
	if ref != (sharedRecord{}) {
		if v := ref.Value(); !v.equal(r) {
			ref = sharedRecord{}
		}
	}
	if ref == (sharedRecord{}) {
		ref = shareRecord(r)
	}
	v := ref.Value()
	t.version++
	ev := tableEvent{Record: v.record(), shared: ref}
	indexed := false // the node ID index holds slot with v's node ID already
	if slot >= 0 {
		ev.previous = t.slots[slot]
		prev := t.slots[slot].Value()
		t.hash -= prev.viewHash()
		ev.Previous, ev.HadPrevious = prev.record(), true
		if prev.status.IsActive() {
			indexed = v.status.IsActive() && prev.nodeID == v.nodeID
			if !indexed {
				t.ids.remove(slot, t.slots)
			}
		}
		t.slots[slot] = ref
	} else {
		slot = t.take(ref)
	}
	if v.status.IsActive() && !indexed {
		ev.sameNodeID = t.ids.authorities(v.nodeID, t.slots)
		t.ids.insert(slot, t.slots)
	}
	ev.slot = slot
	ev.Kind = changeKind(ev.Previous, ev.HadPrevious, ev.Record)
	t.hash += v.viewHash()
	if v.status.IsTombstone() {
		t.buried[slot] = now
	} else if len(t.buried) > 0 {
		delete(t.buried, slot)
	}
	t.events = append(t.events, ev)
}

// take puts the record of a new authority in a free slot and returns it.
func (t *membershipTable) take(ref sharedRecord) int32 {
	var slot int32
	if k := len(t.free); k > 0 {
		slot = t.free[k-1]
		t.free = t.free[:k-1]
		t.slots[slot] = ref
	} else {
		slot = int32(len(t.slots))
		t.slots = append(t.slots, ref)
	}
	t.index.insert(ref.Value().authority, slot, t.slots)
	t.added = append(t.added, slot)
	return slot
}
