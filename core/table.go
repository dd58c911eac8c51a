package core

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
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

// membershipDelta is what changed in a table between two of its versions:
// Entries are the records whose last change has a version in (From, To],
// sorted by authority. A record changed several times appears once, as it is
// now; a record pruned since does not appear.
type membershipDelta struct {
	// From is the version the delta starts after.
	From uint64
	// To is the table's version when the delta was taken.
	To uint64
	// Entries are copies of the changed records.
	Entries []NodeRecord
}

// membershipTable holds one NodeRecord per authority and applies the merge
// and life-cycle rules to it. It keeps a local version counter (one step per
// change), the version and time of each record's last change (for Delta and
// PruneTombstones), an order-independent hash of its contents, and a buffer
// of TableEvents that its owner drains.
//
// Merge is a per-record join: the table keeps, for each authority, the record
// that NodeRecord.Supersedes every other it was given. Because Supersedes is
// a strict total order on valid records of one authority, the contents after
// any set of merges do not depend on their order or on repetitions.
//
// A membershipTable is not safe for concurrent use; its owner (the
// coordinator) serialises access. Every record going in or out is copied, so
// callers never share metadata with the table.
type membershipTable struct {
	cfg     tableConfig
	records map[string]*tableEntry
	sorted  []*tableEntry // the entries of records, sorted by authority
	version uint64
	hash    uint64
	events  []tableEvent
}

// tableEntry is one stored record with its bookkeeping.
type tableEntry struct {
	rec     NodeRecord
	version uint64    // table version of the record's last change
	changed time.Time // time of the record's last change (tombstone age)
	hash    uint64    // recordHash(rec)
}

// newMembershipTable returns an empty table at version 0.
func newMembershipTable(cfg tableConfig) *membershipTable {
	return &membershipTable{cfg: cfg, records: make(map[string]*tableEntry), events: []tableEvent{}}
}

// Get returns a copy of the record held for authority, and whether there is
// one (a tombstone counts).
func (t *membershipTable) Get(authority string) (NodeRecord, bool) {
	e, ok := t.records[authority]
	if !ok {
		return NodeRecord{}, false
	}
	return e.rec.Clone(), true
}

// Instance returns the node ID and status held for authority, without
// copying the record.
func (t *membershipTable) Instance(authority string) (nodeID string, status NodeStatus, ok bool) {
	e, ok := t.records[authority]
	if !ok {
		return "", 0, false
	}
	return e.rec.NodeID, e.rec.Status, true
}

// Len returns how many records the table holds, tombstones included.
func (t *membershipTable) Len() int { return len(t.records) }

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
	cur, ok := t.records[r.Authority]
	if !ok {
		if err := t.checkRoom(r.Authority); err != nil {
			return false, err
		}
		t.store(now, r, nil)
		return true, nil
	}
	if !r.Supersedes(cur.rec) {
		if r.NodeID != cur.rec.NodeID && r.Status.IsActive() && cur.rec.Status.IsActive() {
			t.events = append(t.events, tableEvent{Kind: tableConflict, Record: r.Clone(), Previous: cur.rec.Clone(), HadPrevious: true})
		}
		return false, nil
	}
	t.store(now, r, cur)
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
	cur, ok := t.records[r.Authority]
	if !ok {
		if err := t.checkRoom(r.Authority); err != nil {
			return err
		}
		t.store(now, r, nil)
		return nil
	}
	held := cur.rec
	switch {
	case held.Status.IsActive() && held.NodeID != r.NodeID:
		return &authorityConflictError{Authority: r.Authority, ExistingID: held.NodeID, IncomingID: r.NodeID}
	case held.Status.IsActive() && held.Equal(r):
		return nil
	case held.Status.IsActive():
		return fmt.Errorf("%w: %s is already a member", &invalidTransitionError{Authority: r.Authority, From: held.Status, To: r.Status}, r.NodeID)
	case !r.Supersedes(held):
		return fmt.Errorf("%w: the %s tombstone at incarnation %d needs a higher incarnation to rejoin, got %d",
			&invalidTransitionError{Authority: r.Authority, From: held.Status, To: r.Status}, held.Status, held.Incarnation, r.Incarnation)
	}
	t.store(now, r, cur)
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
	cur, ok := t.records[authority]
	if !ok {
		return NodeRecord{}, &unknownAuthorityError{Authority: authority}
	}
	held := cur.rec
	if err := checkTransition(authority, held.Status, held.Incarnation, to, incarnation); err != nil {
		return NodeRecord{}, err
	}
	if to == held.Status && incarnation == held.Incarnation {
		return held.Clone(), nil
	}
	next := held
	next.Status, next.Incarnation = to, incarnation
	if err := t.checkQuarantine(next); err != nil {
		return NodeRecord{}, err
	}
	t.store(now, next, cur)
	return next.Clone(), nil
}

