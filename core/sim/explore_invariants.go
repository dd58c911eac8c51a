package sim

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// Invariant names a property the explorer checks.
type Invariant uint8

const (
	// InvariantCompleteness: a crashed member is Dead at every live member
	// within ExploreBounds.Complete of the heal (see explorer.completeness).
	InvariantCompleteness Invariant = iota + 1
	// InvariantConvergence: every live view agrees within
	// ExploreBounds.Converge of the heal, and still does
	// ExploreBounds.Tail later (see explorer.convergence).
	InvariantConvergence
	// InvariantAccuracy: a member that exchanges datagrams with at least
	// half the cluster is never declared Dead (see explorer.accuracy).
	InvariantAccuracy
	// InvariantNoResurrection: a crashed or departed instance, once Dead or
	// Removed at an observer, never becomes active there again (see
	// explorer.noResurrection).
	InvariantNoResurrection
	// InvariantBoundedState: every coordinator's bookkeeping about other
	// nodes stays within a multiple of its table's size plus a constant (see
	// explorer.boundedState).
	InvariantBoundedState
)

// Invariants lists every invariant the explorer checks.
func Invariants() []Invariant {
	return []Invariant{InvariantCompleteness, InvariantConvergence, InvariantAccuracy, InvariantNoResurrection, InvariantBoundedState}
}

// String names the invariant.
func (i Invariant) String() string {
	switch i {
	case InvariantCompleteness:
		return "completeness"
	case InvariantConvergence:
		return "convergence"
	case InvariantAccuracy:
		return "accuracy"
	case InvariantNoResurrection:
		return "no-resurrection"
	case InvariantBoundedState:
		return "bounded-state"
	}
	return fmt.Sprintf("invariant(%d)", uint8(i))
}

// ExploreBounds are the time bounds of a run's invariants, derived from the
// configuration and the schedule (see boundsFor for the derivation).
type ExploreBounds struct {
	// Detect is the longest a monitor's detector takes, after a member's
	// last heartbeat, to suspect it.
	Detect time.Duration
	// Complete is how long after the heal every crashed member must be Dead
	// (or gone) at every live member.
	Complete time.Duration
	// Converge is how long after the heal every live view must agree.
	Converge time.Duration
	// AccuracyWindow is the window before a Dead verdict over which the
	// accused member's traffic is measured.
	AccuracyWindow time.Duration
	// Tail is how long the cluster must stay settled once it has.
	Tail time.Duration
}

// String prints the bounds on one line.
func (b ExploreBounds) String() string {
	return fmt.Sprintf("detect %s, complete %s, converge %s after the heal; accuracy window %s; tail %s",
		fmtDur(b.Detect), fmtDur(b.Complete), fmtDur(b.Converge), fmtDur(b.AccuracyWindow), fmtDur(b.Tail))
}

// reconnectBackoffCap is core's cap on the doubling reconnect backoff, in
// ReconnectIntervals (core's maxReconnectBackoff): a member probes each Dead
// member at least that often.
const reconnectBackoffCap = 4

// aeJitter is core's spread of the anti-entropy interval: each exchange comes
// within ±25 % of AntiEntropyInterval, so at most 1.25 intervals apart.
const aeJitter = 1.25

