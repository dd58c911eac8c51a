package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// Options configures a Cluster. The zero value of every field but Nodes picks
// a sensible default.
type Options struct {
	// Nodes is the number of node slots the cluster starts with (none of them
	// running yet: see Start, Join and Bootstrap). AddNode adds more later.
	Nodes int
	// Seed makes the run reproducible: the network, the scripts (Rand), the
	// node IDs and every node's Config.Rand derive from it.
	Seed uint64
	// Config is the template of every node's configuration; NodeID, Authority
	// and Rand are filled in per node. A zero Config (HeartbeatInterval == 0)
	// means core.DefaultLANConfig().
	Config core.Config
	// Tick is how often each node is polled, in virtual time. Each node gets
	// its own phase so that nodes do not act in lockstep. Zero means a quarter
	// of the smaller of GossipInterval and HeartbeatInterval, clamped to
	// [10ms, 50ms].
	Tick time.Duration
	// Delay is the base one-way network delay; each message takes Delay plus a
	// uniform random jitter in [0, Jitter]. Zero Delay and Jitter mean 1ms and
	// 1ms; set NoDelay for instantaneous delivery (still after the sender's
	// step, in order).
	Delay, Jitter time.Duration
	// NoDelay makes every message arrive with no delay at all.
	NoDelay bool
	// Loss is the probability that any one message is lost (see also
	// Cluster.SetLinkLoss).
	Loss float64
	// MTU drops (and counts, see NetStats.Oversize) every message whose
	// core.EstimateSize exceeds it. Zero means Config.MaxMessageBytes.
	MTU int
	// Start is the virtual time at which the run begins. Zero means
	// 2025-01-01T00:00:00Z.
	Start time.Time
	// Authority names node slot i. Nil means "10.a.b.c:7946" with a.b.c the
	// slot number plus one.
	Authority func(i int) string
	// RecordEvents keeps every member event of every node (see Events). Off,
	// only the summaries of Marked and MarkTimes are kept, which is enough for
	// most tests and much lighter at 1,000 nodes.
	RecordEvents bool
	// OnEvent, if set, is called with every member event as it is emitted, with
	// the slot of the node that emitted it.
	OnEvent func(node int, ev core.MemberEvent)
	// OnOutcome, if set, is called with every Outcome a node's coordinator
	// returns (its start, every message it handles, every poll, and the
	// operator calls made through the cluster: Leave, Quarantine), with the
	// slot of the node, before its messages are sent: the topology updates
	// and quarantine events are only seen here.
	OnOutcome func(node int, o core.Outcome)
	// Workers is how many parts the nodes' coordinators are split into to
	// run on several goroutines: above 1, the deliveries and polls due
	// within the network's base delay (and a tick) of one another are run
	// as Workers functions handed to RunParallel, and the rest of the run
	// on the calling goroutine. The run is the same, event for event,
	// whatever the number of workers. OnEvent, OnOutcome and NoDelay make
	// the cluster run on one goroutine. Zero means 1. A Config.Admit hook,
	// if any, must then be safe for concurrent use.
	Workers int
	// RunParallel runs every function it is given, at the same time or
	// not, and returns once all of them have returned. It is required when
	// Workers is above 1: like the rest of core, the simulator never
	// starts a goroutine itself, so the caller decides how the work is
	// spread (hearsay-sim starts one goroutine per function).
	RunParallel func(fns ...func())
}

// NodeStats counts one node slot's traffic (over all of its instances). Sizes
// are core.EstimateSize of each message.
type NodeStats struct {
	MsgsSent, BytesSent uint64 // messages handed to the network (not oversize)
	MsgsRecv, BytesRecv uint64 // messages handled by the node
	Dropped             uint64 // of those it sent: lost, partitioned, unroutable or to a down node
	Oversize            uint64 // messages it tried to send over the MTU (not sent)
	Errors              uint64 // errors returned by its coordinator's handlers
}

