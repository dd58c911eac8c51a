package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// FaultKind says what a Fault does.
type FaultKind uint8

const (
	// FaultLoss loses Loss of the messages on every link for For.
	FaultLoss FaultKind = iota + 1
	// FaultLinkLoss loses Loss of the messages on the links from the slots
	// From to the slots To (and back, if Both) for For.
	FaultLinkLoss
	// FaultPartition cuts both directions between the groups From and To for
	// For. Slots in neither group still reach both.
	FaultPartition
	// FaultOneWay cuts the direction from From to To for For; To still
	// reaches From.
	FaultOneWay
	// FaultFlap makes the links from From to To (and back, if Both) flap for
	// For: down for Down, up for Up, and so on.
	FaultFlap
	// FaultDelay raises every link's delay to Delay plus a jitter of up to
	// Jitter for For (so messages are reordered).
	FaultDelay
	// FaultPause stalls slot Node for For (stop-the-world; what arrives
	// meanwhile is handled when it resumes).
	FaultPause
	// FaultDeaf makes slot Node receive nothing for For; it still sends.
	FaultDeaf
	// FaultMute makes slot Node send nothing for For; it still receives.
	FaultMute
	// FaultCrash crashes slot Node for good.
	FaultCrash
	// FaultRestart crashes slot Node and, For later, starts a new instance
	// (a new NodeID) at its authority, joining through the seed slots.
	FaultRestart
	// FaultRestartSameID crashes slot Node and, For later, starts it again
	// with the same NodeID, joining through the seed slots.
	FaultRestartSameID
	// FaultLeave has slot Node leave gracefully.
	FaultLeave
	// FaultJoin starts the idle slot Node, joining through the seed slots.
	FaultJoin
)

// String names the kind.
func (k FaultKind) String() string {
	switch k {
	case FaultLoss:
		return "loss"
	case FaultLinkLoss:
		return "link-loss"
	case FaultPartition:
		return "partition"
	case FaultOneWay:
		return "one-way"
	case FaultFlap:
		return "flap"
	case FaultDelay:
		return "delay"
	case FaultPause:
		return "pause"
	case FaultDeaf:
		return "deaf"
	case FaultMute:
		return "mute"
	case FaultCrash:
		return "crash"
	case FaultRestart:
		return "restart"
	case FaultRestartSameID:
		return "restart-same-id"
	case FaultLeave:
		return "leave"
	case FaultJoin:
		return "join"
	}
	return fmt.Sprintf("fault-kind(%d)", uint8(k))
}

// transient reports whether the fault lasts For and then ends by itself.
func (k FaultKind) transient() bool {
	switch k {
	case FaultCrash, FaultLeave, FaultJoin:
		return false
	}
	return true
}

// network reports whether the fault changes the network (rather than a
// node's life).
func (k FaultKind) network() bool {
	switch k {
	case FaultLoss, FaultLinkLoss, FaultPartition, FaultOneWay, FaultFlap, FaultDelay, FaultDeaf, FaultMute, FaultPause:
		return true
	}
	return false
}

// Fault is one entry of a Schedule. Times are offsets from the start of the
// schedule's fault window.
type Fault struct {
	// ID is the fault's number in the drawn schedule, from 1. Shrinking
	// keeps the numbers, so a shrunk schedule names the faults it kept (see
	// ExploreOptions.Keep).
	ID   int
	Kind FaultKind
	// At is when the fault starts; For how long it lasts (for a restart: how
	// long the node stays down).
	At, For time.Duration
	// Node is the slot of the node kinds (pause, deaf, mute, crash,
	// restart, leave, join).
	Node int
	// From and To are the groups of the link kinds; Both applies the fault
	// in both directions.
	From, To []int
	Both     bool
	// Loss is the loss rate of FaultLoss and FaultLinkLoss.
	Loss float64
	// Delay and Jitter are FaultDelay's one-way delay and jitter.
	Delay, Jitter time.Duration
	// Down and Up are the phases of FaultFlap.
	Down, Up time.Duration
}

