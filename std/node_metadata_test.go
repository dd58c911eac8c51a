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
