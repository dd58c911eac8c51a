package core

import (
	"cmp"
	"slices"
)

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

	// Proven members only (see proof): a member that is not proven is kept
	// off the neighbours; the nearest unproven ones that could be proven,
	// nearer than the k-th neighbour, are kept as candidates to prove.
	proof             func(authority string) ringProof // nil: every member is proven
	candSucc, candPre []ringNode                       // candidates on each side, nearest first, at most maxRingCandidates
	stale             bool                             // succ and pred must be found again
	version           uint64                           // bumped on every change, so cached neighbour sets know when to refresh
}

// ringNode is one member's place on the ring.
type ringNode struct {
	hash      uint64
	authority string
}

// ringProof is what the owner knows of a member: proven (it was heard from
// directly, so it exists at its authority), a candidate (not yet proven:
// worth asking), or neither (asked lately, in vain).
type ringProof uint8

const (
	ringProven ringProof = iota
	ringCandidate
	ringUnanswered
)

// maxRingCandidates bounds the candidates kept on each side of the owner.
const maxRingCandidates = 2

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
	r.consider(n)
}

// consider places n, a member other than the owner, among the neighbours if
// it is proven, else among the candidates if it is one and nearer than the
// k-th neighbour on that side.
func (r *ring) consider(n ringNode) {
	switch r.proofOf(n) {
	case ringProven:
		r.succ = r.place(r.succ, n, r.forward, r.k)
		r.pred = r.place(r.pred, n, r.backward, r.k)
		r.candSucc = r.trim(r.candSucc, r.succ, r.forward)
		r.candPre = r.trim(r.candPre, r.pred, r.backward)
	case ringCandidate:
		if len(r.succ) < r.k || r.forward(n, r.succ[len(r.succ)-1]) {
			r.candSucc = r.place(r.candSucc, n, r.forward, maxRingCandidates)
		}
		if len(r.pred) < r.k || r.backward(n, r.pred[len(r.pred)-1]) {
			r.candPre = r.place(r.candPre, n, r.backward, maxRingCandidates)
		}
	}
}

func (r *ring) proofOf(n ringNode) ringProof {
	if r.proof == nil {
		return ringProven
	}
	return r.proof(n.authority)
}

// trim drops the candidates no nearer than the k-th neighbour.
func (r *ring) trim(cand, near []ringNode, nearer func(a, b ringNode) bool) []ringNode {
	if len(near) < r.k {
		return cand
	}
	last := near[len(near)-1]
	return slices.DeleteFunc(cand, func(c ringNode) bool { return !nearer(c, last) })
}

// reprove follows a change of what the owner knows of the member at
// authority (see proof): proven now, or asked in vain. A member proven is
// placed at once; one that leaves the candidates makes them be found again.
func (r *ring) reprove(n ringNode) {
	if n.authority == r.owner {
		return
	}
	r.version++
	if !r.on || r.stale {
		return
	}
	wasCandidate := slices.Contains(r.candSucc, n) || slices.Contains(r.candPre, n)
	if r.proofOf(n) == ringProven && !wasCandidate {
		r.consider(n) // O(k): most members are proven without ever being a candidate
		return
	}
	r.stale = true // a candidate's place goes to the next nearest one
}

// candidates returns the members worth proving, appended to dst: the
// nearest unproven ones on each side, nearer than the k-th proven
// neighbour there.
func (r *ring) candidates(dst []string) []string {
	r.settle()
	for _, n := range r.candSucc {
		dst = append(dst, n.authority)
	}
	for _, n := range r.candPre {
		if !slices.Contains(r.candSucc, n) {
			dst = append(dst, n.authority)
		}
	}
	return dst
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
	if slices.Contains(r.candSucc, n) || slices.Contains(r.candPre, n) {
		r.stale = true // the next nearest candidate comes in
	}
}

// place inserts n into near (nearest first by nearer), keeping at most k.
func (r *ring) place(near []ringNode, n ringNode, nearer func(a, b ringNode) bool, k int) []ringNode {
	if slices.Contains(near, n) {
		return near
	}
	i := len(near)
	for i > 0 && nearer(n, near[i-1]) {
		i--
	}
	if i >= k {
		return near
	}
	if len(near) < k {
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
	r.candSucc, r.candPre = r.candSucc[:0], r.candPre[:0]
	if !r.on {
		return
	}
	r.members(func(n ringNode) {
		if n.authority != r.owner && r.proofOf(n) == ringProven {
			r.succ = r.place(r.succ, n, r.forward, r.k)
			r.pred = r.place(r.pred, n, r.backward, r.k)
		}
	})
	if r.proof == nil {
		return
	}
	r.members(func(n ringNode) {
		if n.authority != r.owner && r.proofOf(n) == ringCandidate {
			r.consider(n)
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
