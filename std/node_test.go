package std

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// localConfig is a node config with the fast local timings on loopback.
func localConfig(id, bind string, seeds ...string) Config {
	cfg := DefaultConfig()
	cfg.Core = core.DefaultLocalConfig()
	cfg.Core.NodeID = id
	cfg.Transport.BindAddr = bind
	cfg.Transport.Label = "test"
	cfg.Seeds = seeds
	return cfg
}

func startNode(t *testing.T, cfg Config) *Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	n, err := Start(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	return n
}

// startCluster starts size nodes on bind ("127.0.0.1:0"), all seeded with
// the first, and waits until every node sees every other Up.
func startCluster(t *testing.T, bind string, size int) []*Node {
	t.Helper()
	nodes := []*Node{startNode(t, localConfig("n0", bind))}
	for i := 1; i < size; i++ {
		nodes = append(nodes, startNode(t, localConfig(fmt.Sprintf("n%d", i), bind, nodes[0].Addr())))
	}
	waitConverged(t, nodes)
	return nodes
}

// statusOf returns the status n holds for authority (0 when unknown).
func statusOf(n *Node, authority string) core.NodeStatus {
	for _, m := range n.Members() {
		if m.Authority == authority {
			return m.Status
		}
	}
	return 0
}

// waitConverged waits until every node holds every node Up.
func waitConverged(t *testing.T, nodes []*Node) {
	t.Helper()
	eventually(t, waitTimeout, func() bool {
		for _, n := range nodes {
			for _, o := range nodes {
				if statusOf(n, o.Addr()) != core.StatusUp {
					return false
				}
			}
		}
		return true
	}, "%d nodes did not converge: %s", len(nodes), views(nodes))
}

// views describes what each node sees, for failure messages.
func views(nodes []*Node) string {
	s := ""
	for _, n := range nodes {
		s += "\n  " + n.LocalNode().NodeID + ":"
		for _, m := range n.Members() {
			s += fmt.Sprintf(" %s=%s", m.NodeID, m.Status)
		}
	}
	return s
}

// These tests run nodes in virtual time (testing/synctest) over an
// in-memory network (memnet_test.go); the UDP path keeps its own tests
// (transport_test.go, and the ones below that send real datagrams) and one
// cluster smoke test, TestUDPClusterSmoke.

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

// describe renders an event for failure messages.
func describe(e core.Event) string {
	switch {
	case e.Member != nil:
		return fmt.Sprintf("member %s %s: %s -> %s", e.Member.Record.NodeID, e.Member.Record.Authority, e.Member.From, e.Member.To)
	case e.Topology != nil:
		return fmt.Sprintf("topology %d members, joined %v, left %v, dead %v", len(e.Topology.Members), e.Topology.Joined, e.Topology.Left, e.Topology.Dead)
	case e.Quarantine != nil:
		return fmt.Sprintf("quarantine %s@%d expired=%v", e.Quarantine.Authority, e.Quarantine.Incarnation, e.Quarantine.Expired)
	}
	return "empty event"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestDeniedSourceNeverReachesCoordinator(t *testing.T) {
	if c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)}); err != nil {
		t.Skipf("cannot bind 127.0.0.2 on this host: %v", err)
	} else {
		c.Close()
	}
	cfg := localConfig("guarded", "127.0.0.1:0")
	cfg.Transport.Filter.Deny = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
	guarded := startNode(t, cfg)
	intruder := startNode(t, localConfig("intruder", "127.0.0.2:0", guarded.Addr()))

	eventually(t, waitTimeout, func() bool { return guarded.Stats().Transport.DroppedFiltered >= 3 },
		"join requests of the denied source not counted as filtered")
	s := guarded.Stats()
	assert.Zero(t, s.Driver.Received, "nothing reached the coordinator")
	assert.Zero(t, s.Transport.DroppedDecodeError, "filtered datagrams are not decoded")
	assert.Zero(t, statusOf(guarded, intruder.Addr()))
	assert.Equal(t, core.StatusJoining, intruder.LocalNode().Status, "the intruder never got an answer")
}

