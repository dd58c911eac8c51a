package core

import (
	"cmp"
	"slices"
	"time"
)

// quarantineEntry is one quarantined instance: every record for Authority
// with an incarnation at or below Incarnation is refused until Until.
type quarantineEntry struct {
	// Authority is the quarantined address, "host:port".
	Authority string
	// Incarnation is the highest quarantined incarnation; a higher one (a
	// restart, or a refutation after a partition) is a new instance and passes.
	Incarnation uint64
	// Until is when the quarantine ends.
	Until time.Time
}

// quarantineTable remembers instances declared Dead so that a stale instance
// (the same authority at the dead incarnation or below) cannot come back while
// its messages may still be in flight. Quarantine is per instance, not per
// address: a restarted node, or a node refuting after a partition, raises its
// incarnation and is not blocked.
//
// A quarantineTable reads no clock: entries expire only when PollExpired is
// called with a time at or after their Until, and until then Contains reports
// them. It is not safe for concurrent use; its owner (the coordinator)
// serialises access. The zero value is not usable; call newQuarantineTable.
type quarantineTable struct {
	entries map[string]quarantineEntry
}

// newQuarantineTable returns an empty quarantine table.
func newQuarantineTable() *quarantineTable {
	return &quarantineTable{entries: make(map[string]quarantineEntry)}
}

// Quarantine refuses authority at incarnation and below until until. When the
// authority is already quarantined, the entry keeps the larger incarnation and
// the later expiry of the two, so quarantine never shrinks.
func (q *quarantineTable) Quarantine(authority string, incarnation uint64, until time.Time) {
	e, ok := q.entries[authority]
	if !ok {
		q.entries[authority] = quarantineEntry{Authority: authority, Incarnation: incarnation, Until: until}
		return
	}
	e.Incarnation = max(e.Incarnation, incarnation)
	if until.After(e.Until) {
		e.Until = until
	}
	q.entries[authority] = e
}

// Contains reports whether the instance (authority, incarnation) is
// quarantined: the authority has an entry that PollExpired has not yet
// removed, and incarnation is at or below the quarantined incarnation.
func (q *quarantineTable) Contains(authority string, incarnation uint64) bool {
	e, ok := q.entries[authority]
	return ok && incarnation <= e.Incarnation
}

// Lookup returns the entry for authority, if any.
func (q *quarantineTable) Lookup(authority string) (quarantineEntry, bool) {
	e, ok := q.entries[authority]
	return e, ok
}

// PollExpired removes and returns the entries whose Until is at or before now,
// sorted by authority. It returns an empty, non-nil slice when none expired.
func (q *quarantineTable) PollExpired(now time.Time) []quarantineEntry {
	out := []quarantineEntry{}
	for a, e := range q.entries {
		if !e.Until.After(now) {
			out = append(out, e)
			delete(q.entries, a)
		}
	}
	slices.SortFunc(out, func(x, y quarantineEntry) int { return cmp.Compare(x.Authority, y.Authority) })
	return out
}

// Entries returns every entry, sorted by authority (for gossiping quarantine
// or inspecting it in tests). The result is a copy.
func (q *quarantineTable) Entries() []quarantineEntry {
	out := make([]quarantineEntry, 0, len(q.entries))
	for _, e := range q.entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(x, y quarantineEntry) int { return cmp.Compare(x.Authority, y.Authority) })
	return out
}

// Len returns how many authorities are quarantined.
func (q *quarantineTable) Len() int { return len(q.entries) }