// NetStats counts the traffic of the whole network.
type NetStats struct {
	Sent, Bytes uint64 // messages (and their estimated bytes) handed to the network
	Delivered   uint64 // messages handled by their target
	Lost        uint64 // dropped by the loss rate
	Partitioned uint64 // dropped because a partition separated sender and target
	Cut         uint64 // dropped by a link rule: a link down or flapping, a mute sender, a deaf target
	ToDown      uint64 // dropped because the target was crashed, left or not started
	Unroutable  uint64 // dropped because no slot has the target authority
	Oversize    uint64 // refused because EstimateSize exceeded the MTU
	MaxSize     int    // the largest EstimateSize of any message any node tried to send
	// ByKind counts the messages sent, indexed by core.MessageKind.
	ByKind [16]uint64
	// Errors counts errors returned by coordinators (handlers and starts);
	// LastError is the latest of them.
	Errors    uint64
	LastError error
}

// nodeState is where a node slot stands.
type nodeState uint8

const (
	stateIdle    nodeState = iota // never started
	stateRunning                  // running (possibly paused or leaving)
	stateCrashed                  // crashed
	stateLeft                     // left gracefully and stopped
)

// node is one slot: an authority that successive instances occupy.
type node struct {
	idx       int
	authority string
	id        string // the current (or last) instance's NodeID
	gen       uint32 // bumped on every start, crash and stop: stale events are ignored
	starts    uint32 // instances started at this slot
	coord     *core.MembershipCoordinator
	state     nodeState
	client    bool
	leaving   bool
	paused    bool
	resumeAt  int64
	pending   []int32 // in-flight slots that arrived during a pause
	group     int     // partition group; messages cross only between equal groups
	phase     int64
	offset    int64 // the node's clock minus the cluster's (SetClockOffset)
	stats     NodeStats
	events    []core.MemberEvent
	eventsTo  [8]int     // member events emitted, by their To status
	delivered []delivery // broadcasts this slot delivered, kept while trackUser is set
	held      upSet      // the other slots this instance's events last put in Up
	seen      seenBits   // the NodeIDs this slot marked, by status (track.go)
	checked   viewCheck  // Converged's last answer for this instance's view
	batch     batchNode  // phase 1's view of the slot in a window (batch.go)
}

// delivery is one broadcast a slot delivered, and when.
type delivery struct {
	msg core.UserMessage
	at  int64
}

// instance is one incarnation of a slot: a NodeID.
type instance struct {
	slot      int
	crashed   bool
	crashedAt int64
	left      bool
	successor string // NodeID of the next instance at the same slot, if any
}

// inflight is a message on the wire.
type inflight struct {
	msg  core.Message
	from int32
	size int32
}

// link is a directed pair of slots.
type link struct{ from, to int32 }

// Cluster is a set of coordinators over a simulated network, in virtual time.
// It is not safe for concurrent use: like the coordinators it drives, it is a
// synchronous state machine, and a run is a single goroutine.
type Cluster struct {
	opts   Options
	cfg    core.Config
	start  time.Time
	now    int64
	tick   int64
	delay  int64
	jitter int64
	mtu    int

	q       eventQueue
	net     *rand.Rand // loss and jitter
	script  *rand.Rand // scripts: Rand, Bootstrap
	ids     *rand.Rand // node IDs
	nodes   []*node
	byAuth  map[string]int32
	flight  []inflight
	free    []int32
	actions []func()

	loss     float64
	linkLoss map[link]float64
	rules    linkRules // one-way cuts, flapping links, deaf and mute slots

	stats     NetStats
	instances map[string]*instance
	marks     map[string]*idMarks // by NodeID
	falseDead map[string]struct{}
	falseSusp map[string]struct{}
	ghosts    int
	actionErr []error

	convFrom  int      // where Converged starts looking: the last node that was not converged
	liveIDs   []string // by slot: the NodeID of each live member when Converged last looked, "" for the others
	liveGen   uint64   // steps each time Converged sees liveIDs change (viewCheck)
	drainFrom int      // where Drained starts looking: the last node that was not drained

	window  []event      // the events of the window being run (batch.go)
	results []stepResult // phase 1's results, by position in window
	parts   []func()     // phase 1's functions, one per worker, handed to RunParallel
	windows uint64       // windows run on several goroutines so far
	// minWindow is the fewest events a window runs on several goroutines
	// with (minWindowEvents; tests lower it to run every window so).
	minWindow int

	onDeliver func(from, to int32, f *inflight)     // test hook: a message reaches a running node
	onHandle  func(from, to int32, m *core.Message) // explorer hook: a running node handles a message
	onSend    func(from, to int32)                  // explorer hook: a message is put on (or dropped from) a link
	stableIDs bool                                  // node IDs derive from (seed, slot, start count) only
	trackUser bool                                  // keep every node's delivered broadcasts (the broadcast scenario)
}

