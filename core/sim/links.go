package sim

import "time"

// Link rules: faults of single directions and single nodes, on top of
// partitions (which cut both directions between groups) and loss (which is
// random). A message that a rule cuts is dropped and counted in NetStats.Cut
// and the sender's NodeStats.Dropped. Rules on the sending side (a link down,
// a flapping link in its down phase, a mute sender) are applied when the
// message is sent; deafness when it arrives, so a node that turns deaf loses
// what was already on its way to it.

// linkRules holds the rules in force. The zero value has none.
type linkRules struct {
	count int // rules in force; zero skips every check
	down  map[link]struct{}
	flaps map[link]flap
	deaf  map[int32]struct{}
	mute  map[int32]struct{}
}

// flap is a link that alternates: down for down, then up for up, from start.
type flap struct {
	start, down, up int64
}

func (r *linkRules) recount() {
	r.count = len(r.down) + len(r.flaps) + len(r.deaf) + len(r.mute)
}

// cutsSend reports whether a rule drops a message sent now from from to to.
func (r *linkRules) cutsSend(now int64, from, to int32) bool {
	if r.count == 0 {
		return false
	}
	if _, ok := r.mute[from]; ok {
		return true
	}
	k := link{from, to}
	if _, ok := r.down[k]; ok {
		return true
	}
	if f, ok := r.flaps[k]; ok && (now-f.start)%(f.down+f.up) < f.down {
		return true
	}
	return false
}

// cutsArrival reports whether a rule drops a message arriving at to.
func (r *linkRules) cutsArrival(to int32) bool {
	if r.count == 0 || len(r.deaf) == 0 {
		return false
	}
	_, ok := r.deaf[to]
	return ok
}

// SetLinkDown cuts (down) or restores the directed link from slot from to
// slot to. A cut link drops every message sent over it in that direction;
// the other direction is untouched, so two calls make a two-way cut between
// two slots and a loop over groups makes a one-way partition.
func (c *Cluster) SetLinkDown(from, to int, down bool) {
	k := link{int32(from), int32(to)}
	if down {
		if c.rules.down == nil {
			c.rules.down = make(map[link]struct{})
		}
		c.rules.down[k] = struct{}{}
	} else {
		delete(c.rules.down, k)
	}
	c.rules.recount()
}

// SetLinkFlap makes the directed link from slot from to slot to flap,
// starting now: it drops every message for down, then delivers for up, and
// so on. Zero down or up stops the flapping (the link is up). A link that is
// also SetLinkDown stays down.
func (c *Cluster) SetLinkFlap(from, to int, down, up time.Duration) {
	k := link{int32(from), int32(to)}
	if down <= 0 || up <= 0 {
		delete(c.rules.flaps, k)
	} else {
		if c.rules.flaps == nil {
			c.rules.flaps = make(map[link]flap)
		}
		c.rules.flaps[k] = flap{start: c.now, down: int64(down), up: int64(up)}
	}
	c.rules.recount()
}

// SetDeaf makes slot i deaf (on) or hearing again: a deaf slot receives
// nothing (every message addressed to it is dropped on arrival, including
// those already in flight) but still sends. The rule belongs to the slot, so
// it outlives a restart.
func (c *Cluster) SetDeaf(i int, on bool) {
	c.rules.deaf = setSlot(c.rules.deaf, int32(i), on)
	c.rules.recount()
}

// SetMute makes slot i mute (on) or speaking again: a mute slot sends
// nothing (every message it sends is dropped) but still receives. The rule
// belongs to the slot, so it outlives a restart.
func (c *Cluster) SetMute(i int, on bool) {
	c.rules.mute = setSlot(c.rules.mute, int32(i), on)
	c.rules.recount()
}

func setSlot(m map[int32]struct{}, i int32, on bool) map[int32]struct{} {
	if on {
		if m == nil {
			m = make(map[int32]struct{})
		}
		m[i] = struct{}{}
	} else {
		delete(m, i)
	}
	return m
}

// ClearLinkRules removes every link rule: cut and flapping links, deaf and
// mute slots. Partitions and loss are left as they are (see Heal, SetLoss,
// SetLinkLoss).
func (c *Cluster) ClearLinkRules() { c.rules = linkRules{} }
