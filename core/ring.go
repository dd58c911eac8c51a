package core

import "cmp"

// ring orders the monitored members (Joining, Up and Suspect; not Leaving and
// not tombstones) by a hash of their node ID, so that every member that sees
// the same membership picks the same monitors. A member's monitors are its K
// successors on the ring: it heartbeats them, and each of them feeds the
// heartbeats to its failure detector. Conversely a member watches its K
// predecessors. Hashing the node ID (not the authority) spreads a restarted
// node to a new place on the ring.
//
// A coordinator only ever asks for its own neighbours, so the ring keeps no
// list of its members: it follows the changes of the table (update), counts
// the members, and keeps the owner's nearest K successors and predecessors,
// which a new member displaces at a cost of O(K). When one of them leaves
// the ring (or the owner moves), the neighbours are found again by one pass
// over the members, which the table lists (members), at the next read. At
// N members that is N times less memory than a sorted copy of the ring.
type ring struct {
	owner   string                     // the authority whose neighbours are kept
	k       int                        // how many neighbours on each side
	members func(yield func(ringNode)) // lists the members on the ring
	size    int                        // members on the ring
	center  ringNode                   // the owner's place, when on is set
	on      bool                       // the owner is on the ring
	succ    []ringNode                 // the owner's nearest successors, nearest first
	pred    []ringNode                 // the owner's nearest predecessors, nearest first
	stale   bool                       // succ and pred must be found again
	version uint64                     // bumped on every change, so cached neighbour sets know when to refresh
}

// ringNode is one member's place on the ring.
type ringNode struct {
	hash      uint64
	authority string
}

// newRing returns an empty ring that keeps owner's k nearest neighbours on
// each side; members lists the members on the ring when the neighbours must
// be found again (the coordinator's table, filtered by onRing).
func newRing(owner string, k int, members func(yield func(ringNode))) *ring {
	return &ring{owner: owner, k: max(0, k), members: members}
}

// onRing reports whether a member of status s is on the ring.
func onRing(s NodeStatus) bool {
	return s == StatusJoining || s == StatusUp || s == StatusSuspect
}

// ringHash places a node ID on the ring (FNV-1a, finalised so that similar
// IDs land far apart).
func ringHash(nodeID string) uint64 {
	return mix64(stringHash(nodeID))
}

func compareRingNodes(a, b ringNode) int {
	if c := cmp.Compare(a.hash, b.hash); c != 0 {
		return c
	}
	return cmp.Compare(a.authority, b.authority)
}

// update follows one change of the table at an authority: its record was
// prev (when had) and is next. It reports whether the ring changed: a member
// came onto it, left it, or moved (a new node ID at the authority).
func (r *ring) update(prev NodeRecord, had bool, next NodeRecord) bool {
	wasOn, isOn := had && onRing(prev.Status), onRing(next.Status)
	switch {
	case wasOn && isOn && prev.NodeID == next.NodeID, !wasOn && !isOn:
		return false
	}
	r.version++
	if wasOn {
		r.leave(ringNode{hash: ringHash(prev.NodeID), authority: prev.Authority})
	}
	if isOn {
		r.join(ringNode{hash: ringHash(next.NodeID), authority: next.Authority})
	}
	return true
}

// join places n on the ring.
func (r *ring) join(n ringNode) {
	r.size++
	if n.authority == r.owner {
		r.center, r.on, r.stale = n, true, true
		return
	}
	if r.stale || !r.on {
		r.stale = true
		return
	}
	r.succ = r.place(r.succ, n, r.forward)
	r.pred = r.place(r.pred, n, r.backward)
}

// leave takes n off the ring.
func (r *ring) leave(n ringNode) {
	r.size--
	if n.authority == r.owner {
		r.on, r.stale = false, true
		return
	}
	for _, x := range r.succ {
		r.stale = r.stale || x == n
	}
	for _, x := range r.pred {
		r.stale = r.stale || x == n
	}
}

// place inserts n into near (nearest first by nearer), keeping at most k.
func (r *ring) place(near []ringNode, n ringNode, nearer func(a, b ringNode) bool) []ringNode {
	i := len(near)
	for i > 0 && nearer(n, near[i-1]) {
		i--
	}
	if i >= r.k {
		return near
	}
	if len(near) < r.k {
		near = append(near, ringNode{})
	}
	copy(near[i+1:], near[i:])
	near[i] = n
	return near
}

// forward reports whether a comes before b going forward from the owner.
func (r *ring) forward(a, b ringNode) bool {
	aAfter, bAfter := compareRingNodes(a, r.center) > 0, compareRingNodes(b, r.center) > 0
	if aAfter != bAfter {
		return aAfter
	}
	return compareRingNodes(a, b) < 0
}

// backward reports whether a comes before b going backward from the owner.
func (r *ring) backward(a, b ringNode) bool {
	aBefore, bBefore := compareRingNodes(a, r.center) < 0, compareRingNodes(b, r.center) < 0
	if aBefore != bBefore {
		return aBefore
	}
	return compareRingNodes(a, b) > 0
}

// settle finds the owner's neighbours again, by one pass over the members,
// if a change made them stale.
func (r *ring) settle() {
	if !r.stale {
		return
	}
	r.stale = false
	r.succ, r.pred = r.succ[:0], r.pred[:0]
	if !r.on {
		return
	}
	r.members(func(n ringNode) {
		if n.authority != r.owner {
			r.succ = r.place(r.succ, n, r.forward)
			r.pred = r.place(r.pred, n, r.backward)
		}
	})
}

// ownerOn reports whether the owner is on the ring.
func (r *ring) ownerOn() bool { return r.on }

// len returns the number of members on the ring.
func (r *ring) len() int { return r.size }

// successors returns the owner's monitors, its up to k nearest successors
// (k at most the ring's), nearest first, appended to dst; nothing when the
// owner is not on the ring.
func (r *ring) successors(dst []string, k int) []string {
	r.settle()
	return appendAuthorities(dst, r.succ, k)
}

// predecessors returns the members the owner monitors, its up to k nearest
// predecessors, nearest first, appended to dst.
func (r *ring) predecessors(dst []string, k int) []string {
	r.settle()
	return appendAuthorities(dst, r.pred, k)
}

func appendAuthorities(dst []string, near []ringNode, k int) []string {
	for _, n := range near[:min(k, len(near))] {
		dst = append(dst, n.authority)
	}
	return dst
}