// boundsFor derives a run's bounds from the configuration (with the
// schedule's overrides applied) and the schedule. With H the heal, every
// bound is a sum of protocol steps that each must finish, in order, in the
// worst case the schedule allows:
//
//   - Detect, the detector's reaction to a member gone silent: phi reaches
//     PhiThreshold at mean + PhiAcceptablePause + z·stddev after the last
//     heartbeat, z solving the detector's logistic for the threshold (5.2
//     for 8). The history is the worst the faults can leave: heartbeats
//     every HeartbeatInterval lost at the largest rate a schedule applies to
//     a link (maxLoss = 60 %), whose gaps are geometric: mean HB/(1-p),
//     stddev HB·√p/(1-p) (at least PhiMinStdDev). Plus a detector check
//     interval (HB/4) and a heartbeat interval of phase. LAN: 8.4 s.
//   - Health: a member whose local health rose (a pause ended at the heal)
//     acts on a threshold and timeouts stretched by (1 + score) until the
//     score decays, one step per HeartbeatInterval on time:
//     MaxLocalHealth × HeartbeatInterval. LAN: 4 s.
//   - Spread: a record one member holds reaches every live member by the
//     next periodic anti-entropy exchange at the latest (gossip and the
//     heartbeat hash comparison are faster): 1.25 × AntiEntropyInterval.
//     LAN: 12.5 s.
//   - Reconnect: members on both sides of a healed partition probe the
//     Dead members at least every reconnectBackoffCap × ReconnectInterval;
//     a probed member refutes and the refutation spreads: that plus Spread.
//     LAN: 32.5 s.
//   - Complete = Health + Reconnect + rounds × (Detect +
//     SuspicionMaxTimeout) + Spread. Once the live members are back in one
//     ring, each crashed member has a live monitor whose detector suspects
//     it within Detect; the suspicion, unconfirmed, lasts at most
//     SuspicionMaxTimeout; the Dead record then spreads. Crashed members
//     that follow one another on the ring hide one another from live
//     monitors: with g members crashed or gone for good, ceil(g /
//     MonitorCount) rounds (at least one). LAN, one round: 63.4 s.
//   - Converge = Complete: once every crashed member is Dead everywhere and
//     the live members are back, the views agree after one more Spread,
//     which Complete already ends with. LAN, one round: 63.4 s.
//   - AccuracyWindow = HeartbeatInterval + PhiAcceptablePause +
//     SuspicionMaxTimeout: from a member's last heartbeat a monitor heard to
//     the latest a healthy monitor declares it Dead (no confirmation, a
//     history of regular heartbeats): the span in which the protocol
//     decided. LAN: 8 s.
//   - Tail = AccuracyWindow: a settled cluster must stay settled for as long
//     as a verdict takes.
func boundsFor(cfg core.Config, s Schedule) ExploreBounds {
	hb := cfg.HeartbeatInterval
	z := zForPhi(cfg.PhiThreshold)
	mean := float64(hb) / (1 - maxLoss)
	std := max(float64(hb)*math.Sqrt(maxLoss)/(1-maxLoss), float64(cfg.PhiMinStdDev))
	detect := time.Duration(mean+float64(cfg.PhiAcceptablePause)+z*std) + max(time.Millisecond, hb/4) + hb
	health := time.Duration(cfg.MaxLocalHealth) * hb
	spread := time.Duration(aeJitter * float64(cfg.AntiEntropyInterval))
	reconnect := reconnectBackoffCap*cfg.ReconnectInterval + spread
	gone := 0
	for _, f := range s.Faults {
		if f.Kind == FaultCrash || f.Kind == FaultLeave {
			gone++
		}
	}
	rounds := max(1, (gone+cfg.MonitorCount-1)/cfg.MonitorCount)
	complete := health + reconnect + time.Duration(rounds)*(detect+cfg.SuspicionMaxTimeout) + spread
	window := hb + cfg.PhiAcceptablePause + cfg.SuspicionMaxTimeout
	return ExploreBounds{
		Detect:         detect,
		Complete:       complete,
		Converge:       complete,
		AccuracyWindow: window,
		Tail:           window,
	}
}

// running reports whether the instance id runs now (paused or not, leaving
// or not).
func (e *explorer) running(id string) bool {
	inst := e.c.instances[id]
	if inst == nil {
		return false
	}
	n := e.c.nodes[inst.slot]
	return n.state == stateRunning && n.id == id
}

