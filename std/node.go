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
	// watched counts what becomes of the datagrams of the sources the node
	// watches (its seeds' addresses while it joins).
	watched() *sourceWatch
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
	// LocalHealth is the node's Lifeguard local-health score: 0 when it
	// believes itself healthy, higher (up to Core.MaxLocalHealth) when it
	// hears nothing, has to refute suspicions of itself, or stalls; it then
	// waits that many times longer before accusing anyone.
	LocalHealth int
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
	joiner    *joiner
	resolver  Resolver
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
// them, retried until one answers (use Join to wait for that, JoinState to
// see how it goes). Seed names are resolved on every attempt, never at
// Start: a name that does not resolve yet is logged and tried again, and
// Start does not fail for it. Errors wrap core.ErrInvalidConfig for a bad
// config.
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
		resolver:  cfg.Resolver,
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
	// With no seeds, a member is Up at once. With seeds, the join starts
	// with the IP literals among them (none: it waits, Joining, for the
	// names to resolve) before the first poll; the joiner resolves the
	// names at once and on every later attempt.
	join := handleJoin(nil)
	var literals []string
	if len(set.seeds) > 0 {
		for _, s := range set.seeds {
			if s.ip.IsValid() {
				literals = append(literals, netip.AddrPortFrom(s.ip, s.port).String())
			}
		}
		join = func(now time.Time, c *core.MembershipCoordinator) (core.Outcome, error) {
			return c.SetSeeds(now, literals)
		}
	}
	since := time.Now()
	if err := g.Start(ctx, join); err != nil {
		t.Close()
		return nil, err
	}
	n.log.Info("started", "seeds", seedTexts(set.seeds), "tick", set.tick)
	n.joiner = newJoiner(joinerConfig{
		g: g, watch: t.watched(), resolver: cfg.Resolver, bind: bindIP, seeds: set.seeds,
		retry: cc.JoinRetryInterval, probe: cc.ReconnectInterval,
		label: cfg.Transport.Label, keyring: cfg.Transport.Keyring, log: n.log,
	}, since, literals)
	return n, nil
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

// publish is the gossiper's event sink: it logs conflicts, and hands e to
// every subscriber without blocking, dropping (and counting) it for
// subscribers whose buffer is full.
func (n *Node) publish(e core.Event) {
	if m := e.Member; m != nil && m.Conflict {
		n.logConflict(m)
	}
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

// logConflict logs a conflict at Warn level (see core.MemberEvent.Conflict):
// one node ID at two addresses, logged by every node that sees both, or this
// node's own address taken over by a newer instance.
func (n *Node) logConflict(m *core.MemberEvent) {
	r, o := m.Record, m.Other
	if r.Authority == o.Authority {
		n.log.Warn("conflict: a newer instance took this node's address over; this node stops",
			"winner", o.NodeID, "winner_incarnation", o.Incarnation)
		return
	}
	n.log.Warn("conflict: one node ID is active at two addresses; both stay members, the application decides",
		"node_id", r.NodeID, "at", r.Authority, "and_at", o.Authority)
}

// Subscribe returns a channel of this node's events (member changes —
// status changes, metadata updates, conflicts —, topology updates,
// quarantine events and the application messages delivered here, SendTo's
// and Broadcast's, in order; see core.Event) and a function that
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

// Join makes seeds ("host:port", as Config.Seeds) this node's seeds, sends
// them join requests at once (to every address of a name), and waits until
// this node has joined (a seed answered) or ctx ends; the node keeps
// retrying after ctx ends, resolving names again at every attempt. With no
// seeds it waits for the seeds given to Start. A seed that is not
// "host:port" fails at once (core.ErrInvalidConfig); one whose name does not
// resolve is logged and tried again. When ctx ends first, the error wraps
// ctx's and, if the join is late, says what was tried (JoinState.Problem).
func (n *Node) Join(ctx context.Context, seeds ...string) error {
	if len(seeds) > 0 {
		parsed, err := parseSeeds("seeds", seeds)
		if err != nil {
			return err
		}
		if hasNames(parsed) && n.resolver == nil {
			return fmt.Errorf("%w: a seed is a host name and Config.Resolver is nil", core.ErrInvalidConfig)
		}
		if err := n.joiner.join(ctx, parsed); err != nil {
			return err
		}
	}
	err := n.gossiper.do(ctx, func(time.Time, *core.MembershipCoordinator) (core.Outcome, error) {
		return core.Outcome{}, nil
	}, n.gossiper.joined)
	if err != nil && ctx.Err() != nil {
		if p := n.JoinState().Problem; p != "" {
			return fmt.Errorf("hearsay: join: %w: %s", err, p)
		}
	}
	return err
}

// JoinState says whether and when this node joined its cluster and, while
// it has not, what it tried: the seeds' addresses, the attempts and, once
// the join is late, the likely cause.
func (n *Node) JoinState() JoinState {
	s, base := n.joiner.snapshot()
	s.Joined, _ = n.gossiper.Joined()
	if !s.Joined.IsZero() {
		s.Problem = ""
	}
	if st, err := n.gossiper.Stats(); err == nil && st.Coordinator.JoinAttempts >= base {
		s.Attempts = st.Coordinator.JoinAttempts - base
	}
	return s
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
	n.joiner.stop()
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
		LocalHealth:     gs.LocalHealth,
		EventsDelivered: n.delivered.Load(),
		EventsDropped:   n.dropped.Load(),
		Subscribers:     subs,
	}
}