// String describes the fault on one line, with its times.
func (f Fault) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%3d. +%-8s ", f.ID, fmtDur(f.At))
	if f.Kind.transient() {
		fmt.Fprintf(&b, "for %-8s ", fmtDur(f.For))
	} else {
		b.WriteString("             ")
	}
	arrow := "->"
	if f.Both {
		arrow = "<->"
	}
	switch f.Kind {
	case FaultLoss:
		fmt.Fprintf(&b, "loss %.0f%% on every link", 100*f.Loss)
	case FaultLinkLoss:
		fmt.Fprintf(&b, "loss %.0f%% on links %s %s %s", 100*f.Loss, fmtSlots(f.From), arrow, fmtSlots(f.To))
	case FaultPartition:
		fmt.Fprintf(&b, "partition %s | %s", fmtSlots(f.From), fmtSlots(f.To))
	case FaultOneWay:
		fmt.Fprintf(&b, "one-way cut %s -> %s (the reverse direction works)", fmtSlots(f.From), fmtSlots(f.To))
	case FaultFlap:
		fmt.Fprintf(&b, "flap links %s %s %s: down %s, up %s", fmtSlots(f.From), arrow, fmtSlots(f.To), fmtDur(f.Down), fmtDur(f.Up))
	case FaultDelay:
		fmt.Fprintf(&b, "delay %s + jitter up to %s on every link", fmtDur(f.Delay), fmtDur(f.Jitter))
	case FaultPause:
		fmt.Fprintf(&b, "pause node %d", f.Node)
	case FaultDeaf:
		fmt.Fprintf(&b, "node %d deaf (sends, receives nothing)", f.Node)
	case FaultMute:
		fmt.Fprintf(&b, "node %d mute (receives, sends nothing)", f.Node)
	case FaultCrash:
		fmt.Fprintf(&b, "crash node %d", f.Node)
	case FaultRestart:
		fmt.Fprintf(&b, "crash node %d, restart with a new node ID after %s", f.Node, fmtDur(f.For))
	case FaultRestartSameID:
		fmt.Fprintf(&b, "crash node %d, restart with the same node ID after %s", f.Node, fmtDur(f.For))
	case FaultLeave:
		fmt.Fprintf(&b, "node %d leaves gracefully", f.Node)
	case FaultJoin:
		fmt.Fprintf(&b, "node %d joins", f.Node)
	default:
		b.WriteString(f.Kind.String())
	}
	return strings.TrimRight(b.String(), " ")
}

// Schedule is a fault schedule: a cluster of Nodes members bootstraps and
// settles, the faults play out within a window of length Window, everything
// heals at the window's end, and the cluster settles again. It is drawn from
// a seed (DrawSchedule) and fully determines a run with that seed.
type Schedule struct {
	Seed uint64
	// Nodes is the number of members bootstrapped; Slots adds the idle slots
	// of the joiners (FaultJoin), numbered from Nodes.
	Nodes, Slots int
	// Seeds are the slots every join and restart goes through; no fault
	// crashes, restarts or removes them (they may be paused, cut off, deaf
	// or mute).
	Seeds []int
	// Window is the length of the fault window. Every transient fault ends
	// within it; at its end the network heals.
	Window time.Duration
	// TombstoneRetention and QuarantineTTL override the configuration's when
	// not zero: half the schedules shorten them so that faults that outlast
	// a tombstone fit in a short run.
	TombstoneRetention, QuarantineTTL time.Duration
	// Faults, in order of At.
	Faults []Fault
}

