//go:build go1.25

package std

import (
	"context"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run the gossiper in virtual time (testing/synctest) over the
// transport on an in-memory network (memnet_test.go): every wait is on the
// bubble's fake clock, so no test depends on how loaded the machine is.

// newTestGossiper returns a gossiper over a transport at 127.0.0.1 (a
// fresh port) of net, with the local preset. Call it inside a bubble.
func newTestGossiper(t *testing.T, net *memNetwork, tick time.Duration) (*gossiper, *udpTransport) {
	t.Helper()
	tr := net.attach(t, "127.0.0.1:0", nil)
	cfg := core.DefaultLocalConfig()
	cfg.NodeID, cfg.Authority, cfg.Rand = "g", tr.AdvertiseAddr(), rand.New(rand.NewPCG(1, 2))
	cfg.MaxMessageBytes = tr.MaxMessageBytes()
	c, err := core.NewMembershipCoordinator(cfg)
	require.NoError(t, err)
	g, err := newGossiper(gossiperConfig{TickInterval: tick}, c, tr, nil)
	require.NoError(t, err)
	t.Cleanup(func() { // a failed test still stops the loop, or the bubble deadlocks
		_ = g.Halt()
		_ = tr.Close()
	})
	return g, tr
}

// gossiperStatsOf reads g's counters or fails the test.
func gossiperStatsOf(t *testing.T, g *gossiper) gossiperStats {
	t.Helper()
	s, err := g.Stats()
	require.NoError(t, err)
	return s
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
	inBubble(t, func(t *testing.T) {
		const tick = 10 * time.Millisecond
		g, tr := newTestGossiper(t, newMemNetwork(), tick)
		ctx := t.Context()

		require.ErrorIs(t, g.Stop(ctx), ErrNotRunning, "stop before start")
		_, err := g.Records()
		require.ErrorIs(t, err, ErrNotRunning, "query before start")
		require.NoError(t, g.Start(ctx, nil))
		require.ErrorIs(t, g.Start(ctx, nil), errAlreadyStarted)

		require.NoError(t, g.JoinAndWait(ctx, nil), "alone, a node is Up at once")
		local, err := g.LocalNode()
		require.NoError(t, err)
		assert.Equal(t, core.StatusUp, local.Status)
		before := gossiperStatsOf(t, g)
		advance(4 * tick)
		s := gossiperStatsOf(t, g)
		assert.GreaterOrEqual(t, s.wakes.ticker-before.wakes.ticker, uint64(4), "the ticker steps the driver")
		assert.Greater(t, s.Driver.Steps, before.Driver.Steps+3)

		var state core.CoordinatorState
		require.NoError(t, g.Do(ctx, func(now time.Time, c *core.MembershipCoordinator) (core.Outcome, error) {
			state = c.State()
			return core.Outcome{}, nil
		}))
		assert.Equal(t, core.CoordinatorMember, state)

		require.NoError(t, g.Stop(ctx), "graceful stop")
		require.ErrorIs(t, g.Stop(ctx), ErrNotRunning, "stop twice")
		require.ErrorIs(t, g.Start(ctx, nil), ErrNotRunning, "no restart")
		require.ErrorIs(t, g.Join(ctx, nil), ErrNotRunning)

		// Queries answer from the last view.
		local, err = g.LocalNode()
		require.NoError(t, err)
		assert.Equal(t, core.StatusLeaving, local.Status)
		members, err := g.Records()
		require.NoError(t, err)
		assert.Len(t, members, 1)
		require.NoError(t, tr.Close())
	})
}

func TestGossiperHaltDoesNotLeave(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		g, tr := newTestGossiper(t, newMemNetwork(), 10*time.Millisecond)
		ctx := t.Context()
		require.NoError(t, g.Start(ctx, nil))
		require.NoError(t, g.JoinAndWait(ctx, nil))
		require.NoError(t, g.Halt())
		require.ErrorIs(t, g.Halt(), ErrNotRunning)
		local, err := g.LocalNode()
		require.NoError(t, err)
		assert.Equal(t, core.StatusUp, local.Status)
		require.NoError(t, tr.Close())
	})
}

func TestGossiperStopBoundedByContext(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		g, tr := newTestGossiper(t, newMemNetwork(), 10*time.Millisecond)
		require.NoError(t, g.Start(t.Context(), nil))
		// A peer that never answers keeps the leave from completing quickly;
		// an expired ctx cuts it short but Stop still waits for the goroutine.
		require.NoError(t, g.Join(t.Context(), []string{"127.0.0.1:1"}))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := g.Stop(ctx)
		if err != nil {
			require.ErrorIs(t, err, context.Canceled)
		}
		require.ErrorIs(t, g.Halt(), ErrNotRunning)
		require.NoError(t, tr.Close())
	})
}

