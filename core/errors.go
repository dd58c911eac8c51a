package core

import (
	"errors"
	"fmt"
)

// Sentinel errors. Match them with errors.Is; the typed errors below wrap them.
var (
	// ErrSendFailed is wrapped by every GossipTransport.Send failure.
	ErrSendFailed = errors.New("hearsay: send failed")
	// ErrInvalidConfig is wrapped by every configuration validation failure.
	ErrInvalidConfig = errors.New("hearsay: invalid config")
	// ErrNotStarted is returned by coordinator calls made in the Stopped state.
	ErrNotStarted = errors.New("hearsay: coordinator not started")
	// ErrInvalidState is returned by coordinator calls that the current state forbids.
	ErrInvalidState = errors.New("hearsay: invalid coordinator state")
	// ErrQuarantined: the instance is quarantined and may not rejoin yet.
	ErrQuarantined = errors.New("hearsay: quarantined")
	// ErrTableFull: the table already holds Config.MaxMembers records.
	ErrTableFull = errors.New("hearsay: membership table full")
	// ErrInvalidRecord: a record is malformed (empty ID or authority, unknown
	// status, metadata over the limit).
	ErrInvalidRecord = errors.New("hearsay: invalid record")
	// ErrInvalidMessage: an inbound message is malformed (unknown kind, empty
	// sender, a digest of a bad size, or a record that fails validation, in
	// which case it also matches ErrInvalidRecord).
	ErrInvalidMessage = errors.New("hearsay: invalid message")
)

// QuarantinedError reports that the instance at Authority with an incarnation
// at or below Incarnation is quarantined. It matches ErrQuarantined.
type QuarantinedError struct {
	Authority   string
	Incarnation uint64
}

func (e *QuarantinedError) Error() string {
	return fmt.Sprintf("hearsay: %s at incarnation %d is quarantined", e.Authority, e.Incarnation)
}

// Is makes errors.Is(err, ErrQuarantined) true.
func (e *QuarantinedError) Is(target error) bool { return target == ErrQuarantined }
