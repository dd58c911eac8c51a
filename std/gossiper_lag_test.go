package std

import (
	"context"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestGossiperTickLagIsMeasured stalls the gossiper goroutine with a slow
// command and checks that the ticks after it report the stall as lag.
func TestGossiperTickLagIsMeasured(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const tick, stall = 10 * time.Millisecond, 200 * time.Millisecond
	g, tr := newTestGossiper(t, tick)
	defer tr.Close() // before goleak's check
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(t, g.Start(ctx))

	// No bound on the lag before the stall: on a loaded machine ticks can
	// run late on their own; the stall is what must show.
	before, err := g.Stats()
	require.NoError(t, err)

	// The sleep simulates a stall of the gossiper goroutine; it waits for
	// nothing.
	require.NoError(t, g.Do(ctx, func(time.Time, *core.MembershipCoordinator) (core.Outcome, error) {
		time.Sleep(stall)
		return core.Outcome{}, nil
	}))
	var s gossiperStats
	eventually(t, waitTimeout, func() bool {
		s, err = g.Stats()
		require.NoError(t, err)
		return s.TickLagMax >= stall*3/4
	}, "a tick reports the stall as lag")
	assert.GreaterOrEqual(t, s.TickLagTotal, s.TickLagMax, "the total holds the largest lag")
	assert.Greater(t, s.Driver.Steps, before.Driver.Steps)

	// Ticks on time after the stall: the last lag drops back under the
	// stall, the largest stays.
	eventually(t, waitTimeout, func() bool {
		s, err = g.Stats()
		require.NoError(t, err)
		return s.LastTickLag < stall/2
	}, "the ticks after the stall run on time")
	assert.GreaterOrEqual(t, s.TickLagMax, stall*3/4)

	require.NoError(t, g.Stop(ctx))
	final, err := g.Stats()
	require.NoError(t, err, "stats after stop")
	assert.GreaterOrEqual(t, final.TickLagMax, stall*3/4, "the final stats keep the lag")
	assert.GreaterOrEqual(t, final.TickLagTotal, s.TickLagTotal)
	assert.GreaterOrEqual(t, final.Driver.Steps, s.Driver.Steps)
	require.NoError(t, tr.Close())
}