// String prints the schedule, one fault per line.
func (s Schedule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "schedule of seed %d: %d members", s.Seed, s.Nodes)
	if s.Slots > s.Nodes {
		fmt.Fprintf(&b, " (+%d joiners)", s.Slots-s.Nodes)
	}
	fmt.Fprintf(&b, ", seeds %s, fault window %s", fmtSlots(s.Seeds), fmtDur(s.Window))
	if s.TombstoneRetention > 0 {
		fmt.Fprintf(&b, ", TombstoneRetention %s, QuarantineTTL %s", fmtDur(s.TombstoneRetention), fmtDur(s.QuarantineTTL))
	}
	fmt.Fprintf(&b, ", %d faults (times from the window's start):\n", len(s.Faults))
	for _, f := range s.Faults {
		b.WriteString("  ")
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// validate checks a schedule given to Explore: enough members, faults
// naming slots that exist, times inside the window, rates and durations in
// range.
func (s Schedule) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("sim: schedule of seed %d: "+format, append([]any{s.Seed}, a...)...)
	}
	switch {
	case s.Nodes < minExploreNodes:
		return bad("needs at least %d members, has %d", minExploreNodes, s.Nodes)
	case s.Slots < s.Nodes:
		return bad("Slots %d is below Nodes %d", s.Slots, s.Nodes)
	case s.Window <= 0:
		return bad("the window must be > 0, got %v", s.Window)
	case s.TombstoneRetention < 0 || s.QuarantineTTL < 0:
		return bad("negative retention")
	}
	slot := func(i int) bool { return i >= 0 && i < s.Slots }
	for _, seed := range s.Seeds {
		if !slot(seed) || seed >= s.Nodes {
			return bad("seed slot %d is not a member", seed)
		}
	}
	for _, f := range s.Faults {
		switch {
		case f.Kind < FaultLoss || f.Kind > FaultJoin:
			return bad("fault %d: unknown kind %d", f.ID, f.Kind)
		case f.At < 0 || f.At > s.Window:
			return bad("fault %d starts at %v, outside the window of %v", f.ID, f.At, s.Window)
		case f.Kind.transient() && (f.For < 0 || f.At+f.For > s.Window):
			return bad("fault %d lasts %v from %v, beyond the window of %v", f.ID, f.For, f.At, s.Window)
		case f.Loss < 0 || f.Loss > 1:
			return bad("fault %d: loss %v outside [0, 1]", f.ID, f.Loss)
		case f.Delay < 0 || f.Jitter < 0:
			return bad("fault %d: negative delay or jitter", f.ID)
		case f.Kind == FaultFlap && (f.Down <= 0 || f.Up <= 0):
			return bad("fault %d: a flap needs Down and Up > 0", f.ID)
		case f.Kind == FaultJoin && (f.Node < s.Nodes || !slot(f.Node)):
			return bad("fault %d: a joiner must be an extra slot (from %d to %d), not %d", f.ID, s.Nodes, s.Slots-1, f.Node)
		case !slot(f.Node):
			return bad("fault %d: no slot %d", f.ID, f.Node)
		case len(s.Seeds) == 0 && (f.Kind == FaultJoin || f.Kind == FaultRestart || f.Kind == FaultRestartSameID):
			return bad("fault %d: a %s needs seed slots to join through", f.ID, f.Kind)
		}
		for _, g := range [][]int{f.From, f.To} {
			for _, i := range g {
				if !slot(i) {
					return bad("fault %d: no slot %d", f.ID, i)
				}
			}
		}
	}
	return nil
}

// Keep returns the schedule with only the faults whose IDs are listed.
func (s Schedule) Keep(ids []int) Schedule {
	out := s
	out.Faults = nil
	for _, f := range s.Faults {
		if slices.Contains(ids, f.ID) {
			out.Faults = append(out.Faults, f)
		}
	}
	return out
}

// IDs returns the IDs of the schedule's faults.
func (s Schedule) IDs() []int {
	ids := make([]int, len(s.Faults))
	for i, f := range s.Faults {
		ids[i] = f.ID
	}
	return ids
}

// Fault-drawing limits. The network faults stay within what a correct
// protocol can be asked to survive: a link loses at most maxLoss of its
// messages (global and per-link loss combine as the larger of the two, not
// compounded), and a delay spike stays under half the detector's pause
// allowance (see DrawSchedule).
const (
	maxLoss         = 0.6
	maxPause        = 10 * time.Second
	minWindow       = 15 * time.Second
	maxWindow       = 90 * time.Second
	maxFaults       = 12
	maxJoins        = 3
	maxRestartDown  = 20 * time.Second
	minShortRetain  = 20 * time.Second
	maxShortRetain  = 60 * time.Second
	minFaultLength  = 500 * time.Millisecond
	minFlapPhase    = 300 * time.Millisecond
	maxFlapPhase    = 5 * time.Second
	exploreSeedsLen = 3
	longFaults      = 4 // one transient fault in longFaults is drawn long
)