func TestBadDatagramsAreDroppedAndNodeKeepsWorking(t *testing.T) {
	nodes := startCluster(t, "127.0.0.1:0", 2)
	target := nodes[0]
	before := target.Stats().Transport

	oversize := make([]byte, defaultDatagramBytes+100)
	copy(oversize, encodeEnvelopeMust(t, "test", testMessage("x", 1)))
	rawSend(t, target.Addr(), oversize)
	rawSend(t, target.Addr(), []byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02})
	rawSend(t, target.Addr(), encodeEnvelopeMust(t, "another-cluster", testMessage("x", 1)))

	eventually(t, waitTimeout, func() bool {
		s := target.Stats().Transport
		return s.DroppedOversize > before.DroppedOversize && s.DroppedDecodeError > before.DroppedDecodeError &&
			s.DroppedWrongLabel > before.DroppedWrongLabel
	}, "bad datagrams not all counted: %+v", target.Stats().Transport)
	s := target.Stats().Transport
	assert.Equal(t, before.DroppedOversize+1, s.DroppedOversize)
	assert.Equal(t, before.DroppedDecodeError+1, s.DroppedDecodeError)
	assert.Equal(t, before.DroppedWrongLabel+1, s.DroppedWrongLabel)

	// The node still works: a newcomer joins through it.
	late := startNode(t, localConfig("late", "127.0.0.1:0", target.Addr()))
	waitConverged(t, append(nodes, late))
}