// Delta returns the records whose last change came after version from,
// sorted by authority, with To set to the current version. Entries is empty
// (not nil) when nothing changed after from. It takes O(Len) time.
func (t *membershipTable) Delta(from uint64) membershipDelta {
	d := membershipDelta{From: from, To: t.version, Entries: []NodeRecord{}}
	if from >= t.version {
		return d
	}
	for _, e := range t.sorted {
		if e.version > from {
			d.Entries = append(d.Entries, e.rec.Clone())
		}
	}
	return d
}

// Snapshot returns copies of all records, tombstones included, sorted by
// authority. It takes O(Len) time (the authorities are kept sorted).
func (t *membershipTable) Snapshot() []NodeRecord {
	out := make([]NodeRecord, 0, len(t.sorted))
	for _, e := range t.sorted {
		out = append(out, e.rec.Clone())
	}
	return out
}

// Active returns copies of the records whose status IsActive (Joining, Up,
// Suspect, Leaving), sorted by authority.
func (t *membershipTable) Active() []NodeRecord {
	out := []NodeRecord{}
	for _, e := range t.sorted {
		if e.rec.Status.IsActive() {
			out = append(out, e.rec.Clone())
		}
	}
	return out
}

// PruneTombstones drops the Dead and Removed records whose last change is at
// least retention before now, and returns them sorted by authority (empty,
// not nil, when none). Each drop steps the version; no event is emitted. A
// dropped record no longer appears in Delta, Snapshot or Hash, so retention
// must outlive any gossip that could still carry an older record of the same
// instance (Config.TombstoneRetention >= Config.QuarantineTTL).
func (t *membershipTable) PruneTombstones(now time.Time, retention time.Duration) []NodeRecord {
	out := []NodeRecord{}
	kept := t.sorted[:0]
	for _, e := range t.sorted {
		if e.rec.Status.IsTombstone() && !now.Before(e.changed.Add(retention)) {
			out = append(out, e.rec)
			t.hash -= e.hash
			t.version++
			delete(t.records, e.rec.Authority)
			continue
		}
		kept = append(kept, e)
	}
	clear(t.sorted[len(kept):])
	t.sorted = kept
	return out
}

// DrainEvents returns the events buffered since the last call, oldest first,
// and empties the buffer. It returns an empty, non-nil slice when there are
// none. The buffer is unbounded: the owner drains it on every step.
func (t *membershipTable) DrainEvents() []tableEvent {
	out := t.events
	t.events = []tableEvent{}
	return out
}

// Hash returns an order-independent hash of all records (tombstones
// included): the sum, modulo 2^64, of recordHash over the records. Two tables
// with the same Snapshot have the same Hash whatever the order they were
// built in; it is kept up to date on every change, so the call is O(1).
// An empty table hashes to 0.
func (t *membershipTable) Hash() uint64 { return t.hash }

// recordHash returns a 64-bit hash of every field of r: FNV-1a over the
// length-prefixed NodeID, Authority and Meta, the status and the
// incarnation, passed through a 64-bit finaliser so that sums of hashes mix
// well. Equal records hash equal; nil and empty Meta hash the same.
func recordHash(r NodeRecord) uint64 {
	h := fnv.New64a()
	var buf [8]byte
	writeStr := func(b []byte) {
		binary.BigEndian.PutUint64(buf[:], uint64(len(b)))
		h.Write(buf[:])
		h.Write(b)
	}
	writeStr([]byte(r.NodeID))
	writeStr([]byte(r.Authority))
	writeStr(r.Meta)
	binary.BigEndian.PutUint64(buf[:], uint64(r.Status))
	h.Write(buf[:])
	binary.BigEndian.PutUint64(buf[:], r.Incarnation)
	h.Write(buf[:])
	return mix64(h.Sum64())
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
	if t.cfg.MaxMembers > 0 && len(t.records) >= t.cfg.MaxMembers {
		return fmt.Errorf("%w: %d records, cannot add %s", ErrTableFull, len(t.records), authority)
	}
	return nil
}

// store puts a copy of r in the table in place of prev (nil for a new
// authority), steps the version, updates the hash and emits the event.
func (t *membershipTable) store(now time.Time, r NodeRecord, prev *tableEntry) {
	r = r.Clone()
	if len(r.Meta) == 0 {
		r.Meta = nil // nil and empty metadata are the same record
	}
	t.version++
	ev := tableEvent{Record: r.Clone()}
	if prev != nil {
		t.hash -= prev.hash
		ev.Previous, ev.HadPrevious = prev.rec, true // prev.rec is no longer referenced by the table
	}
	ev.Kind = changeKind(ev.Previous, ev.HadPrevious, r)
	e := tableEntry{rec: r, version: t.version, changed: now, hash: recordHash(r)}
	t.hash += e.hash
	if prev != nil {
		*prev = e // in place: the sorted index points at it
	} else {
		p := &e
		t.records[r.Authority] = p
		i, _ := slices.BinarySearchFunc(t.sorted, r.Authority, func(x *tableEntry, a string) int { return strings.Compare(x.rec.Authority, a) })
		t.sorted = slices.Insert(t.sorted, i, p)
	}
	t.events = append(t.events, ev)
}
