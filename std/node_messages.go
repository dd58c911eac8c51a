package std

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// SendTo sends payload to the member at addr ("ip:port", as Members lists
// them) in one datagram, sealed by the keyring like every other: best
// effort, as memberlist's SendBestEffort — no acknowledgement, no retry,
// lost if the datagram is. The receiver's subscribers get it as a
// core.Event whose User has this node as From and Seq 0, if the receiver
// holds this node as an active member. It returns once the datagram is
// queued. Only active members are targets: an application that answers
// what it receives (SendTo(ctx, e.User.From, ...)) can never be aimed at an
// address outside the cluster.
//
// Errors: a payload over Core.MaxPayloadBytes or over what a datagram
// holds, an addr that is not another member this node holds active (all
// wrapping core.ErrInvalidMessage, with the sizes or the address); a full
// outbound queue (core.ErrSendFailed, counted in NodeStats.Transport); a
// node that has left or closed (ErrNotRunning); ctx's error.
func (n *Node) SendTo(ctx context.Context, addr string, payload []byte) error {
	payload = bytes.Clone(payload) // the command may run after ctx gave up on it
	err := n.gossiper.DoAndSend(ctx, func(now time.Time, c *core.MembershipCoordinator) (core.Outcome, error) {
		return c.SendTo(now, addr, payload)
	})
	if err != nil {
		return fmt.Errorf("hearsay: send to %s: %w", addr, err)
	}
	return nil
}

// Broadcast sends payload to every member by the epidemic, as memberlist's
// broadcast queue does: it rides on heartbeats and gossip, sealed by the
// keyring, and every member that receives it delivers it to its
// subscribers (a core.Event whose User has this node as From and the
// broadcast's ID as Seq) once, and passes it on a limited number of times
// (Core.RetransmitMult × ceil(log10(N+1))). It is best effort: nothing
// acknowledges or repairs it, so under loss a member may miss it
// (BENCHMARKS.md, "What applications get, in the simulator", measures how
// often). Members deliver broadcasts relayed by a member they hold active
// only. This node's own subscribers do not get it. It returns once the
// broadcast is queued. At most Core.MaxBroadcasts wait at once; beyond, the
// one transmitted most is dropped (NodeStats.Coordinator.BroadcastsDropped).
//
// Errors: a payload over Core.MaxPayloadBytes or over what a datagram
// holds (wrapping core.ErrInvalidMessage, with the sizes); a node that has
// left or closed (ErrNotRunning); ctx's error.
func (n *Node) Broadcast(ctx context.Context, payload []byte) error {
	payload = bytes.Clone(payload)
	err := n.gossiper.Do(ctx, func(now time.Time, c *core.MembershipCoordinator) (core.Outcome, error) {
		return c.Broadcast(now, payload)
	})
	if err != nil {
		return fmt.Errorf("hearsay: broadcast: %w", err)
	}
	return nil
}
