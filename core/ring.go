package core

import (
	"cmp"
	"hash/fnv"
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
// The ring is kept sorted incrementally (binary search and one copy per
// change), so a membership change costs O(N) memory moves and no sort, and
// the common case — nothing changed — costs nothing.
type ring struct {
	nodes   []ringNode
	byAuth  map[string]ringNode
	version uint64 // bumped on every change, so cached neighbour sets know when to refresh
}

// ringNode is one member's place on the ring.
type ringNode struct {
	hash      uint64
	authority string
}

func newRing() *ring { return &ring{byAuth: map[string]ringNode{}} }

// ringHash places a node ID on the ring (FNV-1a, finalised so that similar
// IDs land far apart).
func ringHash(nodeID string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(nodeID))
	return mix64(h.Sum64())
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
	if old, ok := r.byAuth[authority]; ok {
		if old == n {
			return false
		}
		r.remove(authority)
	}
	i, _ := slices.BinarySearchFunc(r.nodes, n, compareRingNodes)
	r.nodes = slices.Insert(r.nodes, i, n)
	r.byAuth[authority] = n
	r.version++
	return true
}

// remove takes authority off the ring and reports whether it was there.
func (r *ring) remove(authority string) bool {
	n, ok := r.byAuth[authority]
	if !ok {
		return false
	}
	if i, found := slices.BinarySearchFunc(r.nodes, n, compareRingNodes); found {
		r.nodes = slices.Delete(r.nodes, i, i+1)
	}
	delete(r.byAuth, authority)
	r.version++
	return true
}

// contains reports whether authority is on the ring.
func (r *ring) contains(authority string) bool {
	_, ok := r.byAuth[authority]
	return ok
}

// len returns the number of members on the ring.
func (r *ring) len() int { return len(r.nodes) }

// neighbours returns up to k distinct authorities following (step 1) or
// preceding (step -1) authority on the ring, nearest first, appended to dst.
// It returns dst unchanged when authority is not on the ring.
func (r *ring) neighbours(dst []string, authority string, k, step int) []string {
	n, ok := r.byAuth[authority]
	if !ok {
		return dst
	}
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
