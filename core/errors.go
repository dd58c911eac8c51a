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
	// ErrAuthorityConflict: a different node already holds the authority.
	ErrAuthorityConflict = errors.New("hearsay: authority conflict")
	// ErrUnknownAuthority: no record exists for the authority.
	ErrUnknownAuthority = errors.New("hearsay: unknown authority")
	// ErrInvalidTransition: the status change is not allowed.
	ErrInvalidTransition = errors.New("hearsay: invalid transition")
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

// AuthorityConflictError reports that Authority is held by ExistingID while a
// change for IncomingID was attempted. It matches ErrAuthorityConflict.
type AuthorityConflictError struct {
	Authority  string
	ExistingID string
	IncomingID string
}

func (e *AuthorityConflictError) Error() string {
	return fmt.Sprintf("hearsay: authority conflict at %s: held by %q, got %q", e.Authority, e.ExistingID, e.IncomingID)
}

// Is makes errors.Is(err, ErrAuthorityConflict) true.
func (e *AuthorityConflictError) Is(target error) bool { return target == ErrAuthorityConflict }

// UnknownAuthorityError reports a change for an authority the table does not
// hold. It matches ErrUnknownAuthority.
type UnknownAuthorityError struct {
	Authority string
}

func (e *UnknownAuthorityError) Error() string {
	return fmt.Sprintf("hearsay: unknown authority %s", e.Authority)
}

// Is makes errors.Is(err, ErrUnknownAuthority) true.
func (e *UnknownAuthorityError) Is(target error) bool { return target == ErrUnknownAuthority }

// InvalidTransitionError reports a status change the life cycle forbids. It
// matches ErrInvalidTransition.
type InvalidTransitionError struct {
	Authority string
	From, To  NodeStatus
}

func (e *InvalidTransitionError) Error() string {
	return fmt.Sprintf("hearsay: invalid transition of %s from %s to %s", e.Authority, e.From, e.To)
}

// Is makes errors.Is(err, ErrInvalidTransition) true.
func (e *InvalidTransitionError) Is(target error) bool { return target == ErrInvalidTransition }

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
