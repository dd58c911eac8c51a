//go:build go1.25

package std

import (
	"bytes"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SetMeta reaches the other members' tables and their subscribers, as one
// update event (From == To), through the wire codec.
func TestSetMetaReachesSubscribers(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		nodes := startMemCluster(t, newMemNetwork(), 3)
		events, cancel := nodes[0].Subscribe()
		defer cancel()
		changer := nodes[2]
		before := changer.LocalNode().Incarnation
		require.NoError(t, changer.SetMeta(t.Context(), []byte("role=db")))
		assert.Greater(t, changer.LocalNode().Incarnation, before)
		assert.Equal(t, "role=db", string(changer.LocalNode().Meta))

		var update *core.MemberEvent
		within(t, 5*time.Second, 10*time.Millisecond, func() bool {
			for {
				select {
				case e := <-events:
					if m := e.Member; m != nil && m.Record.Authority == changer.Addr() {
						update = m
					}
					continue
				default:
				}
				return update != nil
			}
		}, "no event about %s at %s", changer.Addr(), nodes[0].Addr())
		assert.Equal(t, core.StatusUp, update.From)
		assert.Equal(t, core.StatusUp, update.To)
		assert.Equal(t, "role=db", string(update.Record.Meta))
		// Node 1 takes it by gossip too, maybe a round later than node 0.
		within(t, 5*time.Second, 10*time.Millisecond, func() bool {
			for _, r := range nodes[1].Records() {
				if r.Authority == changer.Addr() {
					return string(r.Meta) == "role=db"
				}
			}
			return false
		}, "node 1's table never held the new metadata")

		err := changer.SetMeta(t.Context(), bytes.Repeat([]byte("x"), 513))
		require.ErrorIs(t, err, core.ErrInvalidRecord)
		assert.Contains(t, err.Error(), "over Config.MaxMetadataBytes 512")

		require.NoError(t, changer.Close())
		require.ErrorIs(t, changer.SetMeta(t.Context(), nil), ErrNotRunning)
	})
}

// Metadata changed right after Start, while the join is under way, reaches
// the seed, and the seed never sees the node go back to joining. (The
// README's program does this; the new metadata sorts before the old, so at
// one incarnation the old record would win.)
func TestSetMetaRightAfterStart(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		net := newMemNetwork()
		seed := startMemNode(t, net, localConfig("n0", "127.0.0.1:0"))
		events, cancel := seed.Subscribe()
		defer cancel()
		cfg := localConfig("n1", "127.0.0.1:0", seed.Addr())
		cfg.Core.Meta = []byte("state=starting")
		n := startMemNode(t, net, cfg)
		require.NoError(t, n.SetMeta(t.Context(), []byte("state=ready")))
		var statuses []core.NodeStatus
		within(t, 10*time.Second, 10*time.Millisecond, func() bool {
			for {
				select {
				case e := <-events:
					if m := e.Member; m != nil && m.Record.Authority == n.Addr() {
						statuses = append(statuses, m.To)
					}
					continue
				default:
				}
				for _, r := range seed.Members() {
					if r.Authority == n.Addr() {
						return string(r.Meta) == "state=ready"
					}
				}
				return false
			}
		}, "the seed never held the new metadata")
		for i := 1; i < len(statuses); i++ {
			assert.False(t, statuses[i-1] == core.StatusUp && statuses[i] == core.StatusJoining, "up, then joining again: %v", statuses)
		}
	})
}
