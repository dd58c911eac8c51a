package std

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// Config configures a Node. Start from DefaultConfig and change what you
// need:
//
//	cfg := std.DefaultConfig() // core.DefaultLANConfig() over UDP on :7946
//	cfg.Core.NodeID = "a"
//	cfg.Transport.BindAddr = "10.0.0.1:7946"
//	cfg.Seeds = []string{"10.0.0.2:7946"}
//
// Every setting has one place: this node's identity and the protocol's
// tunables in Core, the socket in Transport, the rest here. No field stands
// for another, and no zero value is replaced by a default: Start (and
// Validate) rejects what it cannot use with an error wrapping
// core.ErrInvalidConfig that names the field.
type Config struct {
	// Core is this node's identity (NodeID, Meta) and the protocol's
	// tunables. DefaultConfig sets core.DefaultLANConfig();
	// core.DefaultWANConfig and core.DefaultLocalConfig are the other
	// presets. Start fills in what only it knows:
	//   - Authority is the transport's advertised address: leave it empty
	//     (Transport.AdvertiseAddr chooses it);
	//   - an empty NodeID becomes 16 random bytes in hex, and a nil Rand a
	//     randomly seeded source.
	// A message must fit both Core.MaxMessageBytes and a datagram: the
	// coordinator gets the smaller of Core.MaxMessageBytes and what a
	// datagram of Transport holds, MaxMessageBytes(Transport.MaxDatagramBytes,
	// Transport.Label), less SealOverhead with a keyring.
	Core core.Config
	// Transport configures the UDP socket: addresses, cluster label,
	// keyring, datagram size, queues and source filter.
	Transport TransportConfig
	// Seeds are members to join at Start ("host:port", the port a number).
	// Start sends them join requests, retried every Core.JoinRetryInterval
	// until one answers (Node.Join waits for that; Node.JoinState says how
	// it goes). A host name is resolved on every attempt, with Resolver,
	// and every address it resolves to (of the socket's IP family) is a
	// seed: a name that does not resolve yet (a Kubernetes headless service
	// before its first pod is ready) is logged and tried again, while the
	// other seeds are used. Empty starts a new cluster. A seed equal to this
	// node is ignored.
	Seeds []string
	// Resolver resolves the seeds' host names; DefaultConfig sets
	// net.DefaultResolver. It may be nil when every seed is an IP address.
	Resolver Resolver
	// EventBuffer is the buffer of each subscription, >= 1; a subscriber
	// that lets it fill loses events, which are counted in
	// NodeStats.EventsDropped. DefaultConfig sets 256.
	EventBuffer int
	// Client makes the node an observer: it follows the membership without a
	// record of its own.
	Client bool
	// Logger receives the logs of the node, its transport and its gossip
	// loop; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns the LAN preset (core.DefaultLANConfig) over UDP on
// 0.0.0.0:7946 with 1400-byte datagrams, 1024-message queues and no label
// or keyring, an EventBuffer of 256, and no seeds.
func DefaultConfig() Config {
	return Config{
		Core:        core.DefaultLANConfig(),
		Transport:   defaultTransportConfig(),
		Resolver:    net.DefaultResolver,
		EventBuffer: defaultEventBuffer,
	}
}

// defaultEventBuffer is DefaultConfig's EventBuffer.
const defaultEventBuffer = 256

// Validate checks every field as Start does, without binding a socket or
// resolving seeds, and returns an error wrapping core.ErrInvalidConfig that
// names the first bad field, or nil.
func (c *Config) Validate() error {
	_, err := c.settings()
	return err
}

// nodeSettings is what Start derives from a Config before binding.
type nodeSettings struct {
	// core is Config.Core with MaxMessageBytes bounded by the datagram;
	// NodeID, Authority and Rand are still the caller's.
	core core.Config
	// decode bounds what the transport accepts; its MaxMetaBytes is
	// Core.MaxMetadataBytes.
	decode decodeLimits
	// tick is the gossip loop's TickInterval, the longest it goes without a
	// step: a floor under the loop, which wakes on arrivals and at the
	// coordinator's NextDeadline (never later than twice the smaller of
	// HeartbeatInterval and GossipInterval after the last call): the larger
	// of the two intervals, at least a second. A ticker at the smaller
	// interval woke an idle agent more often than needed, beside the
	// deadline timer (docs/FAILURE-DETECTION.md has the CPU figures).
	tick time.Duration
	// seeds are Seeds, parsed.
	seeds []seed
}

// settings validates c and derives what Start needs from it.
func (c *Config) settings() (nodeSettings, error) {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: Config.%s %s", core.ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if c.Core.Authority != "" {
		return nodeSettings{}, bad("Core.Authority", "must be empty: Start sets it to the transport's advertised address (choose it with Transport.AdvertiseAddr), got %q", c.Core.Authority)
	}
	if err := c.Transport.validate(); err != nil {
		return nodeSettings{}, err
	}
	if c.EventBuffer < 1 {
		return nodeSettings{}, bad("EventBuffer", "must be >= 1, got %d", c.EventBuffer)
	}
	seeds, err := parseSeeds("Config.Seeds", c.Seeds)
	if err != nil {
		return nodeSettings{}, err
	}
	if hasNames(seeds) && c.Resolver == nil {
		return nodeSettings{}, bad("Resolver", "is nil, and a seed is a host name")
	}
	cc := c.Core
	cc.MaxMessageBytes = min(cc.MaxMessageBytes, c.Transport.maxMessageBytes())
	// Validate core with stand-ins for what Start fills in, the authority of
	// the longest form, so that a bad config fails before the socket is bound.
	probe := cc
	probe.Authority = "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"
	if probe.NodeID == "" {
		probe.NodeID = randomNodeID()
	}
	if probe.Rand == nil {
		probe.Rand = rand.New(rand.NewPCG(0, 0))
	}
	if err := probe.Validate(); err != nil {
		return nodeSettings{}, fmt.Errorf("Config.Core: %w", err)
	}
	decode := defaultDecodeLimits()
	decode.MaxMetaBytes = cc.MaxMetadataBytes
	decode.MaxPayloadBytes = cc.MaxPayloadBytes
	return nodeSettings{
		core:   cc,
		decode: decode,
		tick:   max(cc.GossipInterval, cc.HeartbeatInterval, time.Second),
		seeds:  seeds,
	}, nil
}
