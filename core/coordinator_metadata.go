package core

import (
	"bytes"
	"fmt"
	"time"
)

// SetMeta replaces this node's metadata at now, as memberlist's UpdateNode
// and serf's tag updates do: the own record is stored at a higher
// incarnation, so that it supersedes the old one everywhere, and is queued
// for gossip like any other change (it reaches every member within the
// rounds a join takes; BENCHMARKS.md has the simulator's figures). Every
// member, this one included, then emits a MemberEvent whose From and To are
// the member's unchanged status: an update. While this node is still
// Joining, the change waits for the join: it is stored and gossiped, one
// incarnation higher, with the Up record the join ends with (the events
// are then that status change), and join requests carry it meanwhile.
//
// Metadata equal to the current one changes nothing and returns an empty
// Outcome. Metadata over Config.MaxMetadataBytes, or that would make this
// node's own record too large for one message, is refused with an error
// wrapping ErrInvalidRecord that gives the sizes. It returns ErrNotStarted
// when Stopped, and ErrInvalidState for a client (it has no record), while
// leaving, and when the incarnation can no longer be raised (it saturates,
// see StartMember).
func (c *MembershipCoordinator) SetMeta(now time.Time, meta []byte) (Outcome, error) {
	now = c.clock.protocol(now)
	switch {
	case c.state == CoordinatorStopped:
		return Outcome{}, ErrNotStarted
	case c.state == CoordinatorClient:
		return Outcome{}, fmt.Errorf("%w: SetMeta on a client, which has no record of its own", ErrInvalidState)
	case c.life.leaving:
		return Outcome{}, fmt.Errorf("%w: SetMeta while leaving", ErrInvalidState)
	}
	if err := c.checkOwnMeta(meta); err != nil {
		return Outcome{}, err
	}
	c.observe(now)
	if bytes.Equal(meta, c.life.self.Meta) {
		return c.finish(), nil
	}
	if c.life.self.Incarnation >= maxRefutableIncarnation {
		return Outcome{}, fmt.Errorf("%w: SetMeta: the incarnation %d cannot be raised any more; start a new instance",
			ErrInvalidState, c.life.self.Incarnation)
	}
	c.life.self.Meta = slicesClone(meta)
	c.cfg.Meta = slicesClone(meta) // a start after a leave keeps it
	if c.life.self.Status == StatusJoining {
		// Not joined yet: a seed may already hold this node Up, and a
		// Joining record at a higher incarnation would take it back to
		// Joining there. The join requests carry the new metadata, and the
		// Up record the join ends with carries it one incarnation higher
		// (storeSelf).
		c.life.metaPending = true
		return c.finish(), nil
	}
	c.life.self.Incarnation = nextIncarnation(c.life.self.Incarnation)
	c.storeSelf(now)
	return c.finish(), nil
}

// checkOwnMeta refuses metadata this node could not carry: over
// MaxMetadataBytes, or too large for its own record to fit one message.
func (c *MembershipCoordinator) checkOwnMeta(meta []byte) error {
	if len(meta) > c.cfg.MaxMetadataBytes {
		return fmt.Errorf("%w: metadata is %d bytes, over Config.MaxMetadataBytes %d",
			ErrInvalidRecord, len(meta), c.cfg.MaxMetadataBytes)
	}
	if size := ownRecordMessageSize(c.cfg.NodeID, c.cfg.Authority, meta); size > c.cfg.MaxMessageBytes {
		return fmt.Errorf("%w: with %d bytes of metadata this node's record needs a %d-byte message, over Config.MaxMessageBytes %d",
			ErrInvalidRecord, len(meta), size, c.cfg.MaxMessageBytes)
	}
	return nil
}

// takePendingMeta raises the own record's incarnation, once it is no longer
// Joining, if its metadata changed while it was (see SetMeta). storeSelf
// calls it, so every way out of Joining carries the change.
func (c *MembershipCoordinator) takePendingMeta() {
	if c.life.metaPending && c.life.self.Status != StatusJoining {
		c.life.metaPending = false
		c.life.self.Incarnation = nextIncarnation(c.life.self.Incarnation)
	}
}