func TestIPv6Cluster(t *testing.T) {
	if !hasIPv6Loopback() {
		t.Skip("this host has no IPv6 loopback ([::1] cannot be bound); IPv6 is untested here")
	}
	nodes := startCluster(t, "[::1]:0", 3)
	for _, n := range nodes {
		assert.True(t, netip.MustParseAddrPort(n.Addr()).Addr().Is6())
	}
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

func TestSubscriptionsCloseOnClose(t *testing.T) {
	a := startNode(t, localConfig("a", "127.0.0.1:0"))
	ch, cancel := a.Subscribe()
	cancel()
	cancel() // twice is fine
	_, open := <-ch
	assert.False(t, open, "cancel closes the channel")
	ch2, _ := a.Subscribe()
	require.NoError(t, a.Close())
	require.NoError(t, a.Close())
	for range ch2 {
	}
	ch3, _ := a.Subscribe()
	_, open = <-ch3
	assert.False(t, open, "subscribing to a closed node gives a closed channel")
}

func TestStartRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"event buffer", func(c *Config) { c.EventBuffer = -1 }, "Config.EventBuffer"},
		{"event buffer zero", func(c *Config) { c.EventBuffer = 0 }, "Config.EventBuffer"},
		{"bind", func(c *Config) { c.Transport.BindAddr = "nowhere" }, "Config.Transport.BindAddr"},
		{"label", func(c *Config) { c.Transport.Label = string(make([]byte, 300)) }, "Config.Transport.Label"},
		{"core", func(c *Config) { c.Core.PhiThreshold = -1 }, "PhiThreshold"},
		{"core zero", func(c *Config) { c.Core = core.Config{} }, "Config.Core"},
		{"authority", func(c *Config) { c.Core.Authority = "127.0.0.1:7946" }, "Config.Core.Authority"},
		{"meta", func(c *Config) { c.Core.Meta = make([]byte, 10000) }, "Meta"},
		{"datagram", func(c *Config) { c.Transport.MaxDatagramBytes = 100 }, "Config.Transport.MaxDatagramBytes"},
		{"transport zero", func(c *Config) { c.Transport = TransportConfig{BindAddr: "127.0.0.1:0"} }, "Config.Transport.MaxDatagramBytes"},
		{"seed", func(c *Config) { c.Seeds = []string{"no-port"} }, "Config.Seeds[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Transport.BindAddr = "127.0.0.1:0"
			tt.mod(&cfg)
			err := cfg.Validate()
			require.ErrorIs(t, err, core.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.want)
			n, err := Start(context.Background(), cfg)
			require.Error(t, err)
			assert.Nil(t, n)
			assert.ErrorIs(t, err, core.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestConfigOneWayToSetEach: each setting of DefaultConfig is used as set,
// and changing one timing keeps every other value of the preset (no rule
// swaps the whole preset behind the caller's back).
func TestConfigOneWayToSetEach(t *testing.T) {
	cfg := DefaultConfig()
	assert.Equal(t, core.DefaultLANConfig(), cfg.Core, "DefaultConfig holds the LAN preset as is")
	require.NoError(t, cfg.Validate())

	cfg.Core.GossipInterval = 300 * time.Millisecond
	set, err := cfg.settings()
	require.NoError(t, err)
	want := core.DefaultLANConfig()
	want.GossipInterval = 300 * time.Millisecond
	assert.Equal(t, want, set.core, "one timing changed, the rest of the preset kept")
	assert.Equal(t, want.MaxMetadataBytes, set.decode.MaxMetaBytes, "the decoder takes the metadata bound from Core")

	// Both Core.MaxMessageBytes and the datagram bound a message: the
	// coordinator gets the smaller.
	cfg.Core.MaxMessageBytes = 100000
	set, err = cfg.settings()
	require.NoError(t, err)
	assert.Equal(t, MaxMessageBytes(cfg.Transport.MaxDatagramBytes, ""), set.core.MaxMessageBytes)
	cfg.Transport.Label = "prod"
	cfg.Transport.Keyring = mustKeyring(t, testKey(1))
	set, err = cfg.settings()
	require.NoError(t, err)
	assert.Equal(t, MaxMessageBytes(cfg.Transport.MaxDatagramBytes, "prod")-SealOverhead, set.core.MaxMessageBytes)
	cfg.Core.MaxMessageBytes = 700
	set, err = cfg.settings()
	require.NoError(t, err)
	assert.Equal(t, 700, set.core.MaxMessageBytes)
}

func TestStartDefaults(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Transport.BindAddr = "127.0.0.1:0"
	n := startNode(t, cfg)
	local := n.LocalNode()
	assert.Len(t, local.NodeID, 32, "random node ID")
	assert.Equal(t, n.Addr(), local.Authority, "authority is the bound address with its real port")
	assert.NotEqual(t, "127.0.0.1:0", n.Addr())
	assert.Equal(t, core.StatusUp, local.Status, "a node without seeds is Up alone")
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

// TestUDPClusterSmoke runs the whole path on real sockets on 127.0.0.1:
// three nodes converge, one leaves gracefully and is seen Removed, one
// crashes and is seen Dead.
func TestUDPClusterSmoke(t *testing.T) {
	nodes := startCluster(t, "127.0.0.1:0", 3)
	for _, n := range nodes {
		assert.Len(t, n.Members(), 3)
		s := n.Stats()
		assert.Positive(t, s.Transport.DatagramsSent)
		assert.Positive(t, s.Transport.Delivered)
		assert.Positive(t, s.Driver.Received)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	leaver, crashed, watcher := nodes[1], nodes[2], nodes[0]
	require.NoError(t, leaver.Leave(ctx))
	require.NoError(t, leaver.Close())
	require.NoError(t, crashed.Close())
	eventually(t, waitTimeout, func() bool {
		return statusOf(watcher, leaver.Addr()) == core.StatusRemoved && statusOf(watcher, crashed.Addr()) == core.StatusDead
	}, "the leaver is not Removed and the crashed node not Dead: %s", views([]*Node{watcher}))
}

func TestSeedHostNamesResolveToTheSocketFamily(t *testing.T) {
	a := startNode(t, localConfig("a", "127.0.0.1:0"))
	port := netip.MustParseAddrPort(a.Addr()).Port()
	b := startNode(t, localConfig("b", "127.0.0.1:0", fmt.Sprintf("localhost:%d", port)))
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(t, b.Join(ctx))
	waitConverged(t, []*Node{a, b})
}
