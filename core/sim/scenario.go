package sim

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// EpidemicBound returns the expected number of gossip rounds for one change
// to reach all n members with fanout k: log_{k+1} n + ln n / k.
func EpidemicBound(n, k int) float64 {
	if n < 2 || k < 1 {
		return 0
	}
	return math.Log(float64(n))/math.Log(float64(k+1)) + math.Log(float64(n))/float64(k)
}

// Bootstrap starts slot seed as the first member (if it is idle) and has every
// other idle slot join through it, each at a random moment within window;
// then it runs until the cluster has Converged, for at most limit. It returns
// the virtual time it ran and whether the cluster converged; the error is that
// of a failed start.
func (c *Cluster) Bootstrap(seed int, window, limit time.Duration) (time.Duration, bool, error) {
	if c.nodes[seed].state == stateIdle {
		if err := c.Start(seed); err != nil {
			return 0, false, err
		}
	}
	nerr := len(c.actionErr)
	for i, n := range c.nodes {
		if i == seed || n.state != stateIdle {
			continue
		}
		var at time.Duration
		if window > 0 {
			at = time.Duration(c.script.Int64N(int64(window)))
		}
		c.After(at, func() { _ = c.Join(i, seed) })
	}
	took, ok := c.RunUntil(func() bool { return len(c.actionErr) > nerr || c.allStarted() && c.Converged() }, limit)
	if len(c.actionErr) > nerr {
		return took, false, errors.Join(c.actionErr[nerr:]...)
	}
	return took, ok, nil
}

func (c *Cluster) allStarted() bool {
	for _, n := range c.nodes {
		if n.state == stateIdle {
			return false
		}
	}
	return true
}

// Scenarios lists the names RunScenario accepts.
func Scenarios() []string {
	return []string{"bootstrap", "broadcast", "crash", "leave", "loss", "meta", "partition", "pause", "restart", "spread"}
}

// ScenarioOptions configures RunScenario. Zero fields take the defaults noted.
type ScenarioOptions struct {
	// Nodes is the cluster size (default 50).
	Nodes int
	// Seed makes the run reproducible.
	Seed uint64
	// Loss is, for "loss", the loss rate of every link during the lossy phase
	// (default 0.2); for the other scenarios, a background loss rate for the
	// whole run (default 0).
	Loss float64
	// Config is the node configuration template (default
	// core.DefaultLANConfig()).
	Config core.Config
	// Duration is the length of the scenario's main phase: the lossy phase of
	// "loss" (default 10 min), the partition (default 30 s), the observation
	// after a pause (default 30 s), the pause itself is 2 s. Every scenario
	// starts once the bootstrap has settled (see RunScenario); the
	// steady-state measurement of "bootstrap", "spread" and "meta" (over two
	// anti-entropy intervals) does not depend on Duration.
	Duration time.Duration
	// Limit bounds each wait for convergence or detection (default 2 min).
	Limit time.Duration
	// Workers is Options.Workers: how many goroutines run the coordinators
	// (default 1). The report is the same whatever the number.
	Workers int
	// RunParallel is Options.RunParallel, required when Workers is above 1.
	RunParallel func(fns ...func())
}

