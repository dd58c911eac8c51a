package std

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// SetMeta replaces this node's metadata (at most Core.MaxMetadataBytes) at
// runtime, as memberlist's UpdateNode and serf's tag updates do: the record
// is stored at a higher incarnation and gossiped like any other change, and
// every member's subscribers, this node's included, get one core.Event
// whose Member has From == To (the unchanged status) and the new metadata.
// It returns once the change is made and its first gossip is sent, not once
// it has spread. Metadata equal to the current one changes nothing.
//
// Errors: metadata too large (wrapping core.ErrInvalidRecord, with the
// sizes), a client or a leaving node (core.ErrInvalidState), a node that
// has left or closed (ErrNotRunning), and ctx's error.
func (n *Node) SetMeta(ctx context.Context, meta []byte) error {
	meta = bytes.Clone(meta) // the command may run after ctx gave up on it
	err := n.gossiper.Do(ctx, func(now time.Time, c *core.MembershipCoordinator) (core.Outcome, error) {
		return c.SetMeta(now, meta)
	})
	if err != nil {
		return fmt.Errorf("hearsay: set metadata: %w", err)
	}
	return nil
}
