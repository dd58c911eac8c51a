package sim

import (
	"math"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// traffic measures who can exchange datagrams with whom, for the accuracy
// invariant. For every directed pair of slots it keeps when a message was
// last sent over it (whatever became of it), when one was last handled at
// the far end, and when a cut of that direction (a partition, a one-way cut,
// a flapping link, a deaf receiver, a mute or paused sender) last ended.
//
// A direction works over a window [now-w, now] when it is not cut now and:
//   - if a cut ended within the window, a message sent after the cut was
//     handled (traffic from before a cut is no evidence for after it);
//   - if no cut touched the window, whatever was sent over it in the window
//     got through at least once (a direction nothing was sent over, in a
//     network that did not cut it, is taken to work: hearsay's traffic is
//     sparse — a member heartbeats three successors and hears three
//     predecessors — so in a quiet cluster most pairs exchange nothing at
//     all for long stretches).
//
// Random loss is not a cut: a lossy direction works when its traffic gets
// through now and then. A delay spike is a cut of every direction while one
// way takes longer than toleratedDelay: the configuration's timeouts promise
// nothing on links that slow.
type traffic struct {
	slots     int
	sent      []int64 // [from*slots+to]: when a message was last sent; -1: never
	delivered []int64 // [from*slots+to]: when a message was last handled; -1: never
	cutUntil  []int64 // [from*slots+to]: when the latest cut ended; cutNow while in force; -1: never
	cur       cutSet
}

// cutNow marks a direction cut at present.
const cutNow = math.MaxInt64

// cutSet is a set of directed pairs of slots.
type cutSet struct {
	slots int
	bits  []bool
}

func (t *traffic) init(slots int) {
	t.slots = slots
	t.sent = make([]int64, slots*slots)
	t.delivered = make([]int64, slots*slots)
	t.cutUntil = make([]int64, slots*slots)
	for i := range t.delivered {
		t.sent[i], t.delivered[i], t.cutUntil[i] = -1, -1, -1
	}
	t.cur = cutSet{slots: slots, bits: make([]bool, slots*slots)}
}

// sending notes a message sent from from to to at now.
func (t *traffic) sending(from, to int32, now int64) {
	if int(from) < t.slots && int(to) < t.slots {
		t.sent[int(from)*t.slots+int(to)] = now
	}
}

// handled notes a message from from handled by to at now.
func (t *traffic) handled(from, to int32, now int64) {
	if int(from) < t.slots && int(to) < t.slots {
		t.delivered[int(from)*t.slots+int(to)] = now
	}
}

// forget drops slot i's traffic, both ways: a new instance there (or a
// crashed one) has exchanged nothing yet.
func (t *traffic) forget(i int) {
	for j := range t.slots {
		for _, k := range []int{i*t.slots + j, j*t.slots + i} {
			t.sent[k], t.delivered[k] = -1, -1
		}
	}
}

func (t *traffic) nextCut() cutSet {
	return cutSet{slots: t.slots, bits: make([]bool, t.slots*t.slots)}
}

// set cuts the direction from a to b.
func (s cutSet) set(a, b int) {
	if a < s.slots && b < s.slots && a != b {
		s.bits[a*s.slots+b] = true
	}
}

// node cuts every direction out of (out) and into (in) slot i.
func (s cutSet) node(i int, out, in bool) {
	for j := range s.slots {
		if out {
			s.set(i, j)
		}
		if in {
			s.set(j, i)
		}
	}
}

// commitCut makes next the cut in force at now.
func (t *traffic) commitCut(next cutSet, now int64) {
	for k, was := range t.cur.bits {
		switch {
		case next.bits[k]:
			t.cutUntil[k] = cutNow
		case was:
			t.cutUntil[k] = now
		}
	}
	t.cur = next
}

// works reports whether the direction from a to b works over
// [now-window, now] (see traffic) and has not been cut within the last
// settle: a direction whose cut just ended has not yet been up long enough
// to carry a reply.
func (t *traffic) works(a, b int, now, window, settle int64) bool {
	k := a*t.slots + b
	cut := t.cutUntil[k]
	if cut == cutNow || cut > now-settle {
		return false
	}
	lo := now - window
	if cut >= lo {
		return t.delivered[k] >= cut
	}
	return t.sent[k] < lo || t.delivered[k] >= lo
}

// toleratedDelay is the slowest one-way delay (delay plus jitter) on which
// the protocol, run with cfg, still promises accuracy: half of the shorter of
// ProbeTimeout (a probe's answer must come back within it, or the prober
// takes the member for lost) and SuspicionMinTimeout (the shortest time an
// accused member is given to refute). On slower links a live member's
// answers arrive after the verdict whatever the protocol does (a LAN preset
// run over links that take seconds needs the WAN preset's timeouts), so the
// accuracy invariant counts them as cut; the other invariants still hold
// there.
func toleratedDelay(cfg core.Config) time.Duration {
	shortest := cfg.SuspicionMinTimeout
	if cfg.ProbeTimeout > 0 {
		shortest = min(shortest, cfg.ProbeTimeout)
	}
	return shortest / 2
}

// exchanged returns how many of peers had a message handled from x, and
// one handled by x from them, since since: the pairs that exchanged
// datagrams in fact, where works also counts pairs that sent nothing (for
// the accuracy report).
func (t *traffic) exchanged(x int, peers []int, since int64) int {
	n := 0
	for _, j := range peers {
		if t.delivered[x*t.slots+j] >= since && t.delivered[j*t.slots+x] >= since {
			n++
		}
	}
	return n
}

// heardBy returns how many other slots had a message handled by slot o
// since since.
func (t *traffic) heardBy(o int, since int64) int {
	n := 0
	for j := range t.slots {
		if j != o && t.delivered[j*t.slots+o] >= since {
			n++
		}
	}
	return n
}
