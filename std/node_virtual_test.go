//go:build go1.25

package std

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run nodes in virtual time (testing/synctest) on an in-memory
// network (memnet_test.go), through the real transport. Real UDP keeps the
// transport's own tests (transport_test.go and others) and the smoke tests
// of node_test.go, TestUDPClusterSmoke among them.

// startMemNode starts a node of net from cfg and closes it at the end of
// the test. Call it inside a bubble.
func startMemNode(t *testing.T, net *memNetwork, cfg Config) *Node {
	t.Helper()
	n, err := start(t.Context(), cfg, net.listen)
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	return n
}

// startMemCluster starts size nodes of net, all seeded with the first, and
// waits until every node sees every other Up.
func startMemCluster(t *testing.T, net *memNetwork, size int) []*Node {
	t.Helper()
	nodes := []*Node{startMemNode(t, net, localConfig("n0", "127.0.0.1:0"))}
	for i := 1; i < size; i++ {
		nodes = append(nodes, startMemNode(t, net, localConfig(fmt.Sprintf("n%d", i), "127.0.0.1:0", nodes[0].Addr())))
	}
	convergeWithin(t, convergeLimit, nodes)
	return nodes
}

// convergeLimit bounds, in virtual time, how long a small cluster at the
// local preset takes to converge: a few join retries and gossip rounds.
const convergeLimit = 10 * time.Second

// converged reports whether every node holds every node Up.
func converged(nodes []*Node) bool {
	for _, n := range nodes {
		for _, o := range nodes {
			if statusOf(n, o.Addr()) != core.StatusUp {
				return false
			}
		}
	}
	return true
}

// convergeWithin waits, in virtual time, until every node holds every node
// Up, and fails after limit.
func convergeWithin(t *testing.T, limit time.Duration, nodes []*Node) {
	t.Helper()
	within(t, limit, 10*time.Millisecond, func() bool { return converged(nodes) },
		"%d nodes did not converge: %s", len(nodes), views(nodes))
}

func TestTenNodesConverge(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		nodes := startMemCluster(t, newMemNetwork(), 10)
		for _, n := range nodes {
			assert.Len(t, n.Members(), 10)
			assert.Equal(t, core.StatusUp, n.LocalNode().Status)
		}
		s := nodes[0].Stats()
		assert.Positive(t, s.Transport.DatagramsSent)
		assert.Positive(t, s.Driver.Received)
		assert.Positive(t, s.Coordinator.JoinRequestsServed)
	})
}

func TestCrashedNodeIsMarkedDead(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		nodes := startMemCluster(t, newMemNetwork(), 5)
		crashed := nodes[4]
		require.NoError(t, crashed.Close())
		live := nodes[:4]
		// The local preset suspects after about 1 s of silence and declares
		// Dead at most SuspicionMaxTimeout (1.2 s) later.
		within(t, 5*time.Second, 10*time.Millisecond, func() bool {
			for _, n := range live {
				if statusOf(n, crashed.Addr()) != core.StatusDead {
					return false
				}
			}
			return true
		}, "crashed node not Dead everywhere: %s", views(live))
		for _, n := range live { // and no live node was declared dead along the way
			for _, o := range live {
				assert.Equal(t, core.StatusUp, statusOf(n, o.Addr()), "%s's view of %s", n.LocalNode().NodeID, o.LocalNode().NodeID)
			}
			// Members are the live ones; Records keep the tombstone.
			assert.Len(t, n.Members(), len(live))
			assert.Len(t, n.Records(), len(live)+1)
		}
	})
}

