package std

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// DefaultEventBuffer is the default buffer of each subscription.
const DefaultEventBuffer = 256

// Config configures a Node. Only BindAddr is usually needed (and Seeds to
// join a cluster); everything else has a default.
type Config struct {
	// NodeID identifies this instance; empty picks a random one. Use a new
	// one on every restart.
	NodeID string
	// BindAddr is the UDP address to listen on ("ip:port", ":port"); it
	// overrides Transport.BindAddr when set. Port 0 picks a free port.
	BindAddr string
	// AdvertiseAddr is the "ip:port" other members reach this node at; it
	// overrides Transport.AdvertiseAddr when set. Default: the bound address.
	AdvertiseAddr string
	// Label is the cluster label; it overrides Transport.Label when set.
	Label string
	// Keyring authenticates and encrypts every datagram (see Keyring); it
	// overrides Transport.Keyring when set. Without one the cluster is open
	// to anyone who can reach its port. To turn encryption on in a running
	// cluster, set the keyring's PlaintextPolicy before Start.
	Keyring *Keyring
	// Seeds are members to join at start ("host:port"; host names are
	// resolved once, at Start). A seed equal to this node is ignored.
	Seeds []string
	// Meta is this node's user metadata (at most Core.MaxMetadataBytes); it
	// overrides Core.Meta when set.
	Meta []byte
	// Core holds the protocol's tunables. When every timing and size field is
	// zero, core.DefaultLANConfig() is used. Start fills in NodeID, Authority
	// (the advertised address), Rand (randomly seeded when nil), Logger and
	// MaxMessageBytes (MaxDatagramBytes - EnvelopeOverhead(Label), less
	// SealOverhead with a keyring).
	Core core.Config
	// Transport configures the UDP transport; zero fields take the values
	// of DefaultTransportConfig. Its Decode.MaxMetaBytes defaults to
	// Core.MaxMetadataBytes.
	Transport TransportConfig
	// TickInterval is how often the gossiper steps; default a quarter of the
	// smaller of Core.GossipInterval and Core.HeartbeatInterval, at least 1 ms.
	// Negative is an error.
	TickInterval time.Duration
	// EventBuffer is the buffer of each subscription (default
	// DefaultEventBuffer); a subscriber that lets it fill loses events, which
	// are counted in NodeStats.EventsDropped.
	EventBuffer int
	// Client makes the node an observer: it follows the membership without a
	// record of its own.
	Client bool
	// Logger receives the node's logs; nil discards them.
	Logger *slog.Logger
}

// NodeStats gathers every counter of a node.
type NodeStats struct {
	// Transport counts datagrams sent, received and dropped.
	Transport TransportStats
	// Driver counts steps, messages handled and sent, events published.
	Driver core.DriverStats
	// Coordinator counts protocol activity.
	Coordinator core.CoordinatorStats
	// TickLagTotal, TickLagMax and LastTickLag are how late the gossip
	// loop's ticks ran: in total, at worst and last (see GossiperStats).
	TickLagTotal, TickLagMax, LastTickLag time.Duration
	// EventsDelivered counts events handed to subscribers.
	EventsDelivered uint64
	// EventsDropped counts events lost because a subscriber's buffer was full.
	EventsDropped uint64
	// Subscribers is the number of open subscriptions.
	Subscribers int
}

// Node is a running cluster member: a UDP transport, a coordinator and the
// gossiper that drives them. Start one with Start; all methods are safe for
// concurrent use.
type Node struct {
	transport *UDPTransport
	gossiper  *Gossiper
	log       *slog.Logger
	bufSize   int

	mu        sync.Mutex
	subs      map[uint64]chan core.Event
	nextSub   uint64
	closed    bool
	delivered atomic.Uint64
	dropped   atomic.Uint64
}