// faultWeights is how often each kind is drawn, relative to the others.
var faultWeights = []struct {
	kind   FaultKind
	weight int
}{
	{FaultLoss, 2}, {FaultLinkLoss, 2}, {FaultPartition, 3}, {FaultOneWay, 2}, {FaultFlap, 1},
	{FaultDelay, 1}, {FaultPause, 2}, {FaultDeaf, 1}, {FaultMute, 1}, {FaultCrash, 2},
	{FaultRestart, 1}, {FaultRestartSameID, 1}, {FaultLeave, 1}, {FaultJoin, 1},
}

// DrawSchedule draws the fault schedule of a seed for a cluster of nodes
// members (at least 5) under cfg (whose PhiAcceptablePause bounds the delay
// spikes). The same arguments always give the same schedule.
//
// The window lasts 15 to 90 s and holds 1 to 12 faults, each starting at a
// uniform time in it; a transient fault lasts a log-uniform time between
// 0.5 s and the rest of the window or, one time in four, between half and
// all of the rest (so that faults outlasting a tombstone are common); a pause
// lasts at most 10 s, a restart's downtime at most 20 s. Loss rates are uniform up to 60 %. A delay spike
// sets a delay and a jitter each up to half of PhiAcceptablePause, so that
// no heartbeat gap grows past what the detector tolerates: a correct protocol
// must not lose a member to a delay alone. Groups are one node (a third of
// the time) or up to half the members; the other side is everyone else half
// the time, else a random part of the rest. Slots 0, 1 and 2 are the seeds:
// they are never crashed, restarted or removed (a real cluster keeps its
// seeds up), and at most a quarter of the members crash or leave for good;
// each node has at most one crash, restart or leave. Up to three new nodes
// join. Half the schedules shorten TombstoneRetention to 20–60 s (and
// QuarantineTTL to at most that), so that faults outlasting a tombstone
// occur.
func DrawSchedule(seed uint64, nodes int, cfg core.Config) Schedule {
	rng := rand.New(rand.NewPCG(seed, 0x6578706c6f7265))
	s := Schedule{Seed: seed, Nodes: nodes, Slots: nodes}
	for i := range min(exploreSeedsLen, nodes) {
		s.Seeds = append(s.Seeds, i)
	}
	s.Window = minWindow + time.Duration(rng.Int64N(int64(maxWindow-minWindow)))
	if rng.IntN(2) == 0 {
		s.TombstoneRetention = minShortRetain + time.Duration(rng.Int64N(int64(maxShortRetain-minShortRetain)))
		s.TombstoneRetention = s.TombstoneRetention.Round(time.Second)
		s.QuarantineTTL = (s.TombstoneRetention/2 + time.Duration(rng.Int64N(int64(s.TombstoneRetention/2)))).Round(time.Second)
	}
	// Lifecycle victims: the non-seed members, in a random order.
	var victims []int
	for i := len(s.Seeds); i < nodes; i++ {
		victims = append(victims, i)
	}
	rng.Shuffle(len(victims), func(i, j int) { victims[i], victims[j] = victims[j], victims[i] })
	removals, maxRemovals := 0, nodes/4
	total := 0
	for _, w := range faultWeights {
		total += w.weight
	}
	maxDelay := max(time.Millisecond, cfg.PhiAcceptablePause/2)
	n := 1 + rng.IntN(maxFaults)
	for len(s.Faults) < n {
		pick := rng.IntN(total)
		kind := faultWeights[0].kind
		for _, w := range faultWeights {
			if pick < w.weight {
				kind = w.kind
				break
			}
			pick -= w.weight
		}
		f := Fault{Kind: kind, At: time.Duration(rng.Int64N(int64(s.Window))).Round(time.Millisecond)}
		rest := s.Window - f.At
		length := func(limit time.Duration) time.Duration {
			hi := min(rest, limit)
			if hi <= minFaultLength {
				return hi
			}
			if rng.IntN(longFaults) == 0 {
				// A long fault: most of what is left of the window.
				return (hi/2 + time.Duration(rng.Int64N(int64(hi/2)))).Round(time.Millisecond)
			}
			lo := math.Log(float64(minFaultLength))
			d := math.Exp(lo + rng.Float64()*(math.Log(float64(hi))-lo))
			return min(hi, time.Duration(d).Round(time.Millisecond))
		}
		switch kind {
		case FaultLoss:
			f.For = length(rest)
			f.Loss = roundRate(0.05 + rng.Float64()*(maxLoss-0.05))
		case FaultLinkLoss:
			f.For = length(rest)
			f.Loss = roundRate(0.05 + rng.Float64()*(maxLoss-0.05))
			f.From, f.To = drawGroups(rng, s.Slots)
			f.Both = rng.IntN(2) == 0
		case FaultPartition:
			f.For = length(rest)
			f.From, f.To = drawGroups(rng, s.Slots)
			f.Both = true
		case FaultOneWay:
			f.For = length(rest)
			f.From, f.To = drawGroups(rng, s.Slots)
		case FaultFlap:
			f.For = length(rest)
			f.From, f.To = drawGroups(rng, s.Slots)
			f.Both = rng.IntN(2) == 0
			phase := func() time.Duration {
				return (minFlapPhase + time.Duration(rng.Int64N(int64(maxFlapPhase-minFlapPhase)))).Round(time.Millisecond)
			}
			f.Down, f.Up = phase(), phase()
		case FaultDelay:
			f.For = length(rest)
			f.Delay = time.Duration(rng.Int64N(int64(maxDelay))).Round(time.Millisecond)
			f.Jitter = time.Duration(rng.Int64N(int64(maxDelay))).Round(time.Millisecond)
		case FaultPause:
			f.For = length(maxPause)
			f.Node = rng.IntN(s.Slots)
		case FaultDeaf, FaultMute:
			f.For = length(rest)
			f.Node = rng.IntN(s.Slots)
		case FaultCrash, FaultLeave:
			if len(victims) == 0 || removals >= maxRemovals {
				continue
			}
			removals++
			f.Node, victims = victims[0], victims[1:]
		case FaultRestart, FaultRestartSameID:
			if len(victims) == 0 {
				continue
			}
			f.Node, victims = victims[0], victims[1:]
			f.For = length(maxRestartDown)
		case FaultJoin:
			if s.Slots-s.Nodes >= maxJoins {
				continue
			}
			f.Node = s.Slots
			s.Slots++
		}
		s.Faults = append(s.Faults, f)
	}
	slices.SortStableFunc(s.Faults, func(a, b Fault) int { return int(a.At - b.At) })
	for i := range s.Faults {
		s.Faults[i].ID = i + 1
	}
	return s
}

// drawGroups draws two disjoint, non-empty groups of slots: the first is one
// slot a third of the time, else up to half of them; the second is all the
// others half the time, else a random part of them.
func drawGroups(rng *rand.Rand, slots int) (a, b []int) {
	perm := rng.Perm(slots)
	size := 1
	if rng.IntN(3) != 0 {
		size = 1 + rng.IntN(max(1, slots/2))
	}
	a, rest := perm[:size], perm[size:]
	if rng.IntN(2) == 0 {
		b = rest
	} else {
		b = rest[:1+rng.IntN(len(rest))]
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return a, b
}

func roundRate(p float64) float64 { return math.Round(p*100) / 100 }

// fmtDur prints a duration compactly: "1.5s", "250ms", "2m30s".
func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(10 * time.Millisecond).String()
	}
}

// fmtSlots prints a set of slots with ranges: "{0-2,5,7-9}".
func fmtSlots(slots []int) string {
	s := slices.Clone(slots)
	slices.Sort(s)
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(s[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(s[j]))
		}
		i = j + 1
	}
	b.WriteByte('}')
	return b.String()
}
