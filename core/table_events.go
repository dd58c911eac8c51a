package core

import "fmt"

// tableEventKind says what a change to a membershipTable meant. Every change
// of the table (a Merge that returned changed, an Add, a Transition that was
// not a no-op) produces exactly one event; tableConflict is the one event
// that reports a record the table did not take. Pruning tombstones produces
// no event.
type tableEventKind uint8

const (
	// tableJoined: an instance became active at an authority that had no
	// record, a tombstone, or another instance (a restart: Previous holds the
	// replaced instance, with a different NodeID), or went back to Joining at
	// a higher incarnation. Record.Status is any active status.
	tableJoined tableEventKind = iota + 1
	// tableUp: the same instance became Up, from Joining (confirmed) or from
	// Suspect (refuted at a higher incarnation).
	tableUp
	// tableSuspect: the instance became Suspect.
	tableSuspect
	// tableLeaving: the instance announced a graceful leave.
	tableLeaving
	// tableLeft: the record became Removed (a graceful leave completed).
	tableLeft
	// tableDead: the record became Dead. HadPrevious is false when the table
	// learnt of the death of an authority it never held.
	tableDead
	// tableUpdated: the status stayed the same, and the incarnation, the
	// metadata or (between tombstones) the node ID changed.
	tableUpdated
	// tableConflict: Merge met an active record for an authority held by an
	// active record of a different NodeID, and the incoming record lost
	// (NodeRecord.Supersedes). The table did not change: Record is the
	// refused record, Previous the one held. Two live instances claim one
	// address, or stale gossip of a replaced instance is still travelling.
	tableConflict
)

// String returns the lower-case name of the kind ("joined", "dead", ...).
func (k tableEventKind) String() string {
	switch k {
	case tableJoined:
		return "joined"
	case tableUp:
		return "up"
	case tableSuspect:
		return "suspect"
	case tableLeaving:
		return "leaving"
	case tableLeft:
		return "left"
	case tableDead:
		return "dead"
	case tableUpdated:
		return "updated"
	case tableConflict:
		return "conflict"
	}
	return fmt.Sprintf("table-event(%d)", uint8(k))
}

// tableEvent is one change of a membershipTable, in the order the changes
// happened. Records are copies the caller may keep.
type tableEvent struct {
	// Kind says what the change meant.
	Kind tableEventKind
	// Record is the record after the change (for tableConflict, the refused
	// incoming record).
	Record NodeRecord
	// Previous is the record the authority held before the change; the zero
	// record when HadPrevious is false.
	Previous NodeRecord
	// HadPrevious reports whether the authority held a record before.
	HadPrevious bool
	// shared is the record the table now holds (zero for tableConflict), so
	// that whoever keeps it (the piggyback queue) shares it too.
	shared sharedRecord
	// previous is the record the table held before (zero when HadPrevious
	// is false, and for tableConflict).
	previous sharedRecord
	// slot is the table slot that holds it (see peerList).
	slot int32
	// sameNodeID, when the record just became active under its node ID (new,
	// back from a tombstone, or another instance), lists the other
	// authorities whose records were active under that node ID, sorted.
	sameNodeID []string
}

// changeKind classifies the change of an authority's record from prev (held
// when had) to next.
func changeKind(prev NodeRecord, had bool, next NodeRecord) tableEventKind {
	if next.Status.IsActive() && (!had || prev.Status.IsTombstone() || prev.NodeID != next.NodeID ||
		(next.Status == StatusJoining && prev.Status != StatusJoining)) {
		return tableJoined
	}
	if had && prev.Status == next.Status {
		return tableUpdated
	}
	switch next.Status {
	case StatusUp:
		return tableUp
	case StatusSuspect:
		return tableSuspect
	case StatusLeaving:
		return tableLeaving
	case StatusRemoved:
		return tableLeft
	case StatusDead:
		return tableDead
	}
	return tableUpdated
}