// Start validates cfg, binds the transport, starts the protocol and, when
// cfg.Seeds is not empty, sends join requests to them (retried until one
// answers; use Join to wait for that). Errors wrap core.ErrInvalidConfig for
// a bad config.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.TickInterval < 0 {
		return nil, fmt.Errorf("%w: Config.TickInterval must be >= 0 (0 = default), got %v", core.ErrInvalidConfig, cfg.TickInterval)
	}
	if cfg.EventBuffer < 0 {
		return nil, fmt.Errorf("%w: Config.EventBuffer must be >= 0 (0 = default), got %d", core.ErrInvalidConfig, cfg.EventBuffer)
	}
	if cfg.NodeID == "" {
		cfg.NodeID = randomNodeID()
	}

	cc := coreConfig(cfg.Core)
	cc.NodeID = cfg.NodeID
	if cfg.Meta != nil {
		cc.Meta = cfg.Meta
	}
	cc.Logger = log

	tc := transportConfig(cfg.Transport)
	if cfg.BindAddr != "" {
		tc.BindAddr = cfg.BindAddr
	}
	if cfg.AdvertiseAddr != "" {
		tc.AdvertiseAddr = cfg.AdvertiseAddr
	}
	if cfg.Label != "" {
		tc.Label = cfg.Label
	}
	if cfg.Keyring != nil {
		tc.Keyring = cfg.Keyring
	}
	if tc.Logger == nil {
		tc.Logger = log
	}
	if tc.Decode.MaxMetaBytes == 0 && cc.MaxMetadataBytes > 0 {
		tc.Decode.MaxMetaBytes = cc.MaxMetadataBytes
	}
	if err := tc.Validate(); err != nil {
		return nil, err
	}
	cc.MaxMessageBytes = tc.maxMessageBytes()
	// Validate core before binding, with a stand-in authority of the right
	// length class, so a bad config fails without touching the network.
	probe := cc
	probe.Authority = "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"
	if probe.Rand == nil {
		probe.Rand = rand.New(rand.NewPCG(0, 0))
	}
	if err := probe.Validate(); err != nil {
		return nil, fmt.Errorf("Config.Core: %w", err)
	}
	tick := cfg.TickInterval
	if tick == 0 {
		tick = max(time.Millisecond, min(cc.GossipInterval, cc.HeartbeatInterval)/4)
	}
	bindIP, _, _ := parseBindAddr(tc.BindAddr)
	seeds, err := resolveSeeds(ctx, cfg.Seeds, bindIP)
	if err != nil {
		return nil, err
	}

	t, err := NewUDPTransport(tc)
	if err != nil {
		return nil, err
	}
	cc.Authority = t.AdvertiseAddr()
	if cc.Rand == nil {
		cc.Rand = rand.New(rand.NewPCG(randomUint64(), randomUint64()))
	}
	coord, err := core.NewMembershipCoordinator(cc)
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("Config.Core: %w", err)
	}
	n := &Node{
		transport: t,
		log:       log.With("component", "hearsay.node", "node", cc.NodeID, "addr", cc.Authority),
		bufSize:   cfg.EventBuffer,
		subs:      make(map[uint64]chan core.Event),
	}
	if n.bufSize == 0 {
		n.bufSize = DefaultEventBuffer
	}
	g, err := NewGossiper(GossiperConfig{TickInterval: tick, Client: cfg.Client, Logger: log}, coord, t, core.EventSinkFunc(n.publish))
	if err != nil {
		t.Close()
		return nil, err
	}
	n.gossiper = g
	if err := g.Start(ctx); err != nil {
		t.Close()
		return nil, err
	}
	// With no seeds, a member is Up at once; with seeds, join requests go out
	// and are retried by the coordinator.
	if err := g.Join(ctx, seeds); err != nil {
		_ = g.Halt()
		t.Close()
		return nil, fmt.Errorf("hearsay: join: %w", err)
	}
	n.log.Info("started", "seeds", seeds, "tick", tick)
	return n, nil
}

// coreConfig returns c, or the LAN preset with c's identity fields when c
// sets no tunable.
func coreConfig(c core.Config) core.Config {
	tunables := c
	tunables.NodeID, tunables.Authority, tunables.Meta, tunables.Rand, tunables.Logger = "", "", nil, nil, nil
	if !reflect.ValueOf(tunables).IsZero() {
		return c
	}
	p := core.DefaultLANConfig()
	p.NodeID, p.Authority, p.Meta, p.Rand, p.Logger = c.NodeID, c.Authority, c.Meta, c.Rand, c.Logger
	return p
}

// transportConfig fills t's zero fields from DefaultTransportConfig.
func transportConfig(t TransportConfig) TransportConfig {
	d := DefaultTransportConfig()
	if t.BindAddr == "" {
		t.BindAddr = d.BindAddr
	}
	if t.MaxDatagramBytes == 0 {
		t.MaxDatagramBytes = d.MaxDatagramBytes
	}
	if t.InboundCapacity == 0 {
		t.InboundCapacity = d.InboundCapacity
	}
	if t.OutboundCapacity == 0 {
		t.OutboundCapacity = d.OutboundCapacity
	}
	return t
}

// resolveSeeds turns "host:port" seeds into "ip:port", resolving host names
// to an address of the bound address's family when there is one (an IPv4
// socket cannot reach an IPv6 seed, nor the reverse).
func resolveSeeds(ctx context.Context, seeds []string, bind netip.Addr) ([]string, error) {
	out := make([]string, 0, len(seeds))
	for _, s := range seeds {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			out = append(out, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String())
			continue
		}
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			return nil, fmt.Errorf("%w: seed %q is not \"host:port\": %v", core.ErrInvalidConfig, s, err)
		}
		p, err := net.DefaultResolver.LookupPort(ctx, "udp", port)
		if err != nil {
			return nil, fmt.Errorf("hearsay: seed %q: %w", s, err)
		}
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil || len(ips) == 0 {
			return nil, fmt.Errorf("hearsay: seed %q: cannot resolve: %v", s, err)
		}
		ip := ips[0].Unmap()
		if bind.IsValid() && !bind.IsUnspecified() {
			for _, cand := range ips {
				if cand.Unmap().Is4() == bind.Unmap().Is4() {
					ip = cand.Unmap()
					break
				}
			}
		}
		out = append(out, netip.AddrPortFrom(ip, uint16(p)).String())
	}
	return out, nil
}

