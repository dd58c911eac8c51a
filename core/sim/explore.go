package sim

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// ExploreOptions configures one run of the fault explorer.
type ExploreOptions struct {
	// Nodes is the number of members bootstrapped before the faults (at
	// least 5; default 20).
	Nodes int
	// Seed draws the schedule (DrawSchedule) and seeds the cluster: the same
	// options replay the same run exactly.
	Seed uint64
	// Config is the node configuration template; zero means
	// core.DefaultLANConfig(). The schedule may override its
	// TombstoneRetention and QuarantineTTL (see Schedule).
	Config core.Config
	// Schedule, when not nil, is run instead of the seed's drawn schedule
	// (its Seed and Nodes replace the fields above): a regression test keeps
	// a failing schedule as it is, whatever later changes to DrawSchedule
	// draw from its seed.
	Schedule *Schedule
	// Keep, when not nil, keeps only the faults of the schedule with these
	// IDs (an empty, non-nil slice keeps none): how a shrunk schedule is
	// replayed.
	Keep []int
	// StopAt ends the run at the first violation of this invariant (zero:
	// run to the end). Shrinking uses it: a candidate fails as soon as it
	// shows the violation sought.
	StopAt Invariant
	// Trace, when not nil, receives a line for everything the run does about
	// the slots TraceSlots from TraceFrom on (virtual time since the run
	// began): the faults beginning and ending, every member event about them
	// at any node, every message they send or handle, and every other
	// message carrying a record of one of them that is not Up (or Up above
	// the incarnation its life started at: a refutation), an accusation of
	// one, or a probe (request, probe, ack) about one. It is how a
	// violation is read; the run itself is the same with or without it.
	Trace      io.Writer
	TraceSlots []int
	TraceFrom  time.Duration
}

// ExploreResult is what one run of the explorer found.
type ExploreResult struct {
	// Schedule is the schedule that ran (after Keep).
	Schedule Schedule
	// Bounds are the bounds the run's invariants were checked against.
	Bounds ExploreBounds
	// Violations, in the order found; empty when every invariant held.
	Violations []Violation
	// HealAt is when the fault window ended and the network healed, and
	// SettledAt when, after that, every crashed member was Dead everywhere
	// and every live view agreed (zero if that never happened). Both are
	// virtual times since the run began.
	HealAt, SettledAt time.Duration
	// Virtual is the virtual time the run lasted; Messages how many messages
	// were sent.
	Virtual  time.Duration
	Messages uint64
}

// OK reports whether no invariant was violated.
func (r *ExploreResult) OK() bool { return len(r.Violations) == 0 }

// Violated reports whether inv was violated.
func (r *ExploreResult) Violated(inv Invariant) bool {
	return slices.ContainsFunc(r.Violations, func(v Violation) bool { return v.Invariant == inv })
}

// First returns the first violation; the result must not be OK.
func (r *ExploreResult) First() Violation { return r.Violations[0] }

// String reports the run: the outcome, the violations and the schedule.
func (r *ExploreResult) String() string {
	var b strings.Builder
	if r.OK() {
		fmt.Fprintf(&b, "seed %d: ok (%d members, %d faults, healed at %s, settled at %s, %s virtual)\n",
			r.Schedule.Seed, r.Schedule.Nodes, len(r.Schedule.Faults), fmtDur(r.HealAt), fmtDur(r.SettledAt), fmtDur(r.Virtual))
		return b.String()
	}
	fmt.Fprintf(&b, "seed %d: %d violation(s) (%d members, healed at %s, %s virtual)\n",
		r.Schedule.Seed, len(r.Violations), r.Schedule.Nodes, fmtDur(r.HealAt), fmtDur(r.Virtual))
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "  %s\n", v)
	}
	b.WriteString(r.Schedule.String())
	return b.String()
}

