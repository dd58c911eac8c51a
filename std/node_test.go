package std

import (
	"context"
	"fmt"
	"net/netip"
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
	for _, m := range n.Records() {
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
		for _, m := range n.Records() {
			s += fmt.Sprintf(" %s=%s", m.NodeID, m.Status)
		}
	}
	return s
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

func TestIPv6Cluster(t *testing.T) {
	if !hasIPv6Loopback() {
		t.Skip("this host has no IPv6 loopback ([::1] cannot be bound); IPv6 is untested here")
	}
	nodes := startCluster(t, "[::1]:0", 3)
	for _, n := range nodes {
		assert.True(t, netip.MustParseAddrPort(n.Addr()).Addr().Is6())
	}
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