// New returns a cluster of opts.Nodes idle node slots.
func New(opts Options) (*Cluster, error) {
	if opts.Nodes < 0 {
		return nil, fmt.Errorf("sim: Nodes must be >= 0, got %d", opts.Nodes)
	}
	if opts.Loss < 0 || opts.Loss > 1 {
		return nil, fmt.Errorf("sim: Loss must be in [0, 1], got %v", opts.Loss)
	}
	if opts.Tick < 0 || opts.Delay < 0 || opts.Jitter < 0 || opts.MTU < 0 || opts.Workers < 0 {
		return nil, errors.New("sim: Tick, Delay, Jitter, MTU and Workers must not be negative")
	}
	if opts.Workers > 1 && opts.RunParallel == nil {
		return nil, errors.New("sim: Workers above 1 needs RunParallel")
	}
	cfg := opts.Config
	if cfg.HeartbeatInterval == 0 {
		cfg = core.DefaultLANConfig()
	}
	if opts.Authority == nil {
		opts.Authority = defaultAuthority
	}
	check := cfg
	check.NodeID, check.Authority, check.Rand = "0123456789abcdef", opts.Authority(0), rand.New(rand.NewPCG(1, 1))
	if err := check.Validate(); err != nil {
		return nil, fmt.Errorf("sim: config template: %w", err)
	}
	tick := opts.Tick
	if tick == 0 {
		tick = min(cfg.GossipInterval, cfg.HeartbeatInterval) / 4
		tick = max(10*time.Millisecond, min(50*time.Millisecond, tick))
	}
	delay, jitter := opts.Delay, opts.Jitter
	if opts.NoDelay {
		delay, jitter = 0, 0
	} else if delay == 0 && jitter == 0 {
		delay, jitter = time.Millisecond, time.Millisecond
	}
	mtu := opts.MTU
	if mtu == 0 {
		mtu = cfg.MaxMessageBytes
	}
	start := opts.Start
	if start.IsZero() {
		start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	c := &Cluster{
		opts:      opts,
		cfg:       cfg,
		start:     start,
		tick:      int64(tick),
		delay:     int64(delay),
		jitter:    int64(jitter),
		mtu:       mtu,
		net:       rand.New(rand.NewPCG(opts.Seed, 0x6e6574)),
		script:    rand.New(rand.NewPCG(opts.Seed, 0x736372)),
		ids:       rand.New(rand.NewPCG(opts.Seed, 0x696473)),
		byAuth:    make(map[string]int32, opts.Nodes),
		loss:      opts.Loss,
		instances: make(map[string]*instance, opts.Nodes),
		marks:     make(map[string]*idMarks),
		falseDead: make(map[string]struct{}),
		falseSusp: make(map[string]struct{}),
		minWindow: minWindowEvents,
	}
	for range opts.Nodes {
		if _, err := c.AddNode(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func defaultAuthority(i int) string {
	i++
	return fmt.Sprintf("10.%d.%d.%d:7946", (i>>16)&0xff, (i>>8)&0xff, i&0xff)
}

// AddNode adds an idle node slot and returns its index.
func (c *Cluster) AddNode() (int, error) {
	i := len(c.nodes)
	a := c.opts.Authority(i)
	if _, dup := c.byAuth[a]; dup {
		return 0, fmt.Errorf("sim: authority %q of slot %d is already taken", a, i)
	}
	c.byAuth[a] = int32(i)
	c.nodes = append(c.nodes, &node{idx: i, authority: a, phase: c.script.Int64N(c.tick)})
	return i, nil
}

// Len returns the number of node slots.
func (c *Cluster) Len() int { return len(c.nodes) }

// Config returns the configuration template (without the per-node identity).
func (c *Cluster) Config() core.Config { return c.cfg }

// Tick returns the poll interval.
func (c *Cluster) Tick() time.Duration { return time.Duration(c.tick) }

// SetTick changes the poll interval, from each node's next poll on: a long
// quiet stretch of a run polled less often runs faster. It returns an error
// for an interval that is not positive.
func (c *Cluster) SetTick(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("sim: SetTick(%v): the poll interval must be positive", d)
	}
	c.tick = int64(d)
	return nil
}

// Now returns the current virtual time.
func (c *Cluster) Now() time.Time { return c.start.Add(time.Duration(c.now)) }

// Elapsed returns the virtual time since the run began.
func (c *Cluster) Elapsed() time.Duration { return time.Duration(c.now) }

// Rand returns the cluster's script random source (derived from the seed and
// separate from the network's), for tests that pick victims or times.
func (c *Cluster) Rand() *rand.Rand { return c.script }

// Authority returns slot i's authority.
func (c *Cluster) Authority(i int) string { return c.nodes[i].authority }

// NodeID returns the NodeID of slot i's current (or last) instance, or "" if
// it never started.
func (c *Cluster) NodeID(i int) string { return c.nodes[i].id }

// Coordinator returns slot i's current (or last) coordinator, or nil if it
// never started. Calling its methods directly is allowed between steps of the
// run; its outcomes are then the caller's to handle.
func (c *Cluster) Coordinator(i int) *core.MembershipCoordinator { return c.nodes[i].coord }

// IsRunning reports whether slot i runs an instance (paused or not, leaving
// or not).
func (c *Cluster) IsRunning(i int) bool { return c.nodes[i].state == stateRunning }

// IsLive reports whether slot i is a live member: running, not a client and
// not leaving. Paused members are live.
func (c *Cluster) IsLive(i int) bool {
	n := c.nodes[i]
	return n.state == stateRunning && !n.client && !n.leaving
}

// IsPaused reports whether slot i is paused.
func (c *Cluster) IsPaused(i int) bool { return c.nodes[i].paused }

// LiveNodes returns the slots of the live members, in order.
func (c *Cluster) LiveNodes() []int {
	var out []int
	for i := range c.nodes {
		if c.IsLive(i) {
			out = append(out, i)
		}
	}
	return out
}

// NodeStats returns slot i's traffic counters.
func (c *Cluster) NodeStats(i int) NodeStats { return c.nodes[i].stats }

// Stats returns the network's counters.
func (c *Cluster) Stats() NetStats { return c.stats }

// Events returns the member events slot i emitted (over all its instances),
// if Options.RecordEvents is set; nil otherwise.
func (c *Cluster) Events(i int) []core.MemberEvent { return c.nodes[i].events }

// EventsTo returns how many member events slot i emitted whose To status is
// s (counted whether or not RecordEvents is set).
func (c *Cluster) EventsTo(i int, s core.NodeStatus) int {
	if int(s) >= len(c.nodes[i].eventsTo) {
		return 0
	}
	return c.nodes[i].eventsTo[s]
}

// Err returns the errors of scheduled actions (After, Bootstrap) and of
// node starts, joined, or nil.
func (c *Cluster) Err() error { return errors.Join(c.actionErr...) }

// Start starts slot i as the first member of a cluster (no seeds).
func (c *Cluster) Start(i int) error { return c.boot(i, false, nil) }

// Join starts slot i as a member and has it join through the given seed
// slots.
func (c *Cluster) Join(i int, seeds ...int) error { return c.boot(i, false, c.authorities(seeds)) }

// JoinAuthorities starts slot i as a member that joins through the given seed
// authorities (which need not belong to any slot).
func (c *Cluster) JoinAuthorities(i int, seeds []string) error { return c.boot(i, false, seeds) }

// StartClient starts slot i as a client (it observes the cluster without
// being a member) that joins through the given seed slots.
func (c *Cluster) StartClient(i int, seeds ...int) error {
	return c.boot(i, true, c.authorities(seeds))
}

// Restart starts a fresh instance at a crashed or departed slot: the same
// authority, a new NodeID, a new coordinator, joining through the given seed
// slots.
func (c *Cluster) Restart(i int, seeds ...int) error {
	if c.nodes[i].state == stateRunning {
		return fmt.Errorf("sim: restart of slot %d, which is running (crash it first)", i)
	}
	return c.boot(i, false, c.authorities(seeds))
}

// RestartSameID starts a fresh coordinator at a crashed or departed slot with
// the NodeID of its last instance, as a process that keeps its identity on
// disk would, joining through the given seed slots. The instance is the same
// one as far as tracking goes: it is running again, no longer crashed.
func (c *Cluster) RestartSameID(i int, seeds ...int) error {
	n := c.nodes[i]
	if n.state == stateRunning {
		return fmt.Errorf("sim: restart of slot %d, which is running (crash it first)", i)
	}
	if n.state == stateIdle {
		return fmt.Errorf("sim: restart of slot %d, which never started", i)
	}
	return c.bootAs(i, false, c.authorities(seeds), n.id, nil)
}

// StartWith starts an instance at slot i (never started, crashed or
// departed) as a member joining through the given seed slots (none: the
// first member of a cluster), like Join and Restart, but with a Config of
// its own: configure gets the node's Config once the cluster has filled in
// NodeID, Authority and Rand, and may change anything but Authority: the
// node's InitialIncarnation, Meta, Admit hook or timings, or its NodeID (its
// slot's last one makes this a RestartSameID; one that another slot runs
// makes two instances claim one identity, and the cluster's tracking of
// that NodeID follows the later).
func (c *Cluster) StartWith(i int, configure func(*core.Config), seeds ...int) error {
	return c.bootAs(i, false, c.authorities(seeds), "", configure)
}

// SetClockOffset sets slot i's clock to the cluster's time plus offset: from
// now on, every call to its coordinator (polls, messages, the operator
// calls made through the cluster, restarts) passes that time as now, and
// NodeNow returns it. Lowering the offset steps the node's clock back, as an
// operator or NTP setting a wall clock back does (a driver without a
// monotonic clock); raising it steps the clock forward, which the node
// sees as a stall. Only the node's clock moves: its polls and its messages
// keep the cluster's schedule. The offset belongs to the slot and stays
// across restarts; it starts at zero.
func (c *Cluster) SetClockOffset(i int, offset time.Duration) { c.nodes[i].offset = int64(offset) }

// NodeNow returns slot i's clock: the cluster's virtual time plus the
// slot's clock offset. Call its coordinator's methods directly with it.
func (c *Cluster) NodeNow(i int) time.Time { return c.nodeNow(c.nodes[i]) }

// nodeNow is n's clock.
func (c *Cluster) nodeNow(n *node) time.Time {
	return c.start.Add(time.Duration(c.now + n.offset))
}

func (c *Cluster) authorities(slots []int) []string {
	out := make([]string, 0, len(slots))
	for _, s := range slots {
		out = append(out, c.nodes[s].authority)
	}
	return out
}

// boot starts a new instance, with a new NodeID, at slot i.
func (c *Cluster) boot(i int, client bool, seeds []string) error {
	return c.bootAs(i, client, seeds, "", nil)
}

// newID returns the NodeID of the next instance at slot i: the next value of
// the ID stream or, with stableIDs, a value of the seed, the slot and the
// slot's start count only, so that removing a start elsewhere in a run does
// not change it.
func (c *Cluster) newID(i int) string {
	if c.stableIDs {
		n := c.nodes[i]
		r := rand.New(rand.NewPCG(c.opts.Seed^0x696473, uint64(i)<<32|uint64(n.starts)))
		return fmt.Sprintf("%016x", r.Uint64())
	}
	return fmt.Sprintf("%016x", c.ids.Uint64())
}

// bootAs starts an instance at slot i with NodeID id ("" for a new one),
// its Config changed by configure if not nil.
func (c *Cluster) bootAs(i int, client bool, seeds []string, id string, configure func(*core.Config)) error {
	n := c.nodes[i]
	switch n.state {
	case stateRunning:
		return fmt.Errorf("sim: slot %d is already running", i)
	case stateIdle:
	default:
		// A restart: the previous instance is succeeded by the new one.
	}
	cfg := c.cfg
	if id == "" {
		id = c.newID(i)
	}
	cfg.NodeID = id
	cfg.Authority = n.authority
	cfg.Rand = rand.New(rand.NewPCG(c.opts.Seed^0x9e3779b97f4a7c15, uint64(i)<<32|uint64(n.gen+1)))
	if cfg.Meta != nil {
		cfg.Meta = append([]byte(nil), cfg.Meta...)
	}
	if configure != nil {
		configure(&cfg)
		if cfg.Authority != n.authority {
			return c.fail(fmt.Errorf("sim: slot %d: its Config may not change the authority (%q to %q)", i, n.authority, cfg.Authority))
		}
		id = cfg.NodeID
	}
	same := id == n.id
	n.starts++
	coord, err := core.NewMembershipCoordinator(cfg)
	if err != nil {
		return c.fail(fmt.Errorf("sim: slot %d: %w", i, err))
	}
	if old := c.instances[n.id]; old != nil && !same {
		old.successor = id
	}
	n.gen++
	n.id, n.coord, n.state, n.client = id, coord, stateRunning, client
	c.dropPending(n)
	n.leaving, n.paused = false, false
	n.held.reset()
	n.checked = viewCheck{}
	c.instances[id] = &instance{slot: i}
	c.trackInstance(id).inst = c.instances[id]
	now := c.nodeNow(n)
	var out core.Outcome
	if client {
		out, err = coord.StartClient(now)
	} else {
		out, err = coord.StartMember(now)
	}
	c.process(n, out)
	if err != nil {
		return c.fail(fmt.Errorf("sim: slot %d: start: %w", i, err))
	}
	if len(seeds) > 0 {
		out, err = coord.HandleJoin(now, seeds)
		c.process(n, out)
		if err != nil {
			return c.fail(fmt.Errorf("sim: slot %d: join: %w", i, err))
		}
	}
	// First poll at the node's phase within the next tick.
	next := c.now - c.now%c.tick + n.phase
	if next <= c.now {
		next += c.tick
	}
	c.q.push(event{at: next, kind: evPoll, node: int32(i), gen: n.gen})
	return nil
}

func (c *Cluster) fail(err error) error {
	c.stats.Errors++
	c.stats.LastError = err
	c.actionErr = append(c.actionErr, err)
	return err
}

// Crash stops slot i at once, as a process crash would: it neither polls nor
// handles anything again, and messages sent to it are dropped; messages it
// already sent are still in flight and may arrive.
func (c *Cluster) Crash(i int) {
	n := c.nodes[i]
	if n.state != stateRunning {
		return
	}
	n.state = stateCrashed
	n.gen++
	n.paused = false
	c.dropPending(n)
	if inst := c.instances[n.id]; inst != nil {
		inst.crashed, inst.crashedAt = true, c.now
	}
}

// Leave asks slot i to leave gracefully (HandleLeave). The node keeps running
// until its coordinator reports LeaveDone, then stops; it is no longer live
// from now on.
func (c *Cluster) Leave(i int) error {
	n := c.nodes[i]
	if n.state != stateRunning {
		return fmt.Errorf("sim: leave of slot %d, which is not running", i)
	}
	n.leaving = true
	out, err := n.coord.HandleLeave(c.nodeNow(n))
	c.process(n, out)
	if err != nil {
		return c.fail(fmt.Errorf("sim: slot %d: leave: %w", i, err))
	}
	c.afterStep(n)
	return nil
}

// SetMeta has slot i change its metadata (MembershipCoordinator.SetMeta)
// now; the change spreads by gossip as the run goes on.
func (c *Cluster) SetMeta(i int, meta []byte) error {
	return c.act(i, "SetMeta", func(now time.Time, coord *core.MembershipCoordinator) (core.Outcome, error) {
		return coord.SetMeta(now, meta)
	})
}

// Broadcast has slot i broadcast payload to every member
// (MembershipCoordinator.Broadcast) now; it spreads as the run goes on, and
// every node's deliveries reach Options.OnOutcome in Outcome.User.
func (c *Cluster) Broadcast(i int, payload []byte) error {
	return c.act(i, "Broadcast", func(now time.Time, coord *core.MembershipCoordinator) (core.Outcome, error) {
		return coord.Broadcast(now, payload)
	})
}

// SendTo has slot i send payload to slot target as a direct message
// (MembershipCoordinator.SendTo) now; the delivery reaches
// Options.OnOutcome in Outcome.User.
func (c *Cluster) SendTo(i, target int, payload []byte) error {
	to := c.nodes[target].authority
	return c.act(i, "SendTo", func(now time.Time, coord *core.MembershipCoordinator) (core.Outcome, error) {
		return coord.SendTo(now, to, payload)
	})
}

// act has running slot i call fn now and processes the outcome; an error
// is recorded (Err) and returned.
func (c *Cluster) act(i int, what string, fn func(now time.Time, coord *core.MembershipCoordinator) (core.Outcome, error)) error {
	n := c.nodes[i]
	if n.state != stateRunning {
		return fmt.Errorf("sim: %s of slot %d, which is not running", what, i)
	}
	out, err := fn(c.nodeNow(n), n.coord)
	c.process(n, out)
	if err != nil {
		return c.fail(fmt.Errorf("sim: slot %d: %s: %w", i, what, err))
	}
	return nil
}

// HasLeft reports whether slot i left gracefully and stopped.
func (c *Cluster) HasLeft(i int) bool { return c.nodes[i].state == stateLeft }

// Pause stalls slot i for d of virtual time, like a stop-the-world pause: it
// neither polls nor handles messages; messages that arrive meanwhile queue up
// and are handled, in order, when it resumes, just before its next poll.
// Pausing a paused node extends the pause if d ends later.
func (c *Cluster) Pause(i int, d time.Duration) {
	n := c.nodes[i]
	if n.state != stateRunning || d <= 0 {
		return
	}
	end := c.now + int64(d)
	if n.paused && end <= n.resumeAt {
		return
	}
	n.paused, n.resumeAt = true, end
	c.q.push(event{at: end, kind: evResume, node: int32(i), gen: n.gen})
}

// Partition splits the network: each group is a set of slots that can reach
// one another and nothing else; slots in no group form one more group.
// Messages already in flight across the cut are dropped when they arrive.
func (c *Cluster) Partition(groups ...[]int) {
	for _, n := range c.nodes {
		n.group = 0
	}
	for g, slots := range groups {
		for _, s := range slots {
			c.nodes[s].group = g + 1
		}
	}
}

// Heal ends every partition.
func (c *Cluster) Heal() { c.Partition() }

// SetLoss sets the loss probability of every link.
func (c *Cluster) SetLoss(p float64) { c.loss = p }

// SetLinkLoss sets an additional loss probability on the directed link from
// slot from to slot to (applied independently of the global loss); zero
// removes it.
func (c *Cluster) SetLinkLoss(from, to int, p float64) {
	if c.linkLoss == nil {
		c.linkLoss = make(map[link]float64)
	}
	k := link{int32(from), int32(to)}
	if p <= 0 {
		delete(c.linkLoss, k)
		return
	}
	c.linkLoss[k] = p
}

// SetDelay sets the one-way delay and jitter of messages sent from now on.
func (c *Cluster) SetDelay(delay, jitter time.Duration) {
	c.delay, c.jitter = int64(delay), int64(jitter)
}

// After schedules fn to run after d of virtual time, between events. fn may
// use any method of the cluster except Run and RunUntil.
func (c *Cluster) After(d time.Duration, fn func()) {
	c.actions = append(c.actions, fn)
	c.q.push(event{at: c.now + max(0, int64(d)), kind: evAction, ref: int32(len(c.actions) - 1)})
}

// Run advances virtual time by d, processing every event due.
func (c *Cluster) Run(d time.Duration) { c.runTo(c.now + int64(d)) }

// RunUntil runs until pred holds, checking it now and then once per Tick of
// virtual time, for at most limit. It returns the virtual time it ran and
// whether pred held.
func (c *Cluster) RunUntil(pred func() bool, limit time.Duration) (time.Duration, bool) {
	begin := c.now
	deadline := c.now + int64(limit)
	for {
		if pred() {
			return time.Duration(c.now - begin), true
		}
		if c.now >= deadline {
			return time.Duration(c.now - begin), false
		}
		c.runTo(min(c.now+c.tick, deadline))
	}
}

// inFlight returns how many messages are on the wire (or queued at paused
// nodes).
func (c *Cluster) inFlight() int { return len(c.flight) - len(c.free) }
