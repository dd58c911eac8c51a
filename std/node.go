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
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// nodeTransport is what a Node needs of its transport: std's UDP transport,
// or an in-memory one in tests (see start).
type nodeTransport interface {
	core.GossipTransport
	// AdvertiseAddr is the "ip:port" other members reach this node at.
	AdvertiseAddr() string
	// LocalAddr is the bound address; its family decides how seed host
	// names resolve.
	LocalAddr() netip.AddrPort
	// Stats returns the transport's counters.
	Stats() TransportStats
	// Close stops the transport and returns once its goroutines have exited.
	Close() error
}

// listenFunc opens a Node's transport from the validated cfg.
type listenFunc func(cfg TransportConfig, decode decodeLimits, log *slog.Logger) (nodeTransport, error)

// listenUDP is Start's listenFunc: a UDP socket.
func listenUDP(cfg TransportConfig, decode decodeLimits, log *slog.Logger) (nodeTransport, error) {
	return newUDPTransport(cfg, decode, log)
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
	// loop's ticks ran: in total, at worst and last. A tick's lag is how
	// late its step began: it grows when the loop is held up (a slow step,
	// the Go scheduler, a paused process).
	TickLagTotal, TickLagMax, LastTickLag time.Duration
	// EventsDelivered counts events handed to subscribers.
	EventsDelivered uint64
	// EventsDropped counts events lost because a subscriber's buffer was full.
	EventsDropped uint64
	// Subscribers is the number of open subscriptions.
	Subscribers int
}

// Node is a running cluster member: a UDP transport, a coordinator and the
// gossip loop that drives them. Start one with Start; all methods are safe
// for concurrent use.
type Node struct {
	transport nodeTransport
	gossiper  *gossiper
	log       *slog.Logger
	bufSize   int

	mu        sync.Mutex
	subs      map[uint64]chan core.Event
	nextSub   uint64
	closed    bool
	delivered atomic.Uint64
	dropped   atomic.Uint64
}

// Start validates cfg (see Config.Validate), binds the transport, starts
// the protocol and, when cfg.Seeds is not empty, sends join requests to
// them (retried until one answers; use Join to wait for that). Errors wrap
// core.ErrInvalidConfig for a bad config.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	return start(ctx, cfg, listenUDP)
}

// start is Start over the transport listen opens: tests pass an in-memory
// network to run nodes in virtual time.
func start(ctx context.Context, cfg Config, listen listenFunc) (*Node, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	set, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cc := set.core
	if cc.NodeID == "" {
		cc.NodeID = randomNodeID()
	}
	if cc.Rand == nil {
		cc.Rand = rand.New(rand.NewPCG(randomUint64(), randomUint64()))
	}
	bindIP, _, _ := parseBindAddr(cfg.Transport.BindAddr)
	seeds, err := resolveSeeds(ctx, cfg.Seeds, bindIP)
	if err != nil {
		return nil, err
	}

	t, err := listen(cfg.Transport, set.decode, log)
	if err != nil {
		return nil, err
	}
	cc.Authority = t.AdvertiseAddr()
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
	g, err := newGossiper(gossiperConfig{TickInterval: set.tick, Client: cfg.Client, Logger: log}, coord, t, core.EventSinkFunc(n.publish))
	if err != nil {
		t.Close()
		return nil, err
	}
	n.gossiper = g
	// With no seeds, a member is Up at once; with seeds, join requests go out
	// and are retried by the coordinator.
	if err := g.Start(ctx, seeds); err != nil {
		t.Close()
		return nil, err
	}
	n.log.Info("started", "seeds", seeds, "tick", set.tick)
	return n, nil
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
// socket. Members and LocalNode keep returning the last view. Leaving a
// node that has already left or closed fails with ErrNotRunning.
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

// Members returns copies of the records of the cluster's active members
// (Joining, Up, Suspect and Leaving: core.NodeStatus.IsActive), this node
// included while it is a member, sorted by authority. After Leave or Close
// it returns the last view.
func (n *Node) Members() []core.NodeRecord {
	all := n.Records()
	active := all[:0] // all is this call's own copy
	for _, r := range all {
		if r.Status.IsActive() {
			active = append(active, r)
		}
	}
	return active
}

// Records returns copies of every record this node holds, sorted by
// authority: the active members and the tombstones of those that left
// (Removed) or failed (Dead), kept for core.Config.TombstoneRetention so
// that late gossip cannot bring them back.
func (n *Node) Records() []core.NodeRecord {
	r, err := n.gossiper.Records()
	if err != nil {
		n.log.Debug("records", "err", err)
	}
	return r
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