// TestGossiperStepsOnArrival: a message that arrives is handled at once,
// not at the next tick or deadline: no virtual time passes between its
// arrival and the step that hands it to the coordinator.
func TestGossiperStepsOnArrival(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		net := newMemNetwork()
		g, tr := newTestGossiper(t, net, time.Hour) // the ticker never fires
		peer := net.attach(t, "127.0.0.1:0", nil)
		require.NoError(t, g.Start(t.Context(), nil))
		require.NoError(t, g.JoinAndWait(t.Context(), nil))
		synctest.Wait()
		before := gossiperStatsOf(t, g)
		sentAt := time.Now()

		hb := core.Message{Kind: core.MessageHeartbeat, From: peer.AdvertiseAddr(), FromID: "peer", Seq: 1}
		require.NoError(t, peer.Send(core.GossipOutbound{Target: tr.AdvertiseAddr(), Message: hb}))
		synctest.Wait()

		s := gossiperStatsOf(t, g)
		assert.Equal(t, sentAt, time.Now(), "no virtual time passed")
		assert.Equal(t, before.wakes.arrival+1, s.wakes.arrival, "the arrival woke the loop")
		assert.Equal(t, before.Driver.Received+1, s.Driver.Received, "the message reached the coordinator")
		assert.Equal(t, before.wakes.ticker, s.wakes.ticker)
		assert.Equal(t, before.wakes.deadline, s.wakes.deadline)
		assert.Empty(t, tr.PollDeltas(), "nothing left waiting in the transport")

		require.NoError(t, g.Halt())
		require.NoError(t, tr.Close())
		require.NoError(t, peer.Close())
	})
}

// TestGossiperSleepsUntilNextDeadline: with the ticker out of the way, a
// lone member's loop sleeps until the coordinator's NextDeadline, steps
// then, and re-arms at the next one: it never steps before something is
// due, and never misses a deadline.
func TestGossiperSleepsUntilNextDeadline(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		g, tr := newTestGossiper(t, newMemNetwork(), time.Hour) // the ticker never fires
		require.NoError(t, g.Start(t.Context(), nil))
		require.NoError(t, g.JoinAndWait(t.Context(), nil))
		synctest.Wait()
		nextDeadline := func() time.Time {
			var d time.Time
			require.NoError(t, g.Do(t.Context(), func(_ time.Time, c *core.MembershipCoordinator) (core.Outcome, error) {
				d = c.NextDeadline()
				return core.Outcome{}, nil
			}))
			return d
		}

		for range 50 {
			d := nextDeadline()
			require.True(t, d.After(time.Now()), "the deadline %v is not after now %v", d, time.Now())
			before := gossiperStatsOf(t, g)
			advance(d.Sub(time.Now()) - time.Nanosecond)
			s := gossiperStatsOf(t, g)
			require.Equal(t, before.Driver.Steps, s.Driver.Steps, "a step before the deadline")
			advance(time.Nanosecond)
			s = gossiperStatsOf(t, g)
			require.Equal(t, before.Driver.Steps+1, s.Driver.Steps, "no step at the deadline %v", d)
			require.Equal(t, before.wakes.deadline+1, s.wakes.deadline)
			require.Zero(t, s.LastTickLag, "the step ran at its deadline")
		}
		s := gossiperStatsOf(t, g)
		assert.Zero(t, s.wakes.ticker+s.wakes.arrival, "only deadlines woke the loop")

		require.NoError(t, g.Halt())
		require.NoError(t, tr.Close())
	})
}