func TestGracefulLeaveShowsRemoved(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		net := newMemNetwork()
		first := startMemNode(t, net, localConfig("n0", "127.0.0.1:0"))
		events, cancel := first.Subscribe()
		defer cancel()
		nodes := []*Node{first}
		for i := 1; i < 4; i++ {
			nodes = append(nodes, startMemNode(t, net, localConfig(fmt.Sprintf("n%d", i), "127.0.0.1:0", first.Addr())))
		}
		convergeWithin(t, convergeLimit, nodes)
		leaver := nodes[3]
		// Topology updates are batched: a member that joins and leaves within
		// one TopologyEmitInterval appears in neither set. Wait until the
		// first node has published a view with the leaver in it.
		var seen []string
		published := false
		within(t, convergeLimit, 10*time.Millisecond, func() bool {
			for {
				select {
				case e := <-events:
					seen = append(seen, describe(e))
					if e.Topology != nil {
						published = slices.ContainsFunc(e.Topology.Members, func(r core.NodeRecord) bool { return r.Authority == leaver.Addr() })
					}
				default:
					return published
				}
			}
		}, "no topology update with the leaver; seen:\n%s", strings.Join(seen, "\n"))
		seen = nil
		require.NoError(t, leaver.Leave(t.Context()))
		require.NoError(t, leaver.Close())
		rest := nodes[:3]
		within(t, convergeLimit, 10*time.Millisecond, func() bool {
			for _, n := range rest {
				if statusOf(n, leaver.Addr()) != core.StatusRemoved {
					return false
				}
			}
			return true
		}, "leaver not Removed everywhere: %s", views(rest))

		// nodes[0]'s subscriber saw the member event and a topology update
		// naming the leaver as left, never as dead.
		var sawRemoved, sawLeft bool
		within(t, convergeLimit, 10*time.Millisecond, func() bool {
			for {
				select {
				case e := <-events:
					seen = append(seen, describe(e))
					if e.Member != nil && e.Member.Record.Authority == leaver.Addr() {
						assert.NotEqual(t, core.StatusDead, e.Member.To)
						sawRemoved = sawRemoved || e.Member.To == core.StatusRemoved
					}
					if e.Topology != nil {
						assert.NotContains(t, e.Topology.Dead, leaver.Addr())
						sawLeft = sawLeft || contains(e.Topology.Left, leaver.Addr())
					}
				default:
					return sawRemoved && sawLeft
				}
			}
		}, "events about %s: removed=%v left=%v; seen:\n%s", leaver.Addr(), sawRemoved, sawLeft, strings.Join(seen, "\n"))
		// After Leave the node still reports its last view.
		assert.Equal(t, core.StatusLeaving, leaver.LocalNode().Status)
		assert.NotEmpty(t, leaver.Members())
	})
}

func TestJoinWaitsUntilUp(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		net := newMemNetwork()
		a := startMemNode(t, net, localConfig("a", "127.0.0.1:0"))
		b := startMemNode(t, net, localConfig("b", "127.0.0.1:0"))
		require.NoError(t, b.Join(t.Context(), a.Addr()))
		assert.Equal(t, core.StatusUp, b.LocalNode().Status)
		convergeWithin(t, convergeLimit, []*Node{a, b})

		// Joining a seed nobody listens on times out with ctx's error.
		c := startMemNode(t, net, localConfig("c", "127.0.0.1:0", "127.0.0.1:1"))
		short, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		require.ErrorIs(t, c.Join(short), context.DeadlineExceeded)
		assert.Equal(t, core.StatusJoining, c.LocalNode().Status, "a node told to join never takes itself for a cluster of one")
	})
}

func TestSlowSubscriberDoesNotStallNode(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		net := newMemNetwork()
		cfg := localConfig("watched", "127.0.0.1:0")
		cfg.EventBuffer = 1
		a := startMemNode(t, net, cfg)
		_, cancel := a.Subscribe() // never read
		defer cancel()
		fast, cancelFast := a.Subscribe()
		defer cancelFast()
		go func() {
			for range fast { // drained until cancelFast or Close closes it
			}
		}()
		nodes := []*Node{a}
		for i := range 4 {
			nodes = append(nodes, startMemNode(t, net, localConfig(fmt.Sprintf("s%d", i), "127.0.0.1:0", a.Addr())))
		}
		convergeWithin(t, convergeLimit, nodes)
		within(t, convergeLimit, 10*time.Millisecond, func() bool { return a.Stats().EventsDropped > 0 }, "drops not counted")
		s := a.Stats()
		assert.Equal(t, 2, s.Subscribers)
		assert.Positive(t, s.EventsDelivered)
	})
}

