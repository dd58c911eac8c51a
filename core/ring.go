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
// Changes are recorded at once (byAuth is authoritative) and the sorted order
// is settled lazily on the next read: a few changes by binary insertion, a
// burst (a join reply of a thousand members) by one sort. The common case —
// nothing changed — costs nothing.
type ring struct {
	nodes   []ringNode // sorted, once settled
	byAuth  map[string]ringNode
	version uint64       // bumped on every change, so cached neighbour sets know when to refresh
	pending []ringChange // changes not yet reflected in nodes, in order
	rebuild bool         // too many changes pending: sort afresh
}

// ringChange is one change of the ring: old (if had) replaced by new (if has).
type ringChange struct {
	old, new      ringNode
	hadOld, isNew bool
}

// ringNode is one member's place on the ring.
type ringNode struct {
	hash      uint64
	authority string
}

// settleBatch is how many pending changes are applied one by one; beyond it
// the order is rebuilt with one sort.
const settleBatch = 16

func newRing() *ring { return &ring{byAuth: map[string]ringNode{}} }

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

// set places authority (instance nodeID) on the ring, moving it if its node
// ID changed. It reports whether the ring changed.
func (r *ring) set(authority, nodeID string) bool {
	n := ringNode{hash: ringHash(nodeID), authority: authority}
	old, ok := r.byAuth[authority]
	if ok && old == n {
		return false
	}
	r.byAuth[authority] = n
	r.record(ringChange{old: old, hadOld: ok, new: n, isNew: true})
	return true
}

// remove takes authority off the ring and reports whether it was there.
func (r *ring) remove(authority string) bool {
	old, ok := r.byAuth[authority]
	if !ok {
		return false
	}
	delete(r.byAuth, authority)
	r.record(ringChange{old: old, hadOld: true})
	return true
}

// record notes a change to apply at the next settle.
func (r *ring) record(ch ringChange) {
	r.version++
	if r.rebuild {
		return
	}
	if len(r.pending) == settleBatch {
		r.rebuild, r.pending = true, r.pending[:0]
		return
	}
	r.pending = append(r.pending, ch)
}

// settle brings the sorted order up to date with byAuth.
func (r *ring) settle() {
	if r.rebuild {
		r.nodes = r.nodes[:0]
		for _, n := range r.byAuth {
			r.nodes = append(r.nodes, n)
		}
		slices.SortFunc(r.nodes, compareRingNodes)
		r.rebuild = false
		return
	}
	for _, ch := range r.pending {
		if ch.hadOld {
			if i, found := slices.BinarySearchFunc(r.nodes, ch.old, compareRingNodes); found {
				r.nodes = slices.Delete(r.nodes, i, i+1)
			}
		}
		if ch.isNew {
			i, _ := slices.BinarySearchFunc(r.nodes, ch.new, compareRingNodes)
			r.nodes = slices.Insert(r.nodes, i, ch.new)
		}
	}
	r.pending = r.pending[:0]
}

// contains reports whether authority is on the ring.
func (r *ring) contains(authority string) bool {
	_, ok := r.byAuth[authority]
	return ok
}

// len returns the number of members on the ring.
func (r *ring) len() int { return len(r.byAuth) }

// neighbours returns up to k distinct authorities following (step 1) or
// preceding (step -1) authority on the ring, nearest first, appended to dst.
// It returns dst unchanged when authority is not on the ring.
func (r *ring) neighbours(dst []string, authority string, k, step int) []string {
	n, ok := r.byAuth[authority]
	if !ok {
		return dst
	}
	r.settle()
	i, _ := slices.BinarySearchFunc(r.nodes, n, compareRingNodes)
	k = min(k, len(r.nodes)-1)
	for j := 1; j <= k; j++ {
		idx := ((i+step*j)%len(r.nodes) + len(r.nodes)) % len(r.nodes)
		dst = append(dst, r.nodes[idx].authority)
	}
	return dst
}

// successors returns authority's monitors: its k successors on the ring.
func (r *ring) successors(dst []string, authority string, k int) []string {
	return r.neighbours(dst, authority, k, 1)
}

// predecessors returns the members authority monitors: its k predecessors.
func (r *ring) predecessors(dst []string, authority string, k int) []string {
	return r.neighbours(dst, authority, k, -1)
}