// Explore runs one seed of the fault explorer: it draws the seed's fault
// schedule (DrawSchedule), bootstraps the cluster, plays the faults out,
// heals everything, lets the cluster settle, and checks every invariant
// (see Invariant) during and after the run. The run is deterministic: the
// same options give the same result. The error reports options that cannot
// run (too few nodes, a bad config, a Keep naming no fault); a protocol that
// misbehaves gives violations, not an error.
func Explore(o ExploreOptions) (ExploreResult, error) {
	if o.Nodes == 0 {
		o.Nodes = 20
	}
	if o.Schedule == nil && o.Nodes < minExploreNodes {
		return ExploreResult{}, fmt.Errorf("sim: the explorer needs at least %d nodes, got %d", minExploreNodes, o.Nodes)
	}
	cfg := o.Config
	if cfg.HeartbeatInterval == 0 {
		cfg = core.DefaultLANConfig()
	}
	var s Schedule
	if o.Schedule != nil {
		s = *o.Schedule
		s.Faults = slices.Clone(s.Faults)
		if err := s.validate(); err != nil {
			return ExploreResult{}, err
		}
	} else {
		s = DrawSchedule(o.Seed, o.Nodes, cfg)
	}
	if o.Keep != nil {
		for _, id := range o.Keep {
			if !slices.ContainsFunc(s.Faults, func(f Fault) bool { return f.ID == id }) {
				return ExploreResult{}, fmt.Errorf("sim: the schedule of seed %d has no fault %d", s.Seed, id)
			}
		}
		s = s.Keep(o.Keep)
	}
	if s.TombstoneRetention > 0 {
		cfg.TombstoneRetention, cfg.QuarantineTTL = s.TombstoneRetention, s.QuarantineTTL
	}
	e, err := newExplorer(s, cfg, o.StopAt, o.Trace)
	if err != nil {
		return ExploreResult{}, err
	}
	if e.trace != nil {
		e.trace.slots, e.trace.from = o.TraceSlots, int64(o.TraceFrom)
	}
	e.run()
	return e.result(), nil
}

// minExploreNodes is the smallest cluster the explorer runs: the seeds and
// at least two other members.
const minExploreNodes = 5

// explorer is one run.
type explorer struct {
	c      *Cluster
	s      Schedule
	cfg    core.Config
	b      ExploreBounds
	stopAt Invariant
	stop   bool

	start, heal int64 // virtual times of the window's start and end
	settled     int64

	overState  map[int]bool               // slots reported by boundedState
	stateBound func(core.Config, int) int // stateBound, or a test's
	active     []*Fault                   // network faults in force
	crashGen   map[int]uint32             // each crashed slot's generation after its crash
	startInc   map[int]uint64             // each restarted slot's starting incarnation (its current life's)
	base       struct{ delay, jitter time.Duration }
	lossy      []link // links given a loss rate, to clear

	traffic
	verdicts

	violations []Violation
	dropped    map[Invariant]int // violations beyond maxViolations, by invariant

	trace *tracer // nil unless ExploreOptions.Trace
}

// maxViolations is how many violations of one invariant a run records (the
// rest are counted).
const maxViolations = 8

func newExplorer(s Schedule, cfg core.Config, stopAt Invariant, trace io.Writer) (*explorer, error) {
	e := &explorer{s: s, cfg: cfg, stopAt: stopAt, dropped: map[Invariant]int{}, overState: map[int]bool{}, stateBound: stateBound}
	opts := Options{Nodes: s.Nodes, Seed: s.Seed, Config: cfg, OnEvent: e.onEvent}
	if trace != nil {
		e.trace = &tracer{w: trace, e: e, asks: map[uint64]bool{}}
		opts.OnOutcome = e.trace.outcome
	}
	c, err := New(opts)
	if err != nil {
		return nil, err
	}
	c.stableIDs = true
	e.c = c
	e.b = boundsFor(c.Config(), s)
	e.base.delay, e.base.jitter = time.Duration(c.delay), time.Duration(c.jitter)
	e.traffic.init(s.Slots)
	e.verdicts.init()
	c.onHandle = e.onHandle
	c.onSend = e.onSend
	return e, nil
}

// bootstrapLimit bounds the fault-free bootstrap of the members.
const bootstrapLimit = 30 * time.Second

// settleBefore is how long the cluster runs between the bootstrap and the
// fault window, so that the bootstrap's gossip has drained.
const settleBefore = 5 * time.Second

// checkEvery is how often, after the heal, completeness and convergence are
// evaluated.
const checkEvery = 250 * time.Millisecond

func (e *explorer) run() {
	c := e.c
	cfg := c.Config()
	_, ok, err := c.Bootstrap(0, cfg.GossipInterval, bootstrapLimit)
	if err != nil || !ok {
		e.violate(InvariantConvergence, "the fault-free bootstrap of %d members did not converge within %s (error: %v)", e.s.Nodes, fmtDur(bootstrapLimit), err)
		return
	}
	for c.Len() < e.s.Slots {
		if _, err := c.AddNode(); err != nil {
			e.violate(InvariantConvergence, "cannot add joiner slot: %v", err)
			return
		}
	}
	c.Run(settleBefore)
	e.start = c.now
	e.heal = e.start + int64(e.s.Window)
	e.everySecond()
	for i := range e.s.Faults {
		f := &e.s.Faults[i]
		c.After(f.At, func() { e.begin(f) })
		if f.Kind.transient() {
			c.After(f.At+f.For, func() { e.end(f) })
		}
	}
	for c.now < e.heal && !e.stop {
		c.runTo(min(e.heal, c.now+int64(time.Second)))
	}
	if e.stop {
		return
	}
	e.healAll()
	e.settle()
}

