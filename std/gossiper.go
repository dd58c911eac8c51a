package std

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// Errors of the gossip loop.
var (
	// ErrNotRunning: the node is not running: it has left or closed (its
	// gossip loop was never started, or has stopped).
	ErrNotRunning = errors.New("hearsay: not running")
	// errAlreadyStarted: Start was called on a gossiper already started.
	errAlreadyStarted = errors.New("hearsay: gossiper already started")
)

// gossiperConfig configures a gossiper.
type gossiperConfig struct {
	// TickInterval is the longest the loop goes without stepping the
	// driver (draining the transport, polling the coordinator, publishing
	// events, sending): when neither a message nor the coordinator's
	// NextDeadline woke it for that long, a tick does. It is a floor under
	// the protocol's timing, not its resolution, and costs no wake-up while
	// the deadlines come more often. Must be > 0.
	TickInterval time.Duration
	// Client starts the coordinator as a client (an observer without a record
	// of its own) instead of a member.
	Client bool
	// Logger receives the gossiper's logs; nil discards them.
	Logger *slog.Logger
}

// Validate returns an error wrapping core.ErrInvalidConfig naming the first
// bad field, or nil.
func (c *gossiperConfig) Validate() error {
	if c.TickInterval <= 0 {
		return fmt.Errorf("%w: GossiperConfig.TickInterval must be > 0, got %v", core.ErrInvalidConfig, c.TickInterval)
	}
	return nil
}

// gossiperStats are the counters of the driver and the coordinator, and the
// gossiper's tick lag, read on the gossiper's goroutine.
//
// A tick is a timed wake of the loop: TickInterval after its last step, or
// the coordinator's NextDeadline, whichever comes first. A tick's lag is
// how late its step began: the time the step started less the time the
// tick was due. It grows when the goroutine is held up (a slow command, a
// long step, the Go scheduler, a paused process).
type gossiperStats struct {
	// Driver are the driver's counters (Steps counts ticks).
	Driver core.DriverStats
	// Coordinator are the coordinator's counters.
	Coordinator core.CoordinatorStats
	// TickLagTotal is the sum of every tick's lag since Start.
	TickLagTotal time.Duration
	// TickLagMax is the largest lag of a single tick since Start.
	TickLagMax time.Duration
	// LastTickLag is the lag of the latest tick (0 before the first).
	LastTickLag time.Duration
	// LocalHealth is the coordinator's Lifeguard local-health score.
	LocalHealth int
	// wakes counts the loop's steps by what woke it.
	wakes wakeCounts
}

// wakeCounts counts the loop's steps by cause.
type wakeCounts struct {
	// ticker counts steps due TickInterval after the last step; deadline
	// those due at the coordinator's NextDeadline; arrival those of a
	// message arriving.
	ticker, deadline, arrival uint64
}

// arrivalNotifier is a transport that signals when messages arrive: the
// channel receives (without blocking the transport: it has a buffer of one
// and a full buffer already says so) whenever a message is queued for
// PollDeltas. The loop then steps at once instead of at its next tick.
type arrivalNotifier interface {
	arrivals() <-chan struct{}
}

// gossiper drives a core.MembershipCoordinator over a transport, in the
// manner of etcd's raft.Node around a RawNode: one goroutine owns the
// coordinator and its core.Driver, and every other call (join, leave,
// queries) is a command sent to that goroutine, so whatever a call produces
// goes through the same driver and nothing is lost or raced.
//
// The goroutine steps the driver when something is due and sleeps
// otherwise, as x/net/quic's connection loop does: it keeps one timer armed
// at the coordinator's NextDeadline, or TickInterval after its last step if
// that comes first (re-armed after every step and command, since any of
// them may move it), and steps at once when the transport signals an
// arrival (arrivalNotifier). One timer, not a ticker beside it: each wake
// of an idle process costs far more CPU than the step it runs.
//
// The goroutine starts in Start and exits in Stop (after a graceful leave)
// or Halt (at once); both return only once it has exited. The gossiper
// does not own the transport: close it after Stop.
type gossiper struct {
	cfg    gossiperConfig
	coord  *core.MembershipCoordinator
	driver *core.Driver
	log    *slog.Logger

	cmds    chan command
	arrived <-chan struct{} // the transport's arrivals; nil when it has none
	quit    chan struct{}   // closed to ask the loop to exit
	done    chan struct{}   // closed when the loop has exited

	// Owned by the loop goroutine (read through query): the tick lag and
	// the steps by cause.
	lagTotal, lagMax, lagLast time.Duration
	wakes                     wakeCounts
	lastStep                  time.Time // when the last step began
	seenJoined                bool      // noteJoined has recorded the join

	mu      sync.Mutex
	state   gossiperState
	final   snapshot // what queries return once the loop has exited
	stopErr error
	// joinedAt is when the node first joined (see joined); joinedCh is
	// closed then. The loop goroutine writes it once, under mu.
	joinedAt time.Time
	joinedCh chan struct{}
}

