package std

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func newTestGossiper(t *testing.T, tick time.Duration) (*gossiper, *udpTransport) {
	t.Helper()
	tr := newTestTransport(t, "127.0.0.1:0", nil)
	cfg := core.DefaultLocalConfig()
	cfg.NodeID, cfg.Authority, cfg.Rand = "g", tr.AdvertiseAddr(), rand.New(rand.NewPCG(1, 2))
	cfg.MaxMessageBytes = MaxMessageBytes(tr.MaxDatagramBytes(), tr.Label())
	c, err := core.NewMembershipCoordinator(cfg)
	require.NoError(t, err)
	g, err := newGossiper(gossiperConfig{TickInterval: tick}, c, tr, nil)
	require.NoError(t, err)
	return g, tr
}

func TestGossiperConfig(t *testing.T) {
	for _, tick := range []time.Duration{0, -time.Millisecond} {
		c := gossiperConfig{TickInterval: tick}
		err := c.Validate()
		require.ErrorIs(t, err, core.ErrInvalidConfig)
		assert.Contains(t, err.Error(), "TickInterval")
	}
	_, err := newGossiper(gossiperConfig{}, nil, nil, nil)
	require.ErrorIs(t, err, core.ErrInvalidConfig)
}

func TestGossiperLifecycle(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	g, tr := newTestGossiper(t, 10*time.Millisecond)
	defer tr.Close() // before goleak's check
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()

	require.ErrorIs(t, g.Stop(ctx), ErrNotRunning, "stop before start")
	_, err := g.Members()
	require.ErrorIs(t, err, ErrNotRunning, "query before start")
	require.NoError(t, g.Start(ctx))
	require.ErrorIs(t, g.Start(ctx), errAlreadyStarted)

	require.NoError(t, g.JoinAndWait(ctx, nil), "alone, a node is Up at once")
	local, err := g.LocalNode()
	require.NoError(t, err)
	assert.Equal(t, core.StatusUp, local.Status)
	eventually(t, waitTimeout, func() bool {
		s, err := g.Stats()
		return err == nil && s.Driver.Steps > 3
	}, "the ticker steps the driver")

	var state core.CoordinatorState
	require.NoError(t, g.Do(ctx, func(now time.Time, c *core.MembershipCoordinator) (core.Outcome, error) {
		state = c.State()
		return core.Outcome{}, nil
	}))
	assert.Equal(t, core.CoordinatorMember, state)

	require.NoError(t, g.Stop(ctx), "graceful stop")
	require.ErrorIs(t, g.Stop(ctx), ErrNotRunning, "stop twice")
	require.ErrorIs(t, g.Start(ctx), ErrNotRunning, "no restart")
	require.ErrorIs(t, g.Join(ctx, nil), ErrNotRunning)

	// Queries answer from the last view.
	local, err = g.LocalNode()
	require.NoError(t, err)
	assert.Equal(t, core.StatusLeaving, local.Status)
	members, err := g.Members()
	require.NoError(t, err)
	assert.Len(t, members, 1)
	require.NoError(t, tr.Close())
}

func TestGossiperHaltDoesNotLeave(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	g, tr := newTestGossiper(t, 10*time.Millisecond)
	defer tr.Close() // before goleak's check
	ctx := context.Background()
	require.NoError(t, g.Start(ctx))
	require.NoError(t, g.JoinAndWait(ctx, nil))
	require.NoError(t, g.Halt())
	require.ErrorIs(t, g.Halt(), ErrNotRunning)
	local, err := g.LocalNode()
	require.NoError(t, err)
	assert.Equal(t, core.StatusUp, local.Status)
	require.NoError(t, tr.Close())
}

func TestGossiperStopBoundedByContext(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	g, tr := newTestGossiper(t, 10*time.Millisecond)
	defer tr.Close() // before goleak's check
	require.NoError(t, g.Start(context.Background()))
	// A peer that never answers keeps the leave from completing quickly;
	// an expired ctx cuts it short but Stop still waits for the goroutine.
	require.NoError(t, g.Join(context.Background(), []string{"127.0.0.1:1"}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := g.Stop(ctx)
	if err != nil {
		require.ErrorIs(t, err, context.Canceled)
	}
	require.ErrorIs(t, g.Halt(), ErrNotRunning)
	require.NoError(t, tr.Close())
}