// TestGossiperIdleWakes: an idle member at the LAN preset's cadence steps
// only at its deadlines and, when none came for TickInterval, at a tick:
// over a minute of virtual time every step is one or the other, a tick
// never comes more than TickInterval after the last step, and the loop
// steps fewer times than the fixed tick of a quarter of the cadence that it
// used before it followed NextDeadline. With std's own TickInterval
// (max(HeartbeatInterval, GossipInterval, 1 s)) the coordinator's deadlines
// always come first: the floor costs no wake-up at all.
func TestGossiperIdleWakes(t *testing.T) {
	cfg := core.DefaultLANConfig()
	cadence := min(cfg.HeartbeatInterval, cfg.GossipInterval)
	for _, tick := range []time.Duration{cadence, max(cfg.HeartbeatInterval, cfg.GossipInterval, time.Second)} {
		t.Run(tick.String(), func(t *testing.T) {
			inBubble(t, func(t *testing.T) {
				net := newMemNetwork()
				tr := net.attach(t, "127.0.0.1:0", nil)
				cfg := core.DefaultLANConfig()
				cfg.NodeID, cfg.Authority, cfg.Rand = "idle", tr.AdvertiseAddr(), rand.New(rand.NewPCG(3, 4))
				cfg.MaxMessageBytes = min(cfg.MaxMessageBytes, tr.MaxMessageBytes())
				c, err := core.NewMembershipCoordinator(cfg)
				require.NoError(t, err)
				g, err := newGossiper(gossiperConfig{TickInterval: tick}, c, tr, nil)
				require.NoError(t, err)
				t.Cleanup(func() { _ = g.Halt() })
				require.NoError(t, g.Start(t.Context(), nil))
				require.NoError(t, g.JoinAndWait(t.Context(), nil))

				const window = time.Minute
				before := gossiperStatsOf(t, g)
				advance(window)
				s := gossiperStatsOf(t, g)
				steps := s.Driver.Steps - before.Driver.Steps
				ticks, deadlines := s.wakes.ticker-before.wakes.ticker, s.wakes.deadline-before.wakes.deadline
				t.Logf("idle for %v, TickInterval %v: %d steps (%d ticks, %d deadlines, %d arrivals)", window, tick, steps,
					ticks, deadlines, s.wakes.arrival-before.wakes.arrival)
				assert.Equal(t, ticks+deadlines, steps, "every step is a tick or a deadline")
				assert.GreaterOrEqual(t, steps, uint64(window/tick)-1, "never more than TickInterval between steps")
				assert.Zero(t, s.wakes.arrival-before.wakes.arrival, "nothing arrives at a lone member")
				assert.Less(t, steps, uint64(window/(cadence/4)), "as many steps as a fixed tick of a quarter of the cadence")
				if tick > idleWake(cfg) {
					assert.Zero(t, ticks, "the coordinator's deadlines come more often than TickInterval")
				}
				require.NoError(t, g.Halt())
				require.NoError(t, tr.Close())
			})
		})
	}
}

// idleWake is the longest the coordinator lets an idle caller sleep
// (core's NextDeadline: twice the smaller of the two intervals).
func idleWake(cfg core.Config) time.Duration {
	return 2 * min(cfg.HeartbeatInterval, cfg.GossipInterval)
}

// TestGossiperLeaveDoesNotSpin: while a member leaves, the loop steps on its
// ticker, its arrivals and the coordinator's deadlines only, never without
// pause (in a bubble that would never let the clock advance, and the leave
// would never end): the coordinator's deadline after a poll is in the
// future while leaving too.
func TestGossiperLeaveDoesNotSpin(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		const tick = 100 * time.Millisecond
		net := newMemNetwork()
		a, ta := newTestGossiper(t, net, tick)
		b, tb := newTestGossiper(t, net, tick)
		require.NoError(t, b.Start(t.Context(), handleJoin(nil)))
		require.NoError(t, a.Start(t.Context(), handleJoin([]string{tb.AdvertiseAddr()})))
		require.NoError(t, a.JoinAndWait(t.Context(), nil))
		advance(time.Second)

		before := gossiperStatsOf(t, a)
		start := time.Now()
		require.NoError(t, a.Leave(t.Context()))
		took := time.Since(start)
		advance(0)
		s := gossiperStatsOf(t, a)
		steps := s.Driver.Steps - before.Driver.Steps
		wakes := (s.wakes.ticker - before.wakes.ticker) + (s.wakes.deadline - before.wakes.deadline) + (s.wakes.arrival - before.wakes.arrival)
		t.Logf("leave took %v of virtual time and %d steps", took, steps)
		assert.Equal(t, wakes, steps, "every step was a tick, a deadline or an arrival")
		assert.LessOrEqual(t, steps, uint64(4*(took/tick)+4), "the loop stepped faster than its timers")
		local, err := b.Records()
		require.NoError(t, err)
		assert.Len(t, local, 2)

		require.NoError(t, a.Halt())
		require.NoError(t, b.Halt())
		require.NoError(t, ta.Close())
		require.NoError(t, tb.Close())
	})
}