type gossiperState uint8

const (
	gossiperNew gossiperState = iota
	gossiperRunning
	gossiperStopped
)

// snapshot is what queries return after the loop exited.
type snapshot struct {
	records []core.NodeRecord
	local   core.NodeRecord
	stats   gossiperStats
}

// command is work for the loop: fn runs on the loop goroutine; its outcome
// is applied through the driver; then the reply is sent.
type command struct {
	fn    func(now time.Time, c *core.MembershipCoordinator) (core.Outcome, error)
	reply chan error
	// until, if set, delays the reply until until(c) holds after a step
	// (or the caller gives up: gone is closed).
	until func(c *core.MembershipCoordinator) bool
	gone  <-chan struct{}
	// reportSends makes the reply the sends of fn's outcome that failed
	// (when fn itself did not).
	reportSends bool
}

// waiter is a reply waiting for a condition.
type waiter struct {
	until func(c *core.MembershipCoordinator) bool
	reply chan error
	gone  <-chan struct{} // closed when the caller stopped waiting
}

// newGossiper returns a gossiper for c over transport, publishing events to
// sink (nil discards them). c must be Stopped; Start starts it.
func newGossiper(cfg gossiperConfig, c *core.MembershipCoordinator, transport core.GossipTransport, sink core.EventSink) (*gossiper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if c == nil || transport == nil {
		return nil, fmt.Errorf("%w: NewGossiper needs a coordinator and a transport", core.ErrInvalidConfig)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var arrived <-chan struct{}
	if n, ok := transport.(arrivalNotifier); ok {
		arrived = n.arrivals()
	}
	return &gossiper{
		arrived:  arrived,
		cfg:      cfg,
		coord:    c,
		driver:   core.NewDriver(c, transport, sink),
		log:      log.With("component", "hearsay.gossiper", "node", c.LocalNode().NodeID),
		cmds:     make(chan command),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		joinedCh: make(chan struct{}),
	}, nil
}

// Start starts the coordinator (as a member, or a client) at the current
// time and the goroutine that drives it. With join not nil it first runs
// join on the coordinator (HandleJoin or SetSeeds) and sends what it
// returns, before the loop first polls: a member started without a join
// turns Up alone at its first poll, so a join sent afterwards could come
// too late. It returns errAlreadyStarted when called twice, ErrNotRunning
// after Stop, and ctx's error if ctx is done.
func (g *gossiper) Start(ctx context.Context, join func(now time.Time, c *core.MembershipCoordinator) (core.Outcome, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch g.state {
	case gossiperRunning:
		return errAlreadyStarted
	case gossiperStopped:
		return fmt.Errorf("%w: stopped gossipers cannot restart", ErrNotRunning)
	}
	now := time.Now()
	var o core.Outcome
	var err error
	if g.cfg.Client {
		o, err = g.coord.StartClient(now)
	} else {
		o, err = g.coord.StartMember(now)
	}
	if err != nil {
		return fmt.Errorf("hearsay: start coordinator: %w", err)
	}
	if join != nil {
		j, err := join(now, g.coord)
		if err != nil {
			return fmt.Errorf("hearsay: join: %w", err)
		}
		o.Append(j)
	}
	if err := g.driver.Apply(o); err != nil {
		g.log.Debug("start: sends failed", "err", err)
	}
	if g.joined(g.coord) {
		g.markJoined(now)
	}
	g.state = gossiperRunning
	go g.loop()
	return nil
}

// handleJoin is a join for Start: HandleJoin(seeds). With no seeds, a
// member is Up at once.
func handleJoin(seeds []string) func(now time.Time, c *core.MembershipCoordinator) (core.Outcome, error) {
	return func(now time.Time, c *core.MembershipCoordinator) (core.Outcome, error) {
		return c.HandleJoin(now, seeds)
	}
}

// loop is the gossiper goroutine: it steps the driver when a message
// arrives, at the coordinator's next deadline and TickInterval after its
// last step, and runs commands in between. It exits when quit is closed.
func (g *gossiper) loop() {
	defer close(g.done)
	deadline := newDeadlineTimer()
	defer deadline.stop()
	g.lastStep = time.Now()
	var waiters []waiter
	for {
		g.armDeadline(deadline)
		select {
		case <-g.quit:
			for _, w := range waiters {
				w.reply <- ErrNotRunning
			}
			g.mu.Lock()
			g.final = snapshot{records: g.coord.Records(), local: g.coord.LocalNode(), stats: g.stats()}
			g.mu.Unlock()
			return
		case <-deadline.c():
			due, floor := deadline.fired()
			if floor {
				g.wakes.ticker++
			} else {
				g.wakes.deadline++
			}
			g.step(due)
		case <-g.arrived:
			g.wakes.arrival++
			g.step(time.Time{})
		case cmd := <-g.cmds:
			if w, wait := g.run(cmd); wait {
				waiters = append(waiters, w)
			}
		}
		g.noteJoined(time.Now())
		waiters = g.answer(waiters)
	}
}

// armDeadline arms the timer at the coordinator's NextDeadline (at once for
// a deadline already past: a call other than Poll left work due), or at
// TickInterval after the last step if that is sooner. After a step, which
// ends with a Poll, the deadline is always in the future. A stopped
// coordinator has nothing due, but its loop still steps every TickInterval
// (draining the transport). Loop goroutine only.
func (g *gossiper) armDeadline(d *deadlineTimer) {
	floor := g.lastStep.Add(g.cfg.TickInterval)
	if g.coord.State() == core.CoordinatorStopped {
		d.arm(floor, true, time.Now())
		return
	}
	if next := g.coord.NextDeadline(); next.Before(floor) {
		d.arm(next, false, time.Now())
		return
	}
	d.arm(floor, true, time.Now())
}

// step steps the driver at the clock's time. due is when a tick was due
// (the zero Time for an arrival): the tick's own time is stale when the
// loop runs late, so the step runs at the clock's time and the difference
// counts as lag. Loop goroutine only.
func (g *gossiper) step(due time.Time) {
	now := time.Now()
	g.lastStep = now
	if !due.IsZero() {
		g.observeLag(now.Sub(due))
	}
	if err := g.driver.Step(now); err != nil {
		g.log.Debug("step", "err", err)
	}
}

// run runs a command and applies its outcome. It replies at once, or
// returns a waiter to reply once the command's condition holds. Loop
// goroutine only.
func (g *gossiper) run(cmd command) (waiter, bool) {
	o, err := cmd.fn(time.Now(), g.coord)
	if aerr := g.driver.Apply(o); aerr != nil {
		g.log.Debug("command: sends failed", "err", aerr)
		if err == nil && cmd.reportSends {
			err = aerr
		}
	}
	switch {
	case err != nil || cmd.until == nil:
		cmd.reply <- err
	case cmd.until(g.coord):
		cmd.reply <- nil
	default:
		return waiter{until: cmd.until, reply: cmd.reply, gone: cmd.gone}, true
	}
	return waiter{}, false
}

// answer replies to the waiters whose condition now holds, forgets those
// whose caller gave up, and returns the others. Loop goroutine only.
func (g *gossiper) answer(waiters []waiter) []waiter {
	kept := waiters[:0]
	for _, w := range waiters {
		select {
		case <-w.gone: // the caller gave up: forget it
			continue
		default:
		}
		if w.until(g.coord) {
			w.reply <- nil
		} else {
			kept = append(kept, w)
		}
	}
	clear(waiters[len(kept):])
	return kept
}

// deadlineTimer is the loop's one timer, kept armed at its next deadline:
// arm re-arms it only when the deadline moved.
type deadlineTimer struct {
	t     *time.Timer
	on    bool      // armed and not yet fired
	at    time.Time // the deadline it is armed for
	floor bool      // at is TickInterval after the last step, not NextDeadline
	due   time.Time // when it fires: at, or when it was armed if at had passed
}

func newDeadlineTimer() *deadlineTimer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &deadlineTimer{t: t}
}

// arm sets the timer to fire at the deadline at, or at once when at is not
// after now (the coordinator has work now), unless it is already armed for
// at. floor says what at is, for fired.
func (d *deadlineTimer) arm(at time.Time, floor bool, now time.Time) {
	if d.on && at.Equal(d.at) {
		d.floor = floor
		return
	}
	d.on, d.at, d.floor, d.due = true, at, floor, at
	if !at.After(now) {
		d.due = now
	}
	d.t.Reset(d.due.Sub(now))
}

// c is the channel the timer fires on.
func (d *deadlineTimer) c() <-chan time.Time { return d.t.C }

// fired records that the timer fired and returns when it was due and
// whether it was the floor (TickInterval after the last step); the next
// arm sets it again whatever the deadline.
func (d *deadlineTimer) fired() (due time.Time, floor bool) {
	d.on = false
	return d.due, d.floor
}

func (d *deadlineTimer) stop() { d.t.Stop() }

// observeLag adds one tick's lag to the stats. Loop goroutine only.
func (g *gossiper) observeLag(lag time.Duration) {
	lag = max(lag, 0) // both times are monotonic; never count a negative lag
	g.lagTotal += lag
	g.lagMax = max(g.lagMax, lag)
	g.lagLast = lag
}

// stats returns the counters. Loop goroutine only.
func (g *gossiper) stats() gossiperStats {
	return gossiperStats{Driver: g.driver.Stats(), Coordinator: g.coord.Stats(),
		TickLagTotal: g.lagTotal, TickLagMax: g.lagMax, LastTickLag: g.lagLast,
		LocalHealth: g.coord.LocalHealth(), wakes: g.wakes}
}

// do runs fn on the gossiper goroutine and applies its outcome; with until,
// it then waits until until holds. It returns ErrNotRunning when the
// gossiper is not running and ctx's error when ctx ends first (fn may still
// have run, and its effects stay).
func (g *gossiper) do(ctx context.Context, fn func(now time.Time, c *core.MembershipCoordinator) (core.Outcome, error),
	until func(c *core.MembershipCoordinator) bool) error {
	return g.submit(ctx, command{fn: fn, until: until})
}

// DoAndSend is Do, and returns the sends of fn's outcome that the transport
// refused (wrapping core.ErrSendFailed) when fn did not fail.
func (g *gossiper) DoAndSend(ctx context.Context, fn func(now time.Time, c *core.MembershipCoordinator) (core.Outcome, error)) error {
	return g.submit(ctx, command{fn: fn, reportSends: true})
}

// submit hands cmd to the loop and waits for its reply, as do says.
func (g *gossiper) submit(ctx context.Context, cmd command) error {
	g.mu.Lock()
	state := g.state
	g.mu.Unlock()
	if state != gossiperRunning {
		return ErrNotRunning
	}
	cmd.reply, cmd.gone = make(chan error, 1), ctx.Done()
	select {
	case g.cmds <- cmd:
	case <-g.done:
		return ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-cmd.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Do runs fn on the gossiper goroutine with the coordinator and sends what
// its outcome holds, for calls the gossiper has no method for (e.g.
// HandleQuarantine). fn must not keep c.
func (g *gossiper) Do(ctx context.Context, fn func(now time.Time, c *core.MembershipCoordinator) (core.Outcome, error)) error {
	return g.do(ctx, fn, nil)
}

// Join sends join requests to seeds ("ip:port"); the coordinator retries
// until one answers. Join returns once the requests are sent; see
// JoinAndWait to wait for the answer.
func (g *gossiper) Join(ctx context.Context, seeds []string) error {
	return g.do(ctx, func(now time.Time, c *core.MembershipCoordinator) (core.Outcome, error) {
		return c.HandleJoin(now, seeds)
	}, nil)
}

// JoinAndWait is Join, then waits until this node is Up (a seed answered,
// or there was no seed but itself) or ctx ends. A client waits until it
// knows of at least one member.
func (g *gossiper) JoinAndWait(ctx context.Context, seeds []string) error {
	return g.do(ctx, func(now time.Time, c *core.MembershipCoordinator) (core.Outcome, error) {
		return c.HandleJoin(now, seeds)
	}, g.joined)
}

// noteJoined records when the node first joined, if it just did. Until
// then it runs after every step and command; afterwards it reads one
// field. Loop goroutine only.
func (g *gossiper) noteJoined(now time.Time) {
	if g.seenJoined || !g.joined(g.coord) {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.markJoined(now)
}

// markJoined records that the node joined at now. g.mu must be held.
func (g *gossiper) markJoined(now time.Time) {
	g.seenJoined = true
	g.joinedAt = now
	close(g.joinedCh)
}

// Joined returns when the node first joined (the zero Time while it has
// not) and a channel closed then.
func (g *gossiper) Joined() (time.Time, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.joinedAt, g.joinedCh
}

// joined reports whether the node has joined: a member is Up, a client knows
// of an active member.
func (g *gossiper) joined(c *core.MembershipCoordinator) bool {
	if g.cfg.Client {
		return len(c.Members()) > 0
	}
	return c.LocalNode().Status == core.StatusUp
}

// Leave starts a graceful leave and waits until it has been gossiped enough
// (the coordinator's LeaveDone) or ctx ends. The gossiper keeps running; Stop
// it afterwards. Leaving twice waits for the same leave.
func (g *gossiper) Leave(ctx context.Context) error {
	return g.do(ctx, func(now time.Time, c *core.MembershipCoordinator) (core.Outcome, error) {
		if c.LeaveDone() {
			return core.Outcome{}, nil
		}
		o, err := c.HandleLeave(now)
		if errors.Is(err, core.ErrInvalidState) { // already leaving
			return o, nil
		}
		return o, err
	}, (*core.MembershipCoordinator).LeaveDone)
}

// query runs read on the gossiper goroutine, or on the final snapshot once
// the loop has exited.
func (g *gossiper) query(read func(c *core.MembershipCoordinator), final func(s *snapshot)) error {
	err := g.do(context.Background(), func(_ time.Time, c *core.MembershipCoordinator) (core.Outcome, error) {
		read(c)
		return core.Outcome{}, nil
	}, nil)
	if errors.Is(err, ErrNotRunning) {
		g.mu.Lock()
		stopped := g.state == gossiperStopped
		g.mu.Unlock()
		if stopped {
			<-g.done // the loop writes the final snapshot before it exits
			g.mu.Lock()
			defer g.mu.Unlock()
			final(&g.final)
			return nil
		}
	}
	return err
}

// Records returns a copy of every record the coordinator holds, tombstones
// included, sorted by authority. After Stop it returns the last view.
func (g *gossiper) Records() ([]core.NodeRecord, error) {
	var out []core.NodeRecord
	err := g.query(func(c *core.MembershipCoordinator) { out = c.Records() },
		func(s *snapshot) { out = cloneRecords(s.records) })
	return out, err
}

// LocalNode returns this node's own record. After Stop it returns the last one.
func (g *gossiper) LocalNode() (core.NodeRecord, error) {
	var out core.NodeRecord
	err := g.query(func(c *core.MembershipCoordinator) { out = c.LocalNode() },
		func(s *snapshot) { out = s.local.Clone() })
	return out, err
}

// Stats returns the driver's and the coordinator's counters and the tick
// lag. After Stop it returns the final ones.
func (g *gossiper) Stats() (gossiperStats, error) {
	var out gossiperStats
	err := g.query(func(*core.MembershipCoordinator) { out = g.stats() },
		func(s *snapshot) { out = s.stats })
	return out, err
}

// Stop leaves gracefully (bounded by ctx), then stops the goroutine and
// returns once it has exited, even when ctx ends first (the leave is then
// cut short and ctx's error returned). It returns ErrNotRunning when the
// gossiper was never started or is already stopped.
func (g *gossiper) Stop(ctx context.Context) error {
	g.mu.Lock()
	state := g.state
	g.mu.Unlock()
	if state != gossiperRunning {
		return ErrNotRunning
	}
	err := g.Leave(ctx)
	if errors.Is(err, core.ErrNotStarted) {
		err = nil
	}
	if herr := g.halt(); herr != nil {
		return herr
	}
	return err
}

// Halt stops the goroutine at once, without leaving: to the cluster this
// node has crashed, and it will be declared Dead. It returns once the
// goroutine has exited, and ErrNotRunning when the gossiper is not running.
func (g *gossiper) Halt() error { return g.halt() }

func (g *gossiper) halt() error {
	g.mu.Lock()
	if g.state != gossiperRunning {
		g.mu.Unlock()
		return ErrNotRunning
	}
	g.state = gossiperStopped
	g.mu.Unlock()
	close(g.quit)
	<-g.done
	return nil
}

func cloneRecords(rs []core.NodeRecord) []core.NodeRecord {
	out := make([]core.NodeRecord, len(rs))
	for i, r := range rs {
		out[i] = r.Clone()
	}
	return out
}
