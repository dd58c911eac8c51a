//go:build go1.25

package std

import (
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGossiperTickLagIsMeasured stalls the gossiper goroutine with a slow
// command and checks that the ticks after it report the stall as lag. It
// runs in virtual time: the stall is exact, and so is every tick after it.
func TestGossiperTickLagIsMeasured(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		const tick, stall = 10 * time.Millisecond, 200 * time.Millisecond
		g, tr := newTestGossiper(t, newMemNetwork(), tick)
		ctx := t.Context()
		require.NoError(t, g.Start(ctx, nil))
		advance(5 * tick)
		before := gossiperStatsOf(t, g)
		assert.Zero(t, before.TickLagMax, "in virtual time every tick runs on time")

		// The sleep stalls the gossiper goroutine: the bubble's clock moves
		// on by stall while it holds the loop.
		require.NoError(t, g.Do(ctx, func(time.Time, *core.MembershipCoordinator) (core.Outcome, error) {
			time.Sleep(stall)
			return core.Outcome{}, nil
		}))
		advance(0)
		s := gossiperStatsOf(t, g)
		assert.GreaterOrEqual(t, s.TickLagMax, stall-tick, "a tick reports the stall as lag")
		assert.LessOrEqual(t, s.TickLagMax, stall)
		assert.GreaterOrEqual(t, s.TickLagTotal, s.TickLagMax, "the total holds the largest lag")
		assert.Greater(t, s.Driver.Steps, before.Driver.Steps)

		// Ticks on time after the stall: the last lag drops back to zero, the
		// largest stays.
		advance(2 * tick)
		s = gossiperStatsOf(t, g)
		assert.Zero(t, s.LastTickLag, "the ticks after the stall run on time")
		assert.GreaterOrEqual(t, s.TickLagMax, stall-tick)

		require.NoError(t, g.Stop(ctx))
		final, err := g.Stats()
		require.NoError(t, err, "stats after stop")
		assert.GreaterOrEqual(t, final.TickLagMax, stall-tick, "the final stats keep the lag")
		assert.GreaterOrEqual(t, final.TickLagTotal, s.TickLagTotal)
		assert.GreaterOrEqual(t, final.Driver.Steps, s.Driver.Steps)
		require.NoError(t, tr.Close())
	})
}
