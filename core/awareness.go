package core

import "time"

// awareness is this node's view of its own health (Lifeguard's local health
// multiplier). A node whose own process or network is at fault blames the
// others: stalled, it polls late and reads its heartbeats late; deaf, it
// hears no heartbeat at all. Its score rises by one (up to
// Config.MaxLocalHealth) for each of these signs of a local fault, and
// multiplies its suspicion timeouts and the phi threshold it acts on by
// (1 + score):
//
//   - a stall: the gap between two consecutive calls exceeds stallFactor
//     times the smallest protocol interval; the score rises by one per
//     stallFactor intervals of the gap, and the gap is forgiven in the
//     failure detector (the heartbeats it missed were not the senders'
//     fault);
//   - silence: a node that watches members (and so expects their
//     heartbeats) hears nothing at all from anyone for silenceFactor
//     heartbeat intervals: one more step per such stretch;
//   - having to refute a suspicion of itself: others could not hear it;
//   - a suspicion it raised being refuted: it could not hear the suspect.
//
// The score decays by one for every decayInterval of calls that come on
// time, as long as the node hears something in that interval (when it
// expects to), so a node that recovers becomes as quick to suspect as the
// others again, and a deaf one does not.
type awareness struct {
	max           int
	score         int
	stallGap      time.Duration // a gap above this is a local stall
	silenceGap    time.Duration // hearing nothing for this long is a sign of deafness
	decayInterval time.Duration
	last          time.Time // last observed call
	lastDecay     time.Time // last step of the score, up or down
	lastHeard     time.Time // last message from another node
	lastSilence   time.Time // last step up for silence
	silenceSteps  int       // steps up for the current silence, undone when it ends
	started       bool
}

// stallFactor is how many of the smallest intervals a gap between calls may
// span before it counts as a local stall.
const stallFactor = 3

// silenceFactor is how many heartbeat intervals a node that watches members
// may hear nothing at all before it counts as a sign of a local fault: a
// little longer than its detector takes to lose a member (one interval plus
// PhiAcceptablePause, three intervals in the presets, plus some deviations),
// so that a node whose watched members all crashed at once, and which hears
// the rest of the cluster only now and then, is not slowed down by it, while
// a healthy one never meets it: with three watched members at 50 % loss, 8
// intervals pass unheard with probability 0.5^24.
const silenceFactor = 8

var silenceCap = 3

func newAwareness(cfg Config) *awareness {
	smallest := min(cfg.HeartbeatInterval, cfg.GossipInterval)
	return &awareness{
		max:           cfg.MaxLocalHealth,
		stallGap:      stallFactor * smallest,
		silenceGap:    silenceFactor * cfg.HeartbeatInterval,
		decayInterval: cfg.HeartbeatInterval,
	}
}

// observe notes a call at now and returns the stall to forgive: the part of
// the gap since the previous call beyond one normal interval, or 0 when the
// call came on time. listening says whether this node expects to hear from
// others (it watches members): then silence raises the score, and only a
// stretch in which it heard something lets the score decay.
func (a *awareness) observe(now time.Time, listening bool) time.Duration {
	if !a.started {
		a.started, a.last, a.lastDecay, a.lastHeard = true, now, now, now
		return 0
	}
	gap := now.Sub(a.last)
	if gap <= 0 {
		return 0
	}
	a.last = now
	if gap > a.stallGap {
		a.raise(now, int(gap/a.stallGap))
		// The stall is forgiven: the silence it caused is not deafness.
		a.lastHeard = now
		return gap - a.stallGap/stallFactor
	}
	if !listening {
		a.lastHeard = now // nothing is expected, so nothing is missed
	} else if now.Sub(later(a.lastHeard, a.lastSilence)) >= a.silenceGap {
		if a.score < a.max {
			a.raise(now, 1)
			a.silenceSteps++
		}
		a.lastSilence = now
		return 0
	}
	if a.score > 0 && now.Sub(a.lastDecay) >= a.decayInterval && a.lastHeard.After(a.lastDecay) {
		a.score--
		a.lastDecay = now
	}
	return 0
}

// heard notes that a message from another node arrived at now, and reports
// whether that lowered the score. It ends a silence: hearing something
// disproves the deafness the silence suggested, so the steps the silence
// added are undone at once.
func (a *awareness) heard(now time.Time) bool {
	if now.After(a.lastHeard) {
		a.lastHeard = now
	}
	if a.silenceSteps == 0 {
		return false
	}
	a.score = max(0, a.score-a.silenceSteps)
	a.silenceSteps = 0
	return true
}

// heardAfter reports whether a message from another node arrived after t.
func (a *awareness) heardAfter(t time.Time) bool { return a.lastHeard.After(t) }

// raise adds n to the score, up to the maximum, at now.
func (a *awareness) raise(now time.Time, n int) {
	a.score = min(a.max, a.score+n)
	a.lastDecay = now
}

// multiplier is the factor (1 + score) applied to timeouts and to the phi
// threshold.
func (a *awareness) multiplier() int { return 1 + a.score }

// Score returns the current local-health score, 0 when healthy.
func (a *awareness) Score() int { return a.score }

// later returns the later of two times.
func later(x, y time.Time) time.Time {
	if x.After(y) {
		return x
	}
	return y
}