// everySecond checks the bounded state now and schedules itself a second
// later, for the rest of the run.
func (e *explorer) everySecond() {
	e.boundedState()
	e.c.After(time.Second, e.everySecond)
}

// begin starts a fault.
func (e *explorer) begin(f *Fault) {
	c := e.c
	e.trace.fault(f, "begins")
	switch f.Kind {
	case FaultPause:
		c.Pause(f.Node, f.For)
	case FaultCrash:
		e.crash(f.Node)
	case FaultRestart, FaultRestartSameID:
		e.crash(f.Node)
	case FaultLeave:
		if c.IsRunning(f.Node) && !c.nodes[f.Node].leaving {
			_ = c.Leave(f.Node)
		}
	case FaultJoin:
		if c.nodes[f.Node].state == stateIdle {
			e.traffic.forget(f.Node)
			_ = c.Join(f.Node, e.seedsFor(f.Node)...)
		}
	}
	if f.Kind.network() {
		e.active = append(e.active, f)
	}
	e.applyNetwork()
}

// end ends a transient fault.
func (e *explorer) end(f *Fault) {
	c := e.c
	e.trace.fault(f, "ends")
	switch f.Kind {
	case FaultRestart, FaultRestartSameID:
		n := c.nodes[f.Node]
		if n.state == stateCrashed && n.gen == e.crashGen[f.Node] {
			e.traffic.forget(f.Node)
			// A restart starts above every incarnation an earlier life could
			// have reached, from a clock (virtual seconds), as core's
			// Config.InitialIncarnation asks and the hearsay agent does:
			// starting at 1, a member that never knew the predecessor cannot
			// tell the new life's Up@1 from the predecessor's later records.
			id := n.id
			inc := 1 + uint64(time.Duration(c.now)/time.Second)
			if e.startInc == nil {
				e.startInc = map[int]uint64{}
			}
			e.startInc[f.Node] = inc
			_ = c.StartWith(f.Node, func(cfg *core.Config) {
				cfg.InitialIncarnation = inc
				if f.Kind == FaultRestartSameID {
					cfg.NodeID = id
				}
			}, e.seedsFor(f.Node)...)
		}
	}
	if f.Kind.network() {
		e.active = slices.DeleteFunc(e.active, func(g *Fault) bool { return g == f })
	}
	e.applyNetwork()
}

func (e *explorer) crash(i int) {
	c := e.c
	if !c.IsRunning(i) {
		return
	}
	c.Crash(i)
	if e.crashGen == nil {
		e.crashGen = map[int]uint32{}
	}
	e.crashGen[i] = c.nodes[i].gen
	e.traffic.forget(i)
}

// seedsFor returns the seed slots a join or restart of slot i goes through.
func (e *explorer) seedsFor(i int) []int {
	return slices.DeleteFunc(slices.Clone(e.s.Seeds), func(s int) bool { return s == i })
}

// applyNetwork sets the network to what the faults in force make it: the
// base delay and no rule when none is.
func (e *explorer) applyNetwork() {
	c := e.c
	flaps := c.rules.flaps
	c.ClearLinkRules()
	for _, k := range e.lossy {
		c.SetLinkLoss(int(k.from), int(k.to), 0)
	}
	e.lossy = e.lossy[:0]
	global := 0.0
	delay, jitter := e.base.delay, e.base.jitter
	linkLoss := map[link]float64{}
	cut := e.traffic.nextCut()
	both := func(f *Fault, fn func(a, b int)) {
		for _, a := range f.From {
			for _, b := range f.To {
				fn(a, b)
				if f.Both {
					fn(b, a)
				}
			}
		}
	}
	for _, f := range e.active {
		switch f.Kind {
		case FaultLoss:
			global = max(global, f.Loss)
		case FaultLinkLoss:
			both(f, func(a, b int) { linkLoss[link{int32(a), int32(b)}] = max(linkLoss[link{int32(a), int32(b)}], f.Loss) })
		case FaultPartition, FaultOneWay:
			both(f, func(a, b int) { c.SetLinkDown(a, b, true); cut.set(a, b) })
		case FaultFlap:
			both(f, func(a, b int) {
				k := link{int32(a), int32(b)}
				fl := flap{start: e.start + int64(f.At), down: int64(f.Down), up: int64(f.Up)}
				if old, ok := flaps[k]; ok && old.start > fl.start {
					fl = old // the latest flap on a link wins
				}
				if c.rules.flaps == nil {
					c.rules.flaps = map[link]flap{}
				}
				c.rules.flaps[k] = fl
				cut.set(a, b)
			})
		case FaultDelay:
			delay, jitter = max(delay, f.Delay), max(jitter, f.Jitter)
		case FaultDeaf:
			c.SetDeaf(f.Node, true)
			cut.node(f.Node, false, true)
		case FaultMute:
			c.SetMute(f.Node, true)
			cut.node(f.Node, true, false)
		case FaultPause:
			cut.node(f.Node, true, true)
		}
	}
	// Links slower than the configuration tolerates count as cut for the
	// accuracy invariant (see toleratedDelay).
	if delay+jitter > toleratedDelay(e.cfg) {
		for i := range c.nodes {
			cut.node(i, true, true)
		}
	}
	// A slot that does not run (crashed, left, or not started yet) exchanges
	// nothing: once it runs again, only its new traffic counts.
	for i, n := range c.nodes {
		if n.state != stateRunning {
			cut.node(i, true, true)
		}
	}
	c.rules.recount()
	c.SetLoss(global)
	keys := make([]link, 0, len(linkLoss))
	for k := range linkLoss {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b link) int {
		if a.from != b.from {
			return int(a.from - b.from)
		}
		return int(a.to - b.to)
	})
	for _, k := range keys {
		p := linkLoss[k]
		if p <= global {
			continue
		}
		// The sim compounds global and link loss; this makes the link's
		// rate the larger of the two instead.
		c.SetLinkLoss(int(k.from), int(k.to), 1-(1-p)/(1-global))
		e.lossy = append(e.lossy, k)
	}
	c.SetDelay(delay, jitter)
	e.traffic.commitCut(cut, c.now)
}