// Check is one pass/fail assertion of a scenario.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Report is what RunScenario measured. Rounds are in units of
// Config.GossipInterval.
type Report struct {
	Scenario string  `json:"scenario"`
	Nodes    int     `json:"nodes"`
	Seed     uint64  `json:"seed"`
	Loss     float64 `json:"loss"`
	// Fanout is GossipNodes (k); GossipIntervalSeconds is one round.
	Fanout                int     `json:"fanout"`
	GossipIntervalSeconds float64 `json:"gossip_interval_seconds"`
	// BootstrapSeconds is how long the initial bootstrap took to converge.
	BootstrapSeconds float64 `json:"bootstrap_seconds"`
	// SettleSeconds is how long after that the bootstrap settled (every
	// piggyback queue empty, and at least 15 s): when the main phase, and
	// the steady-state measurement, began.
	SettleSeconds float64 `json:"settle_seconds"`
	// Converged says whether every live view agreed at the end.
	Converged bool `json:"converged"`
	// ConvergeRounds is the number of gossip rounds until every live view
	// agreed, counted from the scenario's event: the start (bootstrap), the
	// crash, the leave, the end of the loss, the heal, the end of the pause,
	// the restart, the join (spread).
	ConvergeRounds float64 `json:"converge_rounds"`
	// EpidemicBoundRounds is log_{k+1} N + ln N / k.
	EpidemicBoundRounds float64 `json:"epidemic_bound_rounds"`
	// SpreadRounds is the number of rounds until every live member knew of
	// the joining node ("spread") or held the new metadata ("meta").
	SpreadRounds float64 `json:"spread_rounds"`
	// Broadcasts ("broadcast") is how many broadcasts were sent;
	// BroadcastsReachedAll how many every other live member delivered;
	// BroadcastCoverage the mean, over the broadcasts, of the share of the
	// other live members that delivered it; BroadcastRoundsP50 and
	// BroadcastRoundsMax the median and largest number of rounds until the
	// last member delivered one of those that reached everyone;
	// BroadcastDuplicates the deliveries of a broadcast a member had
	// already delivered (there must be none).
	Broadcasts           int     `json:"broadcasts,omitempty"`
	BroadcastsReachedAll int     `json:"broadcasts_reached_all,omitempty"`
	BroadcastCoverage    float64 `json:"broadcast_coverage,omitempty"`
	BroadcastRoundsP50   float64 `json:"broadcast_rounds_p50,omitempty"`
	BroadcastRoundsMax   float64 `json:"broadcast_rounds_max,omitempty"`
	BroadcastDuplicates  int     `json:"broadcast_duplicates,omitempty"`
	// DetectSecondsP50 and DetectSecondsMax ("crash") are the median and the
	// largest time, over the live observers, from the crash until the
	// observer marked the crashed member Dead. The max is the time until every
	// live view showed it Dead.
	DetectSecondsP50 float64 `json:"detect_seconds_p50"`
	DetectSecondsMax float64 `json:"detect_seconds_max"`
	// FalseDead and FalseSuspect count the instances that some node marked
	// Dead (Suspect) while they had not crashed.
	FalseDead    int `json:"false_dead"`
	FalseSuspect int `json:"false_suspect"`
	// MsgsPerNodePerSec and BytesPerNodePerSec are what a live member sent per
	// second (bytes by core.EstimateSize), measured over the scenario's main
	// phase, or in steady state for "bootstrap" and "spread" (over two
	// anti-entropy intervals).
	MsgsPerNodePerSec  float64 `json:"msgs_per_node_per_sec"`
	BytesPerNodePerSec float64 `json:"bytes_per_node_per_sec"`
	// LargestMessageBytes is the largest EstimateSize of any message sent;
	// Oversize counts messages over MaxMessageBytes (dropped).
	LargestMessageBytes int    `json:"largest_message_bytes"`
	MaxMessageBytes     int    `json:"max_message_bytes"`
	Oversize            uint64 `json:"oversize"`
	Messages            uint64 `json:"messages"`
	HandlerErrors       uint64 `json:"handler_errors"`
	// VirtualSeconds is the simulated time of the whole run. WallSeconds is
	// left for the caller to fill (the simulator never reads the clock).
	VirtualSeconds float64 `json:"virtual_seconds"`
	WallSeconds    float64 `json:"wall_seconds"`
	// Checks are the scenario's assertions.
	Checks []Check `json:"checks"`
}

// OK reports whether every check passed.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Failures returns the failed checks, one per line, or "".
func (r *Report) Failures() string {
	var b strings.Builder
	for _, c := range r.Checks {
		if !c.OK {
			fmt.Fprintf(&b, "%s: %s\n", c.Name, c.Detail)
		}
	}
	return b.String()
}