func TestClientObservesWithoutJoining(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		net := newMemNetwork()
		nodes := startMemCluster(t, net, 3)
		cfg := localConfig("observer", "127.0.0.1:0", nodes[0].Addr())
		cfg.Client = true
		obs := startMemNode(t, net, cfg)
		require.NoError(t, obs.Join(t.Context()))
		within(t, convergeLimit, 10*time.Millisecond, func() bool {
			for _, n := range nodes {
				if statusOf(obs, n.Addr()) != core.StatusUp {
					return false
				}
			}
			return true
		}, "the client does not see every member: %s", views([]*Node{obs}))
		// A while later, still no record of it anywhere.
		advance(time.Second)
		for _, n := range nodes {
			assert.Zero(t, statusOf(n, obs.Addr()), "a client has no record in the members' tables")
		}
		assert.Zero(t, obs.LocalNode().Status)
	})
}

func TestDeniedSourceNeverReachesCoordinator(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		net := newMemNetwork()
		cfg := localConfig("guarded", "127.0.0.1:0")
		cfg.Transport.Filter.Deny = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
		guarded := startMemNode(t, net, cfg)
		intruder := startMemNode(t, net, localConfig("intruder", "127.0.0.2:0", guarded.Addr()))

		within(t, convergeLimit, 10*time.Millisecond, func() bool { return guarded.Stats().Transport.DroppedFiltered >= 3 },
			"join requests of the denied source not counted as filtered")
		s := guarded.Stats()
		assert.Zero(t, s.Driver.Received, "nothing reached the coordinator")
		assert.Zero(t, s.Transport.DroppedDecodeError, "filtered datagrams are not decoded")
		assert.Zero(t, statusOf(guarded, intruder.Addr()))
		assert.Equal(t, core.StatusJoining, intruder.LocalNode().Status, "the intruder never got an answer")
	})
}

func TestBadDatagramsAreDroppedAndNodeKeepsWorking(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		net := newMemNetwork()
		nodes := startMemCluster(t, net, 2)
		target := nodes[0]
		before := target.Stats().Transport

		const from = "127.0.0.1:6666"
		oversize := make([]byte, defaultDatagramBytes+100)
		copy(oversize, encodeEnvelopeMust(t, "test", testMessage("10.9.9.9:7946", 1)))
		net.inject(from, target.Addr(), oversize)
		net.inject(from, target.Addr(), []byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02})
		net.inject(from, target.Addr(), encodeEnvelopeMust(t, "another-cluster", testMessage("10.9.9.9:7946", 1)))

		within(t, convergeLimit, 10*time.Millisecond, func() bool {
			s := target.Stats().Transport
			return s.DroppedOversize > before.DroppedOversize && s.DroppedDecodeError > before.DroppedDecodeError &&
				s.DroppedWrongLabel > before.DroppedWrongLabel
		}, "bad datagrams not all counted: %+v", target.Stats().Transport)
		s := target.Stats().Transport
		assert.Equal(t, before.DroppedOversize+1, s.DroppedOversize)
		assert.Equal(t, before.DroppedDecodeError+1, s.DroppedDecodeError)
		assert.Equal(t, before.DroppedWrongLabel+1, s.DroppedWrongLabel)

		// The node still works: a newcomer joins through it.
		late := startMemNode(t, net, localConfig("late", "127.0.0.1:0", target.Addr()))
		convergeWithin(t, convergeLimit, append(nodes, late))
	})
}

// TestSubscriptionsCloseOnClose: cancel closes a subscription's channel
// (after the events already in its buffer), Close closes every one, and a
// subscription to a closed node is closed at once. In a bubble, a channel
// left open would deadlock the range loops below, and fail the test.
func TestSubscriptionsCloseOnClose(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		a := startMemNode(t, newMemNetwork(), localConfig("a", "127.0.0.1:0"))
		ch, cancel := a.Subscribe()
		cancel()
		cancel()       // twice is fine
		for range ch { // the events already buffered, then the end
		}
		ch2, _ := a.Subscribe()
		require.NoError(t, a.Close())
		require.NoError(t, a.Close())
		for range ch2 {
		}
		ch3, _ := a.Subscribe()
		_, open := <-ch3
		assert.False(t, open, "subscribing to a closed node gives a closed channel")
	})
}
