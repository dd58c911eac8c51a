package core

import "time"

// awareness is this node's view of its own health (Lifeguard's local health
// multiplier). A node that is itself slow — its process stalled, so it polls
// late and reads its inbox late — sees everyone else's heartbeats arrive late
// and would blame them. Instead, when the gap between two consecutive calls
// exceeds stallFactor times the smallest protocol interval, the node
//
//   - forgives the gap in its failure detector (the heartbeats it missed were
//     not the senders' fault), and
//   - raises its score by one per missed interval (up to Config.MaxLocalHealth),
//     which multiplies its suspicion timeouts and the phi threshold it acts on
//     by (1 + score).
//
// The score decays by one for every decayInterval of calls that come on time,
// so a node that recovers becomes as quick to suspect as the others again.
type awareness struct {
	max           int
	score         int
	stallGap      time.Duration // a gap above this is a local stall
	decayInterval time.Duration
	last          time.Time // last observed call
	lastDecay     time.Time
	started       bool
}

// stallFactor is how many of the smallest intervals a gap between calls may
// span before it counts as a local stall.
const stallFactor = 3

func newAwareness(cfg Config) *awareness {
	smallest := min(cfg.HeartbeatInterval, cfg.GossipInterval)
	return &awareness{
		max:           cfg.MaxLocalHealth,
		stallGap:      stallFactor * smallest,
		decayInterval: cfg.HeartbeatInterval,
	}
}

// observe notes a call at now and returns the stall to forgive: the part of
// the gap since the previous call beyond one normal interval, or 0 when the
// call came on time.
func (a *awareness) observe(now time.Time) time.Duration {
	if !a.started {
		a.started, a.last, a.lastDecay = true, now, now
		return 0
	}
	gap := now.Sub(a.last)
	if gap <= 0 {
		return 0
	}
	a.last = now
	if gap > a.stallGap {
		a.score = min(a.max, a.score+int(gap/a.stallGap))
		a.lastDecay = now
		return gap - a.stallGap/stallFactor
	}
	if a.score > 0 && now.Sub(a.lastDecay) >= a.decayInterval {
		a.score--
		a.lastDecay = now
	}
	return 0
}

// multiplier is the factor (1 + score) applied to timeouts and to the phi
// threshold.
func (a *awareness) multiplier() int { return 1 + a.score }

// Score returns the current local-health score, 0 when healthy.
func (a *awareness) Score() int { return a.score }
