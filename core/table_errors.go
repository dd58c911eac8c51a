package core

import (
	"errors"
	"fmt"
)

// The membership table's own errors. They do not reach the coordinator's
// caller: the coordinator asks the table only for transitions the life cycle
// allows, and counts (RecordsRejected) the records from gossip that the table
// refuses.
var (
	// errAuthorityConflict: a different node already holds the authority.
	errAuthorityConflict = errors.New("hearsay: authority conflict")
	// errUnknownAuthority: no record exists for the authority.
	errUnknownAuthority = errors.New("hearsay: unknown authority")
	// errInvalidTransition: the status change is not allowed.
	errInvalidTransition = errors.New("hearsay: invalid transition")
)

// authorityConflictError reports that Authority is held by ExistingID while a
// change for IncomingID was attempted. It matches errAuthorityConflict.
type authorityConflictError struct {
	Authority  string
	ExistingID string
	IncomingID string
}

func (e *authorityConflictError) Error() string {
	return fmt.Sprintf("hearsay: authority conflict at %s: held by %q, got %q", e.Authority, e.ExistingID, e.IncomingID)
}

// Is makes errors.Is(err, errAuthorityConflict) true.
func (e *authorityConflictError) Is(target error) bool { return target == errAuthorityConflict }

// unknownAuthorityError reports a change for an authority the table does not
// hold. It matches errUnknownAuthority.
type unknownAuthorityError struct {
	Authority string
}

func (e *unknownAuthorityError) Error() string {
	return fmt.Sprintf("hearsay: unknown authority %s", e.Authority)
}

// Is makes errors.Is(err, errUnknownAuthority) true.
func (e *unknownAuthorityError) Is(target error) bool { return target == errUnknownAuthority }

// invalidTransitionError reports a status change the life cycle forbids. It
// matches errInvalidTransition.
type invalidTransitionError struct {
	Authority string
	From, To  NodeStatus
}

func (e *invalidTransitionError) Error() string {
	return fmt.Sprintf("hearsay: invalid transition of %s from %s to %s", e.Authority, e.From, e.To)
}

// Is makes errors.Is(err, errInvalidTransition) true.
func (e *invalidTransitionError) Is(target error) bool { return target == errInvalidTransition }