// healAll ends every fault still in force at the end of the window.
func (e *explorer) healAll() {
	c := e.c
	e.active = e.active[:0]
	e.applyNetwork()
	c.Heal()
}

// settle runs after the heal until every crashed member is Dead everywhere
// and the views agree, or until the bounds pass; then, once settled, for
// Bounds.Tail more, after which the views must still agree.
func (e *explorer) settle() {
	c := e.c
	completeBy := e.heal + int64(e.b.Complete)
	convergeBy := e.heal + int64(e.b.Converge)
	complete, converged := false, false
	for !e.stop {
		if !complete {
			complete = e.completeness(c.now >= completeBy)
		}
		if !converged {
			converged = e.convergence(c.now >= convergeBy)
		}
		if complete && converged {
			e.settled = c.now
			break
		}
		if (complete || c.now >= completeBy) && c.now >= convergeBy {
			return
		}
		c.runTo(c.now + int64(checkEvery))
	}
	if e.stop {
		return
	}
	c.runTo(c.now + int64(e.b.Tail))
	if !e.stop {
		e.stillSettled()
	}
}

func (e *explorer) violate(inv Invariant, format string, args ...any) {
	if e.stop {
		return
	}
	n := 0
	for _, v := range e.violations {
		if v.Invariant == inv {
			n++
		}
	}
	if n >= maxViolations {
		e.dropped[inv]++
	} else {
		e.violations = append(e.violations, Violation{Invariant: inv, At: time.Duration(e.c.now), Detail: fmt.Sprintf(format, args...)})
	}
	if inv == e.stopAt {
		e.stop = true
	}
}

func (e *explorer) result() ExploreResult {
	r := ExploreResult{
		Schedule:   e.s,
		Bounds:     e.b,
		Violations: e.violations,
		HealAt:     time.Duration(e.heal),
		SettledAt:  time.Duration(e.settled),
		Virtual:    e.c.Elapsed(),
		Messages:   e.c.Stats().Sent,
	}
	for _, inv := range Invariants() {
		if n := e.dropped[inv]; n > 0 {
			r.Violations = append(r.Violations, Violation{Invariant: inv, At: r.Virtual, Detail: fmt.Sprintf("... and %d more %s violations", n, inv)})
		}
	}
	return r
}

// Violation is one breach of an invariant.
type Violation struct {
	Invariant Invariant
	// At is the virtual time since the run began.
	At     time.Duration
	Detail string
}

// String prints the violation on one line.
func (v Violation) String() string {
	return fmt.Sprintf("%s at %s: %s", v.Invariant, fmtDur(v.At), v.Detail)
}

// errNoFailure is returned by Shrink for a run that does not fail.
var errNoFailure = errors.New("sim: the run violates no invariant: nothing to shrink")

// zForPhi returns the number of standard deviations beyond the mean at which
// the phi-accrual detector's logistic approximation reaches phi (see
// core.PhiAccrualDetector): the y solving y(1.5976 + 0.070566y²)/ln 10 = phi.
func zForPhi(phi float64) float64 {
	lo, hi := 0.0, 100.0
	for range 100 {
		mid := (lo + hi) / 2
		if mid*(1.5976+0.070566*mid*mid)/math.Ln10 < phi {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}
