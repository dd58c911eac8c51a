package core

import "fmt"

// TableEventKind says what a change to a MembershipTable meant. Every change
// of the table (a Merge that returned changed, an Add, a Transition that was
// not a no-op) produces exactly one event; TableConflict is the one event
// that reports a record the table did not take. Pruning tombstones produces
// no event.
type TableEventKind uint8

const (
	// TableJoined: an instance became active at an authority that had no
	// record, a tombstone, or another instance (a restart: Previous holds the
	// replaced instance, with a different NodeID), or went back to Joining at
	// a higher incarnation. Record.Status is any active status.
	TableJoined TableEventKind = iota + 1
	// TableUp: the same instance became Up, from Joining (confirmed) or from
	// Suspect (refuted at a higher incarnation).
	TableUp
	// TableSuspect: the instance became Suspect.
	TableSuspect
	// TableLeaving: the instance announced a graceful leave.
	TableLeaving
	// TableLeft: the record became Removed (a graceful leave completed).
	TableLeft
	// TableDead: the record became Dead. HadPrevious is false when the table
	// learnt of the death of an authority it never held.
	TableDead
	// TableUpdated: the status stayed the same, and the incarnation, the
	// metadata or (between tombstones) the node ID changed.
	TableUpdated
	// TableConflict: Merge met an active record for an authority held by an
	// active record of a different NodeID, and the incoming record lost
	// (NodeRecord.Supersedes). The table did not change: Record is the
	// refused record, Previous the one held. Two live instances claim one
	// address, or stale gossip of a replaced instance is still travelling.
	TableConflict
)

// String returns the lower-case name of the kind ("joined", "dead", ...).
func (k TableEventKind) String() string {
	switch k {
	case TableJoined:
		return "joined"
	case TableUp:
		return "up"
	case TableSuspect:
		return "suspect"
	case TableLeaving:
		return "leaving"
	case TableLeft:
		return "left"
	case TableDead:
		return "dead"
	case TableUpdated:
		return "updated"
	case TableConflict:
		return "conflict"
	}
	return fmt.Sprintf("table-event(%d)", uint8(k))
}

// TableEvent is one change of a MembershipTable, in the order the changes
// happened. Records are copies the caller may keep.
type TableEvent struct {
	// Kind says what the change meant.
	Kind TableEventKind
	// Record is the record after the change (for TableConflict, the refused
	// incoming record).
	Record NodeRecord
	// Previous is the record the authority held before the change; the zero
	// record when HadPrevious is false.
	Previous NodeRecord
	// HadPrevious reports whether the authority held a record before.
	HadPrevious bool
}

// changeKind classifies the change of an authority's record from prev (held
// when had) to next.
func changeKind(prev NodeRecord, had bool, next NodeRecord) TableEventKind {
	if next.Status.IsActive() && (!had || prev.Status.IsTombstone() || prev.NodeID != next.NodeID ||
		(next.Status == StatusJoining && prev.Status != StatusJoining)) {
		return TableJoined
	}
	if had && prev.Status == next.Status {
		return TableUpdated
	}
	switch next.Status {
	case StatusUp:
		return TableUp
	case StatusSuspect:
		return TableSuspect
	case StatusLeaving:
		return TableLeaving
	case StatusRemoved:
		return TableLeft
	case StatusDead:
		return TableDead
	}
	return TableUpdated
}
