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
// the member's unchanged status: an update.
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