func (r *Report) check(name string, ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

// ErrTooManyMembers is returned by RunScenario when the scenario would run
// more members than the configuration's MaxMembers lets a table hold.
var ErrTooManyMembers = errors.New("sim: more members than Config.MaxMembers")

// scenarioJoiners is how many members scenario name adds to the N it
// bootstraps.
func scenarioJoiners(name string) int {
	if name == "spread" {
		return 1
	}
	return 0
}

// RunScenario runs one named scenario (see Scenarios) and reports what it
// measured and which of its checks passed. Each starts the same way: N nodes
// join node 0 within one gossip round, the views converge, and the bootstrap
// settles: every live member's piggyback queue is empty (Drained), so the
// gossip of the N new records has ended, and at least 15 s have passed since
// the views agreed. A bootstrap
// that does not settle within 10 minutes fails the check
// "bootstrap-settled", and the scenario goes on regardless. Then:
//
//   - bootstrap: nothing more; traffic is measured in steady state.
//   - crash: a random member (never node 0) crashes; every live member must
//     mark it Dead, and no one else may ever be suspected.
//   - leave: a random member leaves gracefully; every live member must mark
//     it Removed and none Dead; it must report LeaveDone.
//   - loss: every link loses Loss (default 20%) of its messages for Duration
//     (default 10 min); no live member may be marked Dead.
//   - partition: the live members split in two halves for Duration (default
//     30 s); after the heal, one view within two AntiEntropyIntervals.
//   - pause: a random member stalls for 2 s (core.DefaultLANConfig survives
//     stalls of about 2 s, and says why no more); it must mark no one Dead, and
//     no one may mark it Dead; then Duration (default 30 s) of observation.
//   - restart: a random member crashes and, 1 s later, restarts at the same
//     authority with a new NodeID; the new instance must be Up everywhere and
//     the old one never active again.
//   - spread: steady-state traffic is measured, then one new node joins; it
//     must reach every member within 1.5 times the epidemic bound.
//   - broadcast: 100 broadcasts (Broadcast) of 64 bytes from random members,
//     one every 5 gossip rounds, under the background loss (-loss); it
//     reports how many reached every other member, the mean share of
//     members each reached and how many rounds that took. Each member must
//     deliver each broadcast at most once, and without loss the broadcasts
//     must reach 99 % of the members on average (a best-effort epidemic
//     does not promise everyone). Traffic is measured while they are sent.
//   - meta: steady-state traffic is measured, then a random member changes
//     its metadata (SetMeta); the change must reach every member within the
//     same bound as a join.
//
// Every scenario also checks that no message exceeded MaxMessageBytes and,
// but for partition, that no live member was ever marked Dead. An error means the scenario could
// not run at all (unknown name, bad options, a node that failed to start);
// a protocol that misbehaves gives failed checks, not an error.
func RunScenario(name string, o ScenarioOptions) (Report, error) {
	if !slices.Contains(Scenarios(), name) {
		return Report{}, fmt.Errorf("sim: unknown scenario %q (known: %s)", name, strings.Join(Scenarios(), ", "))
	}
	if o.Nodes == 0 {
		o.Nodes = 50
	}
	if o.Nodes < 2 {
		return Report{}, fmt.Errorf("sim: a scenario needs at least 2 nodes, got %d", o.Nodes)
	}
	if o.Loss < 0 || o.Loss >= 1 {
		return Report{}, fmt.Errorf("sim: loss must be in [0, 1), got %v", o.Loss)
	}
	if o.Duration < 0 || o.Limit < 0 {
		return Report{}, errors.New("sim: Duration and Limit must not be negative")
	}
	if o.Limit == 0 {
		o.Limit = 2 * time.Minute
	}
	lossPhase := 0.0
	background := o.Loss
	if name == "loss" {
		lossPhase, background = o.Loss, 0
		if lossPhase == 0 {
			lossPhase = 0.2
		}
	}
	nodeCfg := o.Config
	if nodeCfg.HeartbeatInterval == 0 {
		nodeCfg = core.DefaultLANConfig()
	}
	// No scenario reads topology updates; at thousands of members they are
	// most of what the nodes allocate, and nothing else depends on them.
	nodeCfg.NoTopologyUpdates = true
	// The cluster reads each outcome's member events before the node's
	// next call (track.go), and they are a fourth of what it allocates.
	nodeCfg.ReuseMemberEvents = true
	// Every member's table holds every member, and a table refuses the
	// records beyond MaxMembers: a scenario that would run more members
	// than that could only fail its checks without saying why.
	if need := o.Nodes + scenarioJoiners(name); nodeCfg.MaxMembers > 0 && need > nodeCfg.MaxMembers {
		return Report{}, fmt.Errorf("%w: scenario %q runs %d members, more than Config.MaxMembers (%d), and every table refuses the records beyond it: raise MaxMembers", ErrTooManyMembers, name, need, nodeCfg.MaxMembers)
	}
	c, err := New(Options{Nodes: o.Nodes, Seed: o.Seed, Config: nodeCfg, Loss: background, Workers: o.Workers, RunParallel: o.RunParallel})
	if err != nil {
		return Report{}, err
	}
	cfg := c.Config()
	round := cfg.GossipInterval
	r := Report{
		Scenario:              name,
		Nodes:                 o.Nodes,
		Seed:                  o.Seed,
		Loss:                  o.Loss,
		Fanout:                cfg.GossipNodes,
		GossipIntervalSeconds: round.Seconds(),
		EpidemicBoundRounds:   EpidemicBound(o.Nodes, cfg.GossipNodes),
		MaxMessageBytes:       cfg.MaxMessageBytes,
	}
	if name == "loss" {
		r.Loss = lossPhase
	}
	rounds := func(d time.Duration) float64 { return float64(d) / float64(round) }

	// Every scenario starts from a converged, settled cluster: all nodes join
	// node 0 within the first gossip round.
	took, ok, err := c.Bootstrap(0, round, o.Limit)
	if err != nil {
		return r, err
	}
	r.BootstrapSeconds = took.Seconds()
	r.check("bootstrap-converged", ok, "%d nodes joining one seed converged: %v after %v", o.Nodes, ok, took)
	if !ok {
		r.Converged = false
		r.finish(c)
		return r, nil
	}

	// converge runs until every live view agrees and records the rounds since
	// the scenario's event at from.
	converge := func(what string, from time.Duration, limit time.Duration) (time.Duration, bool) {
		_, ok := c.RunUntil(c.Converged, limit)
		d := c.Elapsed() - from
		r.Converged = ok
		r.ConvergeRounds = rounds(d)
		r.check("converged-after-"+what, ok, "every live view agreed %v after the %s: %v", d, what, ok)
		return d, ok
	}
	// measure counts what live members send while fn runs.
	measure := func(fn func()) {
		m0, b0, t0 := c.sentTotals()
		fn()
		m1, b1, t1 := c.sentTotals()
		live := float64(len(c.LiveNodes()))
		secs := (t1 - t0).Seconds()
		if live > 0 && secs > 0 {
			r.MsgsPerNodePerSec = float64(m1-m0) / live / secs
			r.BytesPerNodePerSec = float64(b1-b0) / live / secs
		}
	}
	// Once the views agree, the piggyback queues still drain for a while
	// (every record the bootstrap created is passed on about
	// RetransmitMult*log N times by every member that queued it): every
	// scenario waits for that before its main phase, and steady state is
	// measured over two anti-entropy intervals so that the digests count at
	// their true rate.
	steady := max(10*time.Second, 2*cfg.AntiEntropyInterval)
	victim := 1 + c.Rand().IntN(o.Nodes-1) // never the seed
	settled := c.Elapsed()
	c.Run(minSettle)
	_, ok = c.RunUntil(c.Drained, settleLimit-minSettle)
	r.SettleSeconds = (c.Elapsed() - settled).Seconds()
	r.check("bootstrap-settled", ok, "every piggyback queue was empty %.2fs after the views agreed: %v (bound %v)", r.SettleSeconds, ok, settleLimit)

	switch name {
	case "bootstrap":
		r.Converged = true
		r.ConvergeRounds = rounds(took)
		measure(func() { c.Run(steady) })

	case "spread":
		r.Converged = true
		measure(func() { c.Run(steady) })
		j, err := c.AddNode()
		if err != nil {
			return r, err
		}
		at := c.Elapsed()
		if err := c.Join(j, victim); err != nil {
			return r, err
		}
		id := c.NodeID(j)
		_, ok := c.RunUntil(func() bool { return c.AllLiveMarked(id, 0) }, o.Limit)
		last, _ := c.LastMarked(id, 0)
		r.SpreadRounds = rounds(last - at)
		limit := 1.5 * r.EpidemicBoundRounds
		r.check("join-reached-everyone", ok, "every live member learnt of the joining node: %v", ok)
		r.check("spread-within-1.5x-epidemic-bound", ok && r.SpreadRounds <= limit,
			"the join reached all %d members in %.2f rounds; 1.5 x bound = %.2f rounds", o.Nodes, r.SpreadRounds, limit)
		converge("join", at, o.Limit)

	case "broadcast":
		r.Converged = true
		const count = 100
		c.trackUser = true
		sent := make([]int64, count)
		from := make([]int, count)
		measure(func() {
			for k := range count {
				live := c.LiveNodes()
				from[k] = live[c.Rand().IntN(len(live))]
				sent[k] = c.now
				payload := fmt.Appendf(make([]byte, 0, 64), "broadcast %03d ", k)
				payload = append(payload, make([]byte, 64-len(payload))...)
				if err := c.Broadcast(from[k], payload); err != nil {
					return
				}
				c.Run(5 * round)
			}
			c.Run(10 * time.Second) // the last ones finish spreading
		})
		r.Broadcasts = count
		// by broadcast: the members that delivered it, and when the last did
		reached := make([]map[int]bool, count)
		last := make([]int64, count)
		for i, n := range c.nodes {
			for _, d := range n.delivered {
				var k int
				if _, err := fmt.Sscanf(string(d.msg.Payload), "broadcast %d ", &k); err != nil || k < 0 || k >= count {
					continue
				}
				if reached[k] == nil {
					reached[k] = map[int]bool{}
				}
				if reached[k][i] {
					r.BroadcastDuplicates++
					continue
				}
				reached[k][i] = true
				last[k] = max(last[k], d.at)
			}
		}
		others := len(c.LiveNodes()) - 1
		var took []float64
		for k := range count {
			r.BroadcastCoverage += float64(len(reached[k])) / float64(others) / count
			if len(reached[k]) == others {
				r.BroadcastsReachedAll++
				took = append(took, rounds(time.Duration(last[k]-sent[k])))
			}
		}
		slices.Sort(took)
		if len(took) > 0 {
			r.BroadcastRoundsP50 = took[len(took)/2]
			r.BroadcastRoundsMax = took[len(took)-1]
		}
		r.check("broadcasts-delivered-at-most-once", r.BroadcastDuplicates == 0,
			"deliveries of a broadcast already delivered: %d", r.BroadcastDuplicates)
		if o.Loss == 0 {
			// Not a guarantee: a transmit-limited epidemic misses a member
			// now and then even without loss. A regression guard, well
			// below the coverage BENCHMARKS.md measured.
			r.check("broadcasts-reach-nearly-everyone", r.BroadcastCoverage >= 0.99,
				"without loss, the broadcasts reached %.3f%% of the %d other members on average (%d of %d reached all); want >= 99%%",
				100*r.BroadcastCoverage, others, r.BroadcastsReachedAll, count)
		}

	case "meta":
		r.Converged = true
		measure(func() { c.Run(steady) })
		at := c.Elapsed()
		meta := []byte("changed-at=" + at.String())
		if err := c.SetMeta(victim, meta); err != nil {
			return r, err
		}
		id := c.NodeID(victim)
		_, ok := c.RunUntil(func() bool { return c.AllLiveMarked(id, markUpdate) }, o.Limit)
		last, _ := c.LastMarked(id, markUpdate)
		r.SpreadRounds = rounds(last - at)
		limit := 1.5 * r.EpidemicBoundRounds
		held := 0
		for _, i := range c.LiveNodes() {
			if rec, _ := c.Record(i, c.Authority(victim)); bytes.Equal(rec.Meta, meta) {
				held++
			}
		}
		r.check("meta-reached-everyone", ok && held == len(c.LiveNodes()),
			"every live member reported the update (%v) and holds the new metadata (%d of %d)", ok, held, len(c.LiveNodes()))
		r.check("meta-within-1.5x-epidemic-bound", ok && r.SpreadRounds <= limit,
			"the metadata change reached all %d members in %.2f rounds; 1.5 x bound = %.2f rounds", o.Nodes, r.SpreadRounds, limit)
		converge("metadata change", at, o.Limit)

	case "crash":
		id := c.NodeID(victim)
		at := c.Elapsed()
		measure(func() {
			c.Crash(victim)
			c.RunUntil(func() bool { return c.AllLiveMarked(id, core.StatusDead) }, o.Limit)
		})
		var times []float64
		for _, m := range c.MarkTimes(id, core.StatusDead) {
			if c.IsLive(m.Observer) {
				times = append(times, (m.At - at).Seconds())
			}
		}
		slices.Sort(times)
		live := len(c.LiveNodes())
		if len(times) > 0 {
			r.DetectSecondsP50 = times[len(times)/2]
			r.DetectSecondsMax = times[len(times)-1]
		}
		r.check("crashed-member-dead-everywhere", len(times) == live,
			"%d of %d live members marked the crashed member Dead (p50 %.2fs, max %.2fs)", len(times), live, r.DetectSecondsP50, r.DetectSecondsMax)
		converge("crash", at, o.Limit)
		if o.Loss == 0 {
			r.check("nobody-else-suspected", len(c.FalseSuspects()) == 0, "live members ever marked Suspect: %d", len(c.FalseSuspects()))
		}

	case "leave":
		id := c.NodeID(victim)
		at := c.Elapsed()
		if err := c.Leave(victim); err != nil {
			return r, err
		}
		measure(func() {
			c.RunUntil(func() bool { return c.AllLiveMarked(id, core.StatusRemoved) }, o.Limit)
		})
		r.check("left-member-removed-everywhere", c.AllLiveMarked(id, core.StatusRemoved),
			"%d of %d live members marked the leaving member Removed", c.Marked(id, core.StatusRemoved), len(c.LiveNodes()))
		converge("leave", at, o.Limit)
		_, done := c.RunUntil(func() bool { return c.HasLeft(victim) }, o.Limit)
		r.check("leave-done", done, "the leaving node reported LeaveDone: %v", done)
		r.check("left-member-never-dead", c.Marked(id, core.StatusDead) == 0,
			"members that marked the leaving member Dead: %d", c.Marked(id, core.StatusDead))

	case "loss":
		d := o.Duration
		if d == 0 {
			d = 10 * time.Minute
		}
		c.SetLoss(lossPhase)
		measure(func() { c.Run(d) })
		c.SetLoss(0)
		converge("loss", c.Elapsed(), o.Limit)
		r.check("no-false-dead-under-loss", len(c.FalseDead()) == 0,
			"%.0f%% loss on every link for %v: live members ever marked Dead: %d", 100*lossPhase, d, len(c.FalseDead()))

	case "partition":
		d := o.Duration
		if d == 0 {
			d = 30 * time.Second
		}
		live := c.LiveNodes()
		half := len(live) / 2
		measure(func() {
			c.Partition(live[:half], live[half:])
			c.Run(d)
			c.Heal()
		})
		healed, ok := converge("heal", c.Elapsed(), o.Limit)
		bound := 2 * cfg.AntiEntropyInterval
		r.check("healed-within-2-anti-entropy-intervals", ok && healed <= bound,
			"after a %d/%d partition of %v, one view again after %v (bound %v)", half, len(live)-half, d, healed, bound)

	case "pause":
		d := o.Duration
		if d == 0 {
			d = 30 * time.Second
		}
		const pause = 2 * time.Second // within what the LAN preset survives
		id := c.NodeID(victim)
		before := c.EventsTo(victim, core.StatusDead)
		measure(func() {
			c.Pause(victim, pause)
			c.Run(pause)
			resumed := c.Elapsed()
			converge("pause", resumed, o.Limit)
			c.Run(d - (c.Elapsed() - resumed))
		})
		declared := c.EventsTo(victim, core.StatusDead) - before
		r.check("paused-node-declared-no-one-dead", declared == 0,
			"after a %v pause the paused node marked %d members Dead", pause, declared)
		r.check("paused-node-not-declared-dead", c.Marked(id, core.StatusDead) == 0,
			"members that marked the paused node Dead: %d", c.Marked(id, core.StatusDead))
		r.check("still-converged", c.Converged(), "every live view agreed %v after the pause", d)

	case "restart":
		old := c.NodeID(victim)
		c.Crash(victim)
		c.Run(time.Second)
		at := c.Elapsed()
		if err := c.Restart(victim, 0); err != nil {
			return r, err
		}
		fresh := c.NodeID(victim)
		measure(func() { converge("restart", at, o.Limit) })
		c.Run(2 * cfg.AntiEntropyInterval)
		stale := 0
		for _, i := range c.LiveNodes() {
			for _, rec := range c.View(i) {
				if rec.NodeID == old && rec.Status.IsActive() {
					stale++
				}
			}
		}
		r.check("new-instance-everywhere", c.AllLiveMarked(fresh, core.StatusUp),
			"%d of %d live members saw the new instance Up", c.Marked(fresh, core.StatusUp), len(c.LiveNodes()))
		r.check("old-instance-never-back", stale == 0 && c.Ghosts() == 0,
			"live views with the old instance active: %d; events reviving it after its successor was known: %d", stale, c.Ghosts())
		r.check("still-converged", c.Converged(), "every live view agreed %v after the restart", 2*cfg.AntiEntropyInterval)
	}
	r.finish(c)
	if name != "partition" {
		r.check("no-false-dead", r.FalseDead == 0, "live members ever marked Dead: %d", r.FalseDead)
	}
	return r, nil
}

// minSettle and settleLimit bound how long RunScenario lets the bootstrap
// settle before a scenario's main phase: at least minSettle after the views
// agreed (the detectors' histories fill; and the figures stay comparable
// with those measured before the queues were watched), at most settleLimit.
const (
	minSettle   = 15 * time.Second
	settleLimit = 10 * time.Minute
)

// finish fills the run-wide figures and checks.
func (r *Report) finish(c *Cluster) {
	st := c.Stats()
	r.FalseDead = len(c.FalseDead())
	r.FalseSuspect = len(c.FalseSuspects())
	r.LargestMessageBytes = st.MaxSize
	r.Oversize = st.Oversize
	r.Messages = st.Sent
	r.HandlerErrors = st.Errors
	r.VirtualSeconds = c.Elapsed().Seconds()
	r.check("messages-within-max-bytes", st.Oversize == 0 && st.MaxSize <= r.MaxMessageBytes,
		"largest message %d bytes (EstimateSize), max %d; over the limit: %d", st.MaxSize, r.MaxMessageBytes, st.Oversize)
}

// sentTotals sums what every slot sent, with the current time.
func (c *Cluster) sentTotals() (msgs, bytes uint64, at time.Duration) {
	for _, n := range c.nodes {
		msgs += n.stats.MsgsSent
		bytes += n.stats.BytesSent
	}
	return msgs, bytes, c.Elapsed()
}
