package sim

import (
	"slices"
	"sync/atomic"
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

// idMarks are the marks of one NodeID: its bit in every observer's
// bitsets (node.seen) and, by markIndex of their status, the summaries of
// its marks, so that an event costs one map lookup. Every instance's are
// made when it starts (trackInstance), so that the workers of a window
// (batch.go) find them made.
type idMarks struct {
	bit  int32     // the NodeID's bit in node.seen
	inst *instance // c.instances of the NodeID (nil for one no slot ran)
	sets [8]markSet
}

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

// markSetOf returns the markSet of k, or nil when no one marked it.
func (c *Cluster) markSetOf(k markKey) *markSet {
	ms := c.marks[k.id]
	if i := markIndex(k.status); ms != nil && i >= 0 && ms.sets[i].count.Load() > 0 {
		return &ms.sets[i]
	}
	return nil
}

// markSet summarises the marks of one markKey. Which observers made them
// is each observer's bit (node.seen), so that an observer's events touch
// its own memory, which a window's workers may change at the same time
// (batch.go): count and last are atomic for them; times is changed in
// event order only.
type markSet struct {
	count atomic.Int32 // distinct observers
	last  atomic.Int64 // time the latest distinct observer was added
	times []Mark       // first mark per observer, for the statuses in detailed
}

// markUpdate is the status of the markKey of update events (From == To: the
// metadata changed); no real status has its value.
const markUpdate core.NodeStatus = 0xff

// detailed says for which statuses MarkTimes keeps every observer's time.
// Joining and Up are left out: at 1,000 nodes they are a million entries.
func detailed(s core.NodeStatus) bool {
	return s == core.StatusSuspect || s == core.StatusLeaving || s == core.StatusRemoved || s == core.StatusDead
}

// trackInstance makes the marks of NodeID id, if it has none yet.
func (c *Cluster) trackInstance(id string) *idMarks {
	ms := c.marks[id]
	if ms == nil {
		ms = &idMarks{bit: int32(len(c.marks))}
		c.marks[id] = ms
	}
	return ms
}

// observed is what observeLocal found about one member event that the
// rest of the run must act on in event order (observeShared).
type observed uint8

const (
	obsTimes        observed = 1 << iota // the observer's first mark in a detailed status: MarkTimes gets its time
	obsFalseDead                         // a Dead mark of an instance that did not crash
	obsFalseSuspect                      // a Suspect mark of an instance that did not crash
	obsGhost                             // a replaced instance made active again (Ghosts)
	obsUntracked                         // a NodeID without marks: observeShared makes them and marks
)

// pendingEvent is a member event that observeLocal left work for (a copy:
// with Config.ReuseMemberEvents the coordinator's next call overwrites its
// outcome's events), what is left, and its NodeID's marks.
type pendingEvent struct {
	ev    core.MemberEvent
	left  observed
	marks *idMarks
}

// observe records one member event emitted by node n, now.
func (c *Cluster) observe(n *node, ev core.MemberEvent) {
	if c.opts.RecordEvents {
		n.events = append(n.events, ev)
	}
	if c.opts.OnEvent != nil {
		c.opts.OnEvent(n.idx, ev)
	}
	left, ms := c.observeLocal(n, ev, c.now)
	c.observeShared(n, ev, left, ms)
}

// observeLocal does what one member event emitted by node n at virtual
// time at changes of n's own tracking (its counts, its view's Up set, its
// marks) and of the marks' atomic summaries, and returns what is left for
// observeShared. It writes to nothing another node's events write to but
// atomically, and reads nothing observeShared or an action changes, so a
// window's workers run it for their nodes (batch.go).
func (c *Cluster) observeLocal(n *node, ev core.MemberEvent, at int64) (observed, *idMarks) {
	if ev.Conflict {
		// The record lost a claim on its authority: not a status change of a
		// member as far as tracking goes.
		return 0, nil
	}
	if int(ev.To) < len(n.eventsTo) {
		n.eventsTo[ev.To]++
	}
	ms := c.marks[ev.Record.NodeID]
	if j, ok := c.slotOf(ev.Record, ms); ok && j != n.idx {
		n.held.set(j, ev.To == core.StatusUp)
	}
	if ms == nil {
		return obsUntracked, nil
	}
	return c.markEvent(n, ms, ev, at), ms
}

// slotOf returns the slot of r's authority, and whether a slot has it:
// that of r's instance, whose marks are ms (nil if none), when it runs
// at that authority, as it nearly always does; else from byAuth.
func (c *Cluster) slotOf(r core.NodeRecord, ms *idMarks) (int, bool) {
	if ms != nil && ms.inst != nil && c.nodes[ms.inst.slot].authority == r.Authority {
		return ms.inst.slot, true
	}
	j, ok := c.byAuth[r.Authority]
	return int(j), ok
}

// markEvent marks n as an observer of ev's NodeID, whose marks are ms, at
// virtual time at, and returns what is left for observeShared.
func (c *Cluster) markEvent(n *node, ms *idMarks, ev core.MemberEvent, at int64) observed {
	c.mark(n, ms, 0, at)
	if ev.From == ev.To {
		c.mark(n, ms, markUpdate, at)
		return 0
	}
	var left observed
	if c.mark(n, ms, ev.To, at) && detailed(ev.To) {
		left |= obsTimes
	}
	inst := ms.inst
	if inst == nil {
		return left
	}
	switch {
	case ev.Replaced:
		// Gone because its slot started a new instance, not declared Dead
		// by anyone's detector: not a false positive.
	case ev.To == core.StatusDead && !inst.crashed:
		left |= obsFalseDead
	case ev.To == core.StatusSuspect && !inst.crashed:
		left |= obsFalseSuspect
	case ev.To.IsActive() && inst.successor != "":
		// A replaced instance made active again by an observer that already
		// knows its successor: a ghost.
		if next := c.marks[inst.successor]; next != nil && n.seen.has(0, next.bit) {
			left |= obsGhost
		}
	}
	return left
}

// observeShared does, in event order, what observeLocal left of one member
// event emitted by node n, now.
func (c *Cluster) observeShared(n *node, ev core.MemberEvent, left observed, ms *idMarks) {
	if left == 0 {
		return
	}
	if left&obsUntracked != 0 {
		ms = c.trackInstance(ev.Record.NodeID)
		left = c.markEvent(n, ms, ev, c.now)
	}
	id := ev.Record.NodeID
	if left&obsTimes != 0 {
		m := &ms.sets[markIndex(ev.To)]
		m.times = append(m.times, Mark{Observer: n.idx, At: time.Duration(c.now)})
	}
	if left&obsFalseDead != 0 {
		c.falseDead[id] = struct{}{}
	}
	if left&obsFalseSuspect != 0 {
		c.falseSusp[id] = struct{}{}
	}
	if left&obsGhost != 0 {
		c.ghosts++
	}
}

// mark records that n marked the NodeID of ms in status at virtual time at,
// and reports whether it is n's first such mark.
func (c *Cluster) mark(n *node, ms *idMarks, status core.NodeStatus, at int64) bool {
	i := markIndex(status)
	if i < 0 || !n.seen.add(i, ms.bit) {
		return false
	}
	m := &ms.sets[i]
	m.count.Add(1)
	for {
		last := m.last.Load()
		if at <= last || m.last.CompareAndSwap(last, at) {
			return true
		}
	}
}

// seenBits are an observer's marks: by markIndex of a status, a bit per
// NodeID (idMarks.bit) it marked in that status.
type seenBits [8][]uint64

func (s *seenBits) has(i int, bit int32) bool {
	w := int(bit / 64)
	return w < len(s[i]) && s[i][w]&(1<<(bit%64)) != 0
}

// add sets bit in the marks of status index i, and reports whether it was
// clear.
func (s *seenBits) add(i int, bit int32) bool {
	w := int(bit / 64)
	if w >= len(s[i]) {
		s[i] = slices.Grow(s[i], w+1-len(s[i]))[:w+1]
	}
	if s[i][w]&(1<<(bit%64)) != 0 {
		return false
	}
	s[i][w] |= 1 << (bit % 64)
	return true
}

// has reports whether slot obs marked the NodeID of ms in status index i.
func (c *Cluster) has(ms *idMarks, i int, obs int) bool { return c.nodes[obs].seen.has(i, ms.bit) }

// Marked returns how many distinct node slots ever emitted a member event
// putting the instance id in status s. Status 0 counts events of any status
// (that is: how many nodes ever learned of id).
func (c *Cluster) Marked(id string, s core.NodeStatus) int {
	if m := c.markSetOf(markKey{id, s}); m != nil {
		return int(m.count.Load())
	}
	return 0
}

// MarkedBy reports whether slot obs ever emitted a member event putting id in
// status s (0: any status).
func (c *Cluster) MarkedBy(id string, s core.NodeStatus, obs int) bool {
	ms, i := c.marks[id], markIndex(s)
	return ms != nil && i >= 0 && c.has(ms, i, obs)
}

// LastMarked returns when the latest distinct observer marked id in status s
// (0: any status), and whether anyone has.
func (c *Cluster) LastMarked(id string, s core.NodeStatus) (time.Duration, bool) {
	if m := c.markSetOf(markKey{id, s}); m != nil {
		return time.Duration(m.last.Load()), true
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
	ms, k := c.marks[id], markIndex(s)
	for i, n := range c.nodes {
		if !c.IsLive(i) || n.id == id {
			continue
		}
		if ms == nil || k < 0 || !c.has(ms, k, i) {
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
	if len(c.liveIDs) != len(c.nodes) {
		c.liveIDs = make([]string, len(c.nodes))
		c.liveGen++
	}
	for i, n := range c.nodes {
		id := ""
		if c.IsLive(i) {
			live[n.authority] = n.id
			id = n.id
		}
		if c.liveIDs[i] != id {
			c.liveIDs[i] = id
			c.liveGen++ // the live members changed: every view is read again
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
	return c.viewsAre(live)
}

// viewsAre reports whether every live member's view is live (viewIs),
// looking from convFrom on and leaving convFrom at a view that is not. With
// Options.Workers above 1 the views are checked on the workers, each a
// stretch of the slots: a view is only read (a node's table is each
// worker's own), and once the views agree each of them is copied and
// checked, N² records in all.
func (c *Cluster) viewsAre(live map[string]string) bool {
	n := len(c.nodes)
	workers := c.opts.Workers
	if !c.parallel() || n < 2*workers {
		for k := range n {
			i := (c.convFrom + k) % n
			if c.IsLive(i) && !c.checkedViewIs(i, live) {
				c.convFrom = i
				return false
			}
		}
		return true
	}
	var failed atomic.Bool
	first := make([]int, workers) // by worker: the first stretch position whose view is not live, or n
	parts := c.parts[:0]
	for w := range workers {
		parts = append(parts, func() {
			first[w] = n
			for k := w * n / workers; k < (w+1)*n/workers && !failed.Load(); k++ {
				i := (c.convFrom + k) % n
				if c.IsLive(i) && !c.checkedViewIs(i, live) {
					first[w] = k
					failed.Store(true)
					return
				}
			}
		})
	}
	c.parts = parts
	c.opts.RunParallel(parts...)
	clear(parts)
	if k := slices.Min(first); k < n {
		c.convFrom = (c.convFrom + k) % n
		return false
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
	ok, _ := c.checkView(i, live)
	return ok
}

// viewCheck is the last answer viewsAre had for a node's view: a view
// whose table has not changed since (TableVersion), compared with the
// same live members (Cluster.liveGen), gives the same answer, so only the
// views that changed are read again.
type viewCheck struct {
	valid   bool
	ok      bool
	version uint64
	live    uint64
}

// checkedViewIs is viewIs for viewsAre, which calls it at every tick of a
// run until the views agree: from n.checked when it still holds.
func (c *Cluster) checkedViewIs(i int, live map[string]string) bool {
	n := c.nodes[i]
	v := n.coord.TableVersion()
	if k := n.checked; k.valid && k.version == v && k.live == c.liveGen {
		return k.ok
	}
	ok, table := c.checkView(i, live)
	n.checked = viewCheck{valid: table, ok: ok, version: v, live: c.liveGen}
	return ok
}

// checkView is viewIs, and whether its answer depends on the node's table
// alone (not on its LocalNode, read when the view leaves it out).
func (c *Cluster) checkView(i int, live map[string]string) (ok, table bool) {
	n := c.nodes[i]
	count, self, ok := 0, false, true
	n.coord.EachMember(func(r core.NodeRecord) bool {
		if r.Status != core.StatusUp || live[r.Authority] != r.NodeID {
			ok = false
			return false
		}
		if r.Authority == n.authority {
			self = true
		}
		count++
		return true
	})
	if !ok {
		return false, true
	}
	if !self {
		if r := n.coord.LocalNode(); r.Status != core.StatusUp || r.NodeID != n.id {
			return false, false
		}
		count++
	}
	return count == len(live), self
}