// gone returns the NodeIDs of the instances that ran and no longer do
// (crashed, or left), sorted.
func (e *explorer) gone() []string {
	var out []string
	for id := range e.c.instances {
		if !e.running(id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// completeness checks that every crashed member is Dead at every live
// member: no live member's view holds a crashed (or departed) instance as
// active — its record there is a tombstone, or another instance's, or gone.
// Bound: ExploreBounds.Complete after the heal (see boundsFor). Called after
// the heal until it holds; final says the bound has passed, so a miss is a
// violation. It reports whether the property holds.
func (e *explorer) completeness(final bool) bool {
	c := e.c
	var missing []string
	for _, id := range e.gone() {
		inst := c.instances[id]
		a := c.nodes[inst.slot].authority
		var holders []int
		for _, i := range c.LiveNodes() {
			if r, ok := c.nodes[i].coord.Member(a); ok && r.NodeID == id && r.Status.IsActive() {
				holders = append(holders, i)
			}
		}
		if len(holders) > 0 {
			what := "left"
			if inst.crashed {
				what = "crashed at " + fmtDur(time.Duration(inst.crashedAt))
			}
			missing = append(missing, fmt.Sprintf("node %d's instance %s (%s) is still active at %d live members %s",
				inst.slot, id, what, len(holders), fmtSlots(holders)))
		}
	}
	if len(missing) == 0 {
		return true
	}
	if final {
		e.violate(InvariantCompleteness, "%s after the heal (bound %s): %s",
			fmtDur(time.Duration(c.now-e.heal)), fmtDur(e.b.Complete), strings.Join(missing, "; "))
	}
	return false
}

// convergence checks that every live view agrees: each live member's active
// records are exactly the live members, with their current NodeIDs, all Up
// (Cluster.Converged), and every live member holds the same table,
// tombstones included (the authority, NodeID, status and incarnation of
// every record): anti-entropy compares tombstones too, so views that differ
// there keep exchanging. Bound: ExploreBounds.Converge after the heal (see
// boundsFor). Called after the heal until it holds; final says the bound has
// passed. It reports whether the property holds.
func (e *explorer) convergence(final bool) bool {
	c := e.c
	if c.Converged() {
		diff := e.tableSplit()
		if diff == "" {
			return true
		}
		if final {
			e.violate(InvariantConvergence, "%s after the heal (bound %s) the active views agree but the tables do not: %s",
				fmtDur(time.Duration(c.now-e.heal)), fmtDur(e.b.Converge), diff)
		}
		return false
	}
	if final {
		e.violate(InvariantConvergence, "%s after the heal (bound %s) the live views still disagree: %s",
			fmtDur(time.Duration(c.now-e.heal)), fmtDur(e.b.Converge), e.viewSplit())
	}
	return false
}

// stillSettled checks, Tail after the cluster settled, that it still is.
func (e *explorer) stillSettled() {
	c := e.c
	if !c.Converged() {
		e.violate(InvariantConvergence, "the views agreed at %s but no longer do %s later: %s",
			fmtDur(time.Duration(e.settled)), fmtDur(e.b.Tail), e.viewSplit())
	}
}

// viewSplit describes how the live active views differ from the truth.
func (e *explorer) viewSplit() string {
	c := e.c
	live := map[string]string{}
	for _, i := range c.LiveNodes() {
		live[c.nodes[i].authority] = c.nodes[i].id
	}
	var parts []string
	for _, i := range c.LiveNodes() {
		n := c.nodes[i]
		if n.coord.State() != core.CoordinatorMember {
			parts = append(parts, fmt.Sprintf("node %d's coordinator is %s", i, n.coord.State()))
			continue
		}
		if c.ConvergedAt(i) {
			continue
		}
		var wrong []string
		seen := map[string]bool{}
		for _, r := range n.coord.Records() {
			if !r.Status.IsActive() {
				if live[r.Authority] == r.NodeID && r.Authority != n.authority {
					wrong = append(wrong, fmt.Sprintf("node %d %s", e.slotOf(r.Authority), r.Status))
					seen[r.Authority] = true
				}
				continue
			}
			seen[r.Authority] = true
			switch {
			case live[r.Authority] == "":
				wrong = append(wrong, fmt.Sprintf("gone node %d %s", e.slotOf(r.Authority), r.Status))
			case live[r.Authority] != r.NodeID:
				wrong = append(wrong, fmt.Sprintf("node %d's old instance %s", e.slotOf(r.Authority), r.Status))
			case r.Status != core.StatusUp:
				wrong = append(wrong, fmt.Sprintf("node %d %s", e.slotOf(r.Authority), r.Status))
			}
		}
		absent := 0
		for a := range live {
			if !seen[a] && a != n.authority {
				absent++
			}
		}
		if absent > 0 {
			wrong = append(wrong, fmt.Sprintf("%d live members absent", absent))
		}
		if len(wrong) > 6 {
			wrong = append(wrong[:6], fmt.Sprintf("%d more", len(wrong)-6))
		}
		parts = append(parts, fmt.Sprintf("node %d sees %s", i, strings.Join(wrong, ", ")))
		if len(parts) >= 6 {
			parts = append(parts, "...")
			break
		}
	}
	return strings.Join(parts, "; ")
}

// tableSplit returns "" when every live member holds the same table, else a
// description of the groups of members holding the same one.
func (e *explorer) tableSplit() string {
	c := e.c
	byHash := map[uint64][]int{}
	var order []uint64
	for _, i := range c.LiveNodes() {
		h := fnv.New64a()
		var buf []byte
		for _, r := range c.nodes[i].coord.Records() {
			buf = append(buf[:0], r.Authority...)
			buf = append(buf, 0)
			buf = append(buf, r.NodeID...)
			buf = binary.LittleEndian.AppendUint64(append(buf, 0, byte(r.Status)), r.Incarnation)
			_, _ = h.Write(buf)
		}
		k := h.Sum64()
		if _, ok := byHash[k]; !ok {
			order = append(order, k)
		}
		byHash[k] = append(byHash[k], i)
	}
	if len(order) <= 1 {
		return ""
	}
	var parts []string
	for _, k := range order {
		members := byHash[k]
		parts = append(parts, fmt.Sprintf("%s hold %d records", fmtSlots(members), len(c.nodes[members[0]].coord.Records())))
	}
	return fmt.Sprintf("%d different tables: %s; first difference: %s", len(order), strings.Join(parts, "; "),
		e.recordDiff(byHash[order[0]][0], byHash[order[1]][0]))
}

// recordDiff describes the first record (by authority) that nodes a and b
// hold differently, for a violation report.
func (e *explorer) recordDiff(a, b int) string {
	held := func(i int) map[string]core.NodeRecord {
		m := map[string]core.NodeRecord{}
		for _, r := range e.c.nodes[i].coord.Records() {
			m[r.Authority] = r
		}
		return m
	}
	ra, rb := held(a), held(b)
	var auths []string
	for k := range ra {
		auths = append(auths, k)
	}
	for k := range rb {
		if _, ok := ra[k]; !ok {
			auths = append(auths, k)
		}
	}
	slices.Sort(auths)
	show := func(r core.NodeRecord, ok bool) string {
		if !ok {
			return "nothing"
		}
		return fmt.Sprintf("%s@%d (instance %s)", r.Status, r.Incarnation, r.NodeID)
	}
	for _, k := range auths {
		x, okx := ra[k]
		y, oky := rb[k]
		if okx != oky || x.NodeID != y.NodeID || x.Status != y.Status || x.Incarnation != y.Incarnation {
			return fmt.Sprintf("node %d holds %s of node %d, node %d holds %s", a, show(x, okx), e.slotOf(k), b, show(y, oky))
		}
	}
	return "none"
}

// slotOf returns the slot of an authority, or -1.
func (e *explorer) slotOf(a string) int {
	if i, ok := e.c.byAuth[a]; ok {
		return int(i)
	}
	return -1
}

// verdicts remembers, per observer life (see life) and subject instance,
// what the observer held, for noResurrection, and which accusations accuracy already
// reported.
type verdicts struct {
	tomb    map[[2]string]uint64 // the observer life marked the subject Dead or Removed: the highest such incarnation, plus one
	known   map[[2]string]bool   // the observer had an event of the subject
	accused map[string]int       // subject NodeID@incarnation → index of its accuracy violation
	origin  map[string]origin    // subject NodeID@incarnation → the first node that held it Dead
	// suspected is when the observer life last held the subject Suspect
	// after holding it otherwise, for the accuracy report (how long the
	// suspicion lasted before the verdict).
	suspected map[[2]string]int64
}

// origin is the first node that held an instance Dead at an incarnation
// (where the verdict was reached, unless it came from outside the cluster's
// view), for the accuracy report: whether that node was itself connected
// tells a minority's verdict from a majority's.
type origin struct {
	node  int
	at    int64
	peers int // members it exchanged datagrams with both ways then (see connected)
}

func (v *verdicts) init() {
	v.tomb = map[[2]string]uint64{}
	v.known = map[[2]string]bool{}
	v.accused = map[string]int{}
	v.origin = map[string]origin{}
	v.suspected = map[[2]string]int64{}
}

// noteOrigin remembers the first node to hold ev's instance Dead at its
// incarnation.
func (e *explorer) noteOrigin(node int, ev core.MemberEvent) {
	key := fmt.Sprintf("%s@%d", ev.Record.NodeID, ev.Record.Incarnation)
	if _, ok := e.verdicts.origin[key]; ok {
		return
	}
	now := e.c.now
	e.verdicts.origin[key] = origin{node: node, at: now,
		peers: len(e.connected(node, now, int64(e.b.AccuracyWindow), int64(e.c.Config().SuspicionMinTimeout)))}
}

// halfOf is the least number of other members that is at least half of a
// cluster of members running members: members/2 rounded up. In a cluster of
// 20, 10 of the 19 others are half of it; in a cluster of 31, 15 of the 30
// others are not (15 < 15.5): with 16 needed, two groups that each reach
// half the cluster share at least three members (members/2 rounded down
// would let two sides of a 15|15 split joined by one node both count as
// half).
func halfOf(members int) int { return (members + 1) / 2 }

// life names the current life of a slot's node: a coordinator started there
// (a restart with the same NodeID is a new life, with a fresh table).
func (e *explorer) life(slot int) string {
	return fmt.Sprintf("%d#%d", slot, e.c.nodes[slot].starts)
}

// onHandle is the cluster's hook for every message a node handles.
func (e *explorer) onHandle(from, to int32, m *core.Message) {
	e.traffic.handled(from, to, e.c.now)
	e.trace.message(true, int(from), int(to), m)
}

// onSend is the cluster's hook for every message sent to a known slot.
func (e *explorer) onSend(from, to int32) { e.traffic.sending(from, to, e.c.now) }

// onEvent is the cluster's hook for every member event.
func (e *explorer) onEvent(node int, ev core.MemberEvent) {
	if e.c == nil {
		return
	}
	e.trace.event(node, ev)
	if ev.Conflict {
		return
	}
	obs := e.life(node)
	subj := ev.Record.NodeID
	key := [2]string{obs, subj}
	switch {
	case ev.To == core.StatusDead || ev.To == core.StatusRemoved:
		if ev.To == core.StatusDead && !ev.Replaced { // a replaced instance restarted: no verdict
			e.noteOrigin(node, ev)
			e.accuracy(node, ev)
		}
		e.verdicts.tomb[key] = max(e.verdicts.tomb[key], ev.Record.Incarnation+1)
	case ev.To.IsActive():
		e.noResurrection(node, ev)
	}
	if ev.To == core.StatusSuspect && ev.From != core.StatusSuspect {
		e.verdicts.suspected[key] = e.c.now
	}
	e.verdicts.known[key] = true
}

// accuracy checks one Dead verdict: observer node marked ev's instance X
// Dead. X counts as connected when it is running and, over the
// AccuracyWindow before the verdict, exchanged datagrams in both directions
// with at least half the cluster — halfOf(running members) of the others,
// so 10 of 19 in a cluster of 20, 16 of 30 in one of 31 — by the traffic
// actually handled: for each such peer a message from X was handled by the peer and
// one from the peer by X within the window, with no cut of either direction
// since (see traffic), and neither direction was cut within the last
// SuspicionMinTimeout — the time the protocol promises an accused member to
// answer, so a member whose cut ended just before the verdict did not have
// it. The window is the span in which the protocol decided (see boundsFor);
// random loss is not a cut, so a member on lossy links that still gets
// datagrams through counts as connected; a delay spike slower than the
// configuration tolerates is (toleratedDelay).
//
// A verdict about a connected X is a violation at an observer that is itself
// connected by the same measure (the cluster, not a cut-off minority, holds
// X Dead: a verdict reached in a minority and carried into the majority
// counts where it lands), and at an observer that heard from no one at all
// in the window or, for a verdict that ends its own suspicion of X, since
// that suspicion began, whichever span is shorter (a node that hears nothing
// must not accuse anyone: Lifeguard's local health; core holds a suspicion
// that passed entirely unheard). Heard means a message handled, as it came:
// a node whose links were cut a moment ago heard its peers until then, and
// cannot tell that silence from an ordinary gap; it is then a minority
// observer, below. An observer that hears some nodes but is
// connected to fewer than half is a minority, where declaring the other side
// Dead is the protocol working. A verdict at an incarnation below the one X's
// current life started at is about the life before a restart with the same
// NodeID, which crashed: it is not checked. Each accused instance and
// incarnation is reported once, with the other observers that followed.
func (e *explorer) accuracy(node int, ev core.MemberEvent) {
	c := e.c
	id := ev.Record.NodeID
	if !e.running(id) {
		return
	}
	x := c.instances[id].slot
	if x == node {
		return
	}
	if ev.Record.Incarnation < e.startInc[x] {
		// A verdict about an earlier life that had the same NodeID (a
		// restart with the same ID starts above every incarnation that
		// life reached): that life crashed, and the verdict is right.
		return
	}
	now, w, settle := c.now, int64(e.b.AccuracyWindow), int64(c.Config().SuspicionMinTimeout)
	members := 0
	for _, n := range c.nodes {
		if n.state == stateRunning && !n.client {
			members++
		}
	}
	need := halfOf(members)
	xPeers := e.connected(x, now, w, settle)
	if need == 0 || len(xPeers) < need {
		return
	}
	oPeers := e.connected(node, now, w, settle)
	// What the observer heard: messages it handled from anyone since the
	// later of the window's start and the start of its suspicion of X (a
	// verdict that closes a suspicion is judged over the suspicion).
	since := now - w
	if ev.From == core.StatusSuspect {
		if at, ok := e.verdicts.suspected[[2]string{e.life(node), id}]; ok && at > since {
			since = at
		}
	}
	heard := e.traffic.heardBy(node, since)
	var why string
	switch {
	case len(oPeers) >= need:
		why = fmt.Sprintf("node %d itself exchanged datagrams both ways with %d members", node, len(oPeers))
	case heard == 0:
		why = fmt.Sprintf("node %d heard from no one at all since %s", node, fmtDur(time.Duration(since)))
	default:
		return
	}
	key := fmt.Sprintf("%s@%d", id, ev.Record.Incarnation)
	if k, ok := e.verdicts.accused[key]; ok {
		if k >= 0 {
			e.violations[k].Detail += fmt.Sprintf("; node %d followed at %s", node, fmtDur(time.Duration(now)))
		}
		return
	}
	before := len(e.violations)
	if ev.From == core.StatusSuspect {
		if at, ok := e.verdicts.suspected[[2]string{e.life(node), id}]; ok {
			why += fmt.Sprintf("; node %d had held it Suspect for %s", node, fmtDur(time.Duration(now-at)))
		}
	} else {
		why += fmt.Sprintf("; node %d held it %s until then", node, ev.From)
	}
	if n := e.traffic.exchanged(x, xPeers, now-w); n < len(xPeers) {
		why += fmt.Sprintf("; with %d of them datagrams went both ways in the window (with the others, one way carried nothing, over links not cut)", n)
	}
	if own, ok := c.Record(x, c.Authority(x)); ok && own.NodeID == id && own.Incarnation > ev.Record.Incarnation {
		why += fmt.Sprintf("; a stale verdict: node %d had refuted it, it is at incarnation %d", x, own.Incarnation)
	}
	if o, ok := e.verdicts.origin[key]; ok && o.node != node {
		why += fmt.Sprintf("; first held Dead by node %d at %s, which exchanged datagrams both ways with %d members then", o.node, fmtDur(time.Duration(o.at)), o.peers)
	}
	e.violate(InvariantAccuracy, "node %d marked node %d (instance %s, incarnation %d) Dead while it runs and exchanged datagrams both ways with %d of the %d other running members %s in the last %s (at least %d needed); %s",
		node, x, id, ev.Record.Incarnation, len(xPeers), members-1, fmtSlots(xPeers), fmtDur(e.b.AccuracyWindow), need, why)
	e.verdicts.accused[key] = -1
	if len(e.violations) > before {
		e.verdicts.accused[key] = before
	}
}

// connected returns the running members slot x exchanged datagrams with in
// both directions within [now-w, now], with no cut since and none within
// the last settle (see traffic).
func (e *explorer) connected(x int, now, w, settle int64) []int {
	var peers []int
	for j, n := range e.c.nodes {
		if j == x || n.state != stateRunning || n.client {
			continue
		}
		if e.traffic.works(x, j, now, w, settle) && e.traffic.works(j, x, now, w, settle) {
			peers = append(peers, j)
		}
	}
	return peers
}

// noResurrection checks one event making an instance active at an observer:
// it is a violation when the instance no longer runs (it crashed, or left)
// and the record is one this observer instance's tombstone of it should have
// beaten (an incarnation no higher than the one it marked Dead or Removed),
// or this observer already knew the instance that succeeded it at its
// authority. A higher incarnation is news from before the crash (only the
// instance itself raises it: a refutation still spreading), not a
// resurrection; a record its own tombstone beats is stale gossip brought
// back, typically after the tombstone was pruned.
func (e *explorer) noResurrection(node int, ev core.MemberEvent) {
	c := e.c
	id := ev.Record.NodeID
	inst := c.instances[id]
	if inst == nil || e.running(id) {
		return
	}
	obs := e.life(node)
	why := ""
	switch t := e.verdicts.tomb[[2]string{obs, id}]; {
	case t > 0 && ev.Record.Incarnation < t:
		why = fmt.Sprintf("after marking it Dead or Removed at incarnation %d", t-1)
	case inst.successor != "" && e.verdicts.known[[2]string{obs, inst.successor}]:
		why = fmt.Sprintf("after learning of its successor %s", inst.successor)
	default:
		return
	}
	what := "crashed"
	if inst.left {
		what = "left"
	}
	e.violate(InvariantNoResurrection, "node %d made node %d's %s instance %s %s again (incarnation %d) %s",
		node, inst.slot, what, id, ev.To, ev.Record.Incarnation, why)
}

// stateBound returns the most entries core.MembershipCoordinator.PeerStateEntries
// may report for a table of t records under cfg: the structures it counts
// that hold at most one entry per member (the ring, the peer list, the
// suspicions, the notice times, the heartbeat-hash mismatch counters, the
// Dead members to probe, the piggyback queue — one record per authority —,
// the quarantine — whose entries expire before the tombstones they guard
// are pruned —, the last topology update's members, the node-ID index of
// the active records: 10 per record), the
// confirmers of each suspicion (at most SuspicionConfirmations each: more
// confirmations cannot shorten the timeout further, so a longer list is
// state kept for nothing), and those bounded by the monitor count (the
// monitors, the watched members, and the detector histories, unreachable,
// deferred and silent sets and heartbeat numbers of the watched: 7 ×
// MonitorCount).
func stateBound(cfg core.Config, t int) int {
	return (10+cfg.SuspicionConfirmations)*t + 7*cfg.MonitorCount
}

// boundedState checks every running coordinator's bookkeeping about other
// nodes (PeerStateEntries) against stateBound of its table's size
// (Members, tombstones included). It runs once per second of virtual time
// and reports each node at most once.
func (e *explorer) boundedState() {
	c := e.c
	for i, n := range c.nodes {
		if n.state != stateRunning || n.coord.State() == core.CoordinatorStopped || e.overState[i] {
			continue
		}
		t := len(n.coord.Records())
		got, bound := n.coord.PeerStateEntries(), e.stateBound(c.Config(), t)
		if got > bound {
			e.overState[i] = true
			e.violate(InvariantBoundedState, "node %d keeps %d entries about other nodes with %d records in its table (bound %d)", i, got, t, bound)
		}
	}
}
