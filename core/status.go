package core

import "fmt"

// NodeStatus is where a member stands in its life cycle. The numeric values are
// part of the wire protocol (std encodes them as integers): append only.
type NodeStatus uint8

const (
	// StatusJoining: the node announced itself and is not yet confirmed Up.
	StatusJoining NodeStatus = 1
	// StatusUp: the node is a live member.
	StatusUp NodeStatus = 2
	// StatusSuspect: some monitor suspects the node failed; it may refute.
	StatusSuspect NodeStatus = 3
	// StatusLeaving: the node announced a graceful leave.
	StatusLeaving NodeStatus = 4
	// StatusRemoved: the node left gracefully; a tombstone.
	StatusRemoved NodeStatus = 5
	// StatusDead: the node was declared failed; a tombstone.
	StatusDead NodeStatus = 6
)

// String returns the lower-case name of the status ("up", "suspect", ...).
func (s NodeStatus) String() string {
	switch s {
	case StatusJoining:
		return "joining"
	case StatusUp:
		return "up"
	case StatusSuspect:
		return "suspect"
	case StatusLeaving:
		return "leaving"
	case StatusRemoved:
		return "removed"
	case StatusDead:
		return "dead"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Valid reports whether s is one of the defined statuses.
func (s NodeStatus) Valid() bool { return s >= StatusJoining && s <= StatusDead }

// IsActive reports whether a node in this status still counts as a member:
// Joining, Up, Suspect and Leaving.
func (s NodeStatus) IsActive() bool {
	return s == StatusJoining || s == StatusUp || s == StatusSuspect || s == StatusLeaving
}

// IsTombstone reports whether the status is terminal for this incarnation
// (Removed or Dead).
func (s NodeStatus) IsTombstone() bool { return s == StatusRemoved || s == StatusDead }

// precedence orders statuses for the merge at equal incarnation: a higher value
// wins. Dead and Removed share the top rank, above Leaving, Suspect, Up and
// Joining; between Dead and Removed, Dead wins so that every replica picks the
// same record whatever the order it saw them in.
func (s NodeStatus) precedence() int {
	switch s {
	case StatusJoining:
		return 1
	case StatusUp:
		return 2
	case StatusSuspect:
		return 3
	case StatusLeaving:
		return 4
	case StatusRemoved:
		return 5
	case StatusDead:
		return 6
	}
	return 0
}