func randomUint64() uint64 {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// randomNodeID returns 16 random bytes in hex.
func randomNodeID() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// publish is the gossiper's event sink: it hands e to every subscriber
// without blocking, dropping (and counting) it for subscribers whose
// buffer is full.
func (n *Node) publish(e core.Event) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ch := range n.subs {
		select {
		case ch <- e:
			n.delivered.Add(1)
		default:
			n.dropped.Add(1)
		}
	}
}

// Subscribe returns a channel of this node's events (member status changes,
// topology updates and quarantine events, in order) and a function that
// ends the subscription and closes the channel. The channel is buffered
// (Config.EventBuffer); the node never waits for a subscriber: when the
// buffer is full, the event is dropped for that subscriber and counted in
// NodeStats.EventsDropped. Events are shared between subscribers: read
// them, do not modify them. Close also closes every subscription.
func (n *Node) Subscribe() (<-chan core.Event, func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch := make(chan core.Event, n.bufSize)
	if n.closed {
		close(ch)
		return ch, func() {}
	}
	id := n.nextSub
	n.nextSub++
	n.subs[id] = ch
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			n.mu.Lock()
			defer n.mu.Unlock()
			if c, ok := n.subs[id]; ok {
				delete(n.subs, id)
				close(c)
			}
		})
	}
}

// Join sends join requests to seeds ("host:port") and waits until this node
// is Up in the cluster (a seed answered) or ctx ends; the coordinator keeps
// retrying after ctx ends. With no seeds it waits for the seeds given to
// Start.
func (n *Node) Join(ctx context.Context, seeds ...string) error {
	resolved, err := resolveSeeds(ctx, seeds, n.transport.LocalAddr().Addr())
	if err != nil {
		return err
	}
	if len(resolved) == 0 {
		return n.gossiper.do(ctx, func(time.Time, *core.MembershipCoordinator) (core.Outcome, error) {
			return core.Outcome{}, nil
		}, n.gossiper.joined)
	}
	return n.gossiper.JoinAndWait(ctx, resolved)
}

// Leave leaves the cluster gracefully: this node's record turns Leaving and
// is gossiped until it has spread (others then hold it Removed), bounded by
// ctx; then the node stops gossiping. Call Close afterwards to release the
// socket. Members and LocalNode keep returning the last view.
func (n *Node) Leave(ctx context.Context) error {
	err := n.gossiper.Stop(ctx)
	if errors.Is(err, ErrNotRunning) {
		return fmt.Errorf("hearsay: leave: %w", err)
	}
	return err
}

// Close stops the node at once, without a graceful leave (to the others it
// has crashed; call Leave first to leave cleanly), closes the socket and
// every subscription, and returns once every goroutine has exited. Closing
// twice is a no-op.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()
	_ = n.gossiper.Halt() // ErrNotRunning after Leave: fine
	err := n.transport.Close()
	n.mu.Lock()
	for id, ch := range n.subs {
		delete(n.subs, id)
		close(ch)
	}
	n.mu.Unlock()
	return err
}

// Members returns a copy of every record this node holds, tombstones (Dead,
// Removed) included, sorted by authority.
func (n *Node) Members() []core.NodeRecord {
	m, err := n.gossiper.Members()
	if err != nil {
		n.log.Debug("members", "err", err)
	}
	return m
}

// LocalNode returns this node's own record.
func (n *Node) LocalNode() core.NodeRecord {
	r, err := n.gossiper.LocalNode()
	if err != nil {
		n.log.Debug("local node", "err", err)
	}
	return r
}

// Addr returns the address this node advertises ("ip:port").
func (n *Node) Addr() string { return n.transport.AdvertiseAddr() }

// Transport returns the node's transport (for its address and counters).
func (n *Node) Transport() *UDPTransport { return n.transport }

// Stats returns every counter of the node.
func (n *Node) Stats() NodeStats {
	gs, _ := n.gossiper.Stats()
	n.mu.Lock()
	subs := len(n.subs)
	n.mu.Unlock()
	return NodeStats{
		Transport:       n.transport.Stats(),
		Driver:          gs.Driver,
		Coordinator:     gs.Coordinator,
		TickLagTotal:    gs.TickLagTotal,
		TickLagMax:      gs.TickLagMax,
		LastTickLag:     gs.LastTickLag,
		EventsDelivered: n.delivered.Load(),
		EventsDropped:   n.dropped.Load(),
		Subscribers:     subs,
	}
}
