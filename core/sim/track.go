package sim

import (
	"slices"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// Mark is one observer's first member event putting a node in some status.
type Mark struct {
	// Observer is the slot of the node that emitted the event.
	Observer int
	// At is the virtual time since the run began.
	At time.Duration
}

// markKey names what is tracked: a NodeID in a status (0: any event at all;
// markUpdate: an update event, its metadata changed).
type markKey struct {
	id     string
	status core.NodeStatus
}

// idMarks are the markSets of one NodeID, by markIndex of their status, so
// that an event costs one map lookup.
type idMarks [8]*markSet

// markIndex is where idMarks keeps the markSet of status s: 0 for any
// event, the status for a real one, 7 for markUpdate; -1 for none.
func markIndex(s core.NodeStatus) int {
	switch {
	case s == markUpdate:
		return 7
	case s <= core.StatusDead:
		return int(s)
	}
	return -1
}

// markSetOf returns the markSet of k, or nil.
func (c *Cluster) markSetOf(k markKey) *markSet {
	ms := c.marks[k.id]
	if i := markIndex(k.status); ms != nil && i >= 0 {
		return ms[i]
	}
	return nil
}

// markSet summarises the events of one markKey.
type markSet struct {
	seen  []uint64 // bitset of observer slots
	count int      // distinct observers
	first int64
	last  int64  // time the latest distinct observer was added
	times []Mark // first mark per observer, for the statuses in detailed
}

// markUpdate is the status of the markKey of update events (From == To: the
// metadata changed); no real status has its value.
const markUpdate core.NodeStatus = 0xff

// detailed says for which statuses MarkTimes keeps every observer's time.
// Joining and Up are left out: at 1,000 nodes they are a million entries.
func detailed(s core.NodeStatus) bool {
	return s == core.StatusSuspect || s == core.StatusLeaving || s == core.StatusRemoved || s == core.StatusDead
}

// observe records one member event emitted by node n.
func (c *Cluster) observe(n *node, ev core.MemberEvent) {
	if c.opts.RecordEvents {
		n.events = append(n.events, ev)
	}
	if c.opts.OnEvent != nil {
		c.opts.OnEvent(n.idx, ev)
	}
	if ev.Conflict {
		// The record lost a claim on its authority: not a status change of a
		// member as far as tracking goes.
		return
	}
	if int(ev.To) < len(n.eventsTo) {
		n.eventsTo[ev.To]++
	}
	if j, ok := c.byAuth[ev.Record.Authority]; ok && int(j) != n.idx {
		n.held.set(int(j), ev.To == core.StatusUp)
	}
	id := ev.Record.NodeID
	ms := c.marks[id]
	if ms == nil {
		ms = &idMarks{}
		c.marks[id] = ms
	}
	c.mark(ms, 0, n.idx)
	if ev.From == ev.To {
		c.mark(ms, markUpdate, n.idx)
		return
	}
	c.mark(ms, ev.To, n.idx)
	inst := c.instances[id]
	if inst == nil {
		return
	}
	switch {
	case ev.Replaced:
		// Gone because its slot started a new instance, not declared Dead
		// by anyone's detector: not a false positive.
	case ev.To == core.StatusDead && !inst.crashed:
		c.falseDead[id] = struct{}{}
	case ev.To == core.StatusSuspect && !inst.crashed:
		c.falseSusp[id] = struct{}{}
	case ev.To.IsActive() && inst.successor != "":
		// A replaced instance made active again by an observer that already
		// knows its successor: a ghost.
		if m := c.markSetOf(markKey{inst.successor, 0}); m != nil && m.has(n.idx) {
			c.ghosts++
		}
	}
}

func (m *markSet) has(obs int) bool {
	w := obs / 64
	return w < len(m.seen) && m.seen[w]&(1<<(obs%64)) != 0
}

func (c *Cluster) mark(ms *idMarks, status core.NodeStatus, obs int) {
	i := markIndex(status)
	if i < 0 {
		return
	}
	m := ms[i]
	if m == nil {
		m = &markSet{first: c.now}
		ms[i] = m
	}
	if m.has(obs) {
		return
	}
	w := obs / 64
	for len(m.seen) <= w {
		m.seen = append(m.seen, 0)
	}
	m.seen[w] |= 1 << (obs % 64)
	m.count++
	m.last = c.now
	if detailed(status) {
		m.times = append(m.times, Mark{Observer: obs, At: time.Duration(c.now)})
	}
}

// Marked returns how many distinct node slots ever emitted a member event
// putting the instance id in status s. Status 0 counts events of any status
// (that is: how many nodes ever learned of id).
func (c *Cluster) Marked(id string, s core.NodeStatus) int {
	if m := c.markSetOf(markKey{id, s}); m != nil {
		return m.count
	}
	return 0
}

// MarkedBy reports whether slot obs ever emitted a member event putting id in
// status s (0: any status).
func (c *Cluster) MarkedBy(id string, s core.NodeStatus, obs int) bool {
	m := c.markSetOf(markKey{id, s})
	return m != nil && m.has(obs)
}

// LastMarked returns when the latest distinct observer marked id in status s
// (0: any status), and whether anyone has.
func (c *Cluster) LastMarked(id string, s core.NodeStatus) (time.Duration, bool) {
	if m := c.markSetOf(markKey{id, s}); m != nil {
		return time.Duration(m.last), true
	}
	return 0, false
}

// MarkTimes returns, for Suspect, Leaving, Removed and Dead, each observer's
// first event putting id in that status, in time order (nil for other
// statuses).
func (c *Cluster) MarkTimes(id string, s core.NodeStatus) []Mark {
	if m := c.markSetOf(markKey{id, s}); m != nil {
		return slices.Clone(m.times)
	}
	return nil
}

// AllLiveMarked reports whether every live member other than the instance id
// itself has emitted an event putting id in status s (0: any status).
func (c *Cluster) AllLiveMarked(id string, s core.NodeStatus) bool {
	m := c.markSetOf(markKey{id, s})
	for i, n := range c.nodes {
		if !c.IsLive(i) || n.id == id {
			continue
		}
		if m == nil || !m.has(i) {
			return false
		}
	}
	return true
}

// FalseDead returns the NodeIDs of instances that some node marked Dead while
// they had not crashed (they were running, paused, or left gracefully),
// sorted.
func (c *Cluster) FalseDead() []string { return sortedKeys(c.falseDead) }

// FalseSuspects returns the NodeIDs of instances that some node marked
// Suspect while they had not crashed, sorted.
func (c *Cluster) FalseSuspects() []string { return sortedKeys(c.falseSusp) }

// Ghosts counts member events that made a replaced instance (one whose slot
// restarted with a new NodeID) active again at a node that already knew its
// successor. It should stay 0.
func (c *Cluster) Ghosts() int { return c.ghosts }

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// View returns slot i's view: every record its coordinator holds,
// tombstones included (Records; nil if it never started).
func (c *Cluster) View(i int) []core.NodeRecord {
	if c.nodes[i].coord == nil {
		return nil
	}
	return c.nodes[i].coord.Records()
}

// Record returns slot i's record of the member at authority a, and whether its
// view has one.
func (c *Cluster) Record(i int, a string) (core.NodeRecord, bool) {
	n := c.nodes[i]
	if n.coord == nil {
		return core.NodeRecord{}, false
	}
	if r, ok := n.coord.Member(a); ok {
		return r, true
	}
	if n.authority == a {
		return n.coord.LocalNode(), true
	}
	return core.NodeRecord{}, false
}

// Converged reports whether every live member's active view (its records in
// Joining, Up, Suspect or Leaving) is exactly the set of live members, with
// their current NodeIDs, all Up. A view may leave out the node's own record;
// its LocalNode must then be Up.
func (c *Cluster) Converged() bool {
	live := make(map[string]string, len(c.nodes))
	for i, n := range c.nodes {
		if c.IsLive(i) {
			live[n.authority] = n.id
		}
	}
	if len(live) == 0 {
		return true
	}
	// A converged view holds every other live member Up and no one else
	// active, so its member events last put exactly len(live)-1 other slots
	// in Up: a count that says no is the answer, without copying a view.
	for k := range c.nodes {
		i := (c.convFrom + k) % len(c.nodes)
		if c.IsLive(i) && c.nodes[i].held.count != len(live)-1 {
			c.convFrom = i
			return false
		}
	}
	for k := range c.nodes {
		i := (c.convFrom + k) % len(c.nodes)
		if c.IsLive(i) && !c.viewIs(i, live) {
			c.convFrom = i
			return false
		}
	}
	return true
}

// Drained reports whether every live member's piggyback queue is empty
// (core.CoordinatorStats.QueuedRecords is zero): each has passed on every
// change it knows as often as changes are passed on, so what the members
// send from then on is the steady state of a quiet cluster (heartbeats,
// anti-entropy), not the tail of the changes before.
func (c *Cluster) Drained() bool {
	for k := range c.nodes {
		i := (c.drainFrom + k) % len(c.nodes)
		if n := c.nodes[i]; c.IsLive(i) && n.coord.Stats().QueuedRecords > 0 {
			c.drainFrom = i
			return false
		}
	}
	return true
}

// ConvergedAt reports whether slot i's active view is exactly the live
// members, all Up (see Converged).
func (c *Cluster) ConvergedAt(i int) bool {
	live := make(map[string]string, len(c.nodes))
	for j, n := range c.nodes {
		if c.IsLive(j) {
			live[n.authority] = n.id
		}
	}
	if c.IsLive(i) && c.nodes[i].held.count != len(live)-1 {
		return false // see Converged
	}
	return c.viewIs(i, live)
}

// upSet is the slots whose authority a node's member events last put in Up
// (its own slot left out), with their count: a necessary condition for a
// converged view that costs nothing to check (see Converged).
type upSet struct {
	bits  []uint64
	count int
}

// set records that slot j was last put in Up (up) or in another status.
func (s *upSet) set(j int, up bool) {
	w, bit := j/64, uint64(1)<<(j%64)
	for len(s.bits) <= w {
		s.bits = append(s.bits, 0)
	}
	switch was := s.bits[w]&bit != 0; {
	case up && !was:
		s.bits[w] |= bit
		s.count++
	case !up && was:
		s.bits[w] &^= bit
		s.count--
	}
}

// reset empties the set: a new instance starts with an empty table.
func (s *upSet) reset() {
	clear(s.bits)
	s.count = 0
}

func (c *Cluster) viewIs(i int, live map[string]string) bool {
	n := c.nodes[i]
	count, self := 0, false
	for _, r := range n.coord.Members() {
		if r.Status != core.StatusUp || live[r.Authority] != r.NodeID {
			return false
		}
		if r.Authority == n.authority {
			self = true
		}
		count++
	}
	if !self {
		if r := n.coord.LocalNode(); r.Status != core.StatusUp || r.NodeID != n.id {
			return false
		}
		count++
	}
	return count == len(live)
}
