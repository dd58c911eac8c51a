package core

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// ringReference is the ring as a sorted list of every member, the way the
// neighbours are defined: the k members after (or before) the owner's place.
type ringReference map[string]NodeRecord // authority → record held

func (ref ringReference) neighbours(owner string, k, step int) []string {
	var nodes []ringNode
	for a, r := range ref {
		if onRing(r.Status) {
			nodes = append(nodes, ringNode{hash: ringHash(r.NodeID), authority: a})
		}
	}
	slices.SortFunc(nodes, compareRingNodes)
	i := slices.IndexFunc(nodes, func(n ringNode) bool { return n.authority == owner })
	if i < 0 {
		return nil
	}
	var out []string
	for j := 1; j <= min(k, len(nodes)-1); j++ {
		out = append(out, nodes[((i+step*j)%len(nodes)+len(nodes))%len(nodes)].authority)
	}
	return out
}

// TestRingMatchesSortedReference applies random changes of the table, in
// small and large bursts, the owner's own included (it leaves the ring,
// comes back, moves), and compares the neighbours with those of a sort from
// scratch.
func TestRingMatchesSortedReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const owner = "a0"
	for _, k := range []int{1, 3, 5} {
		ref := ringReference{}
		members := func(yield func(ringNode)) {
			for a, r := range ref {
				if onRing(r.Status) {
					yield(ringNode{hash: ringHash(r.NodeID), authority: a})
				}
			}
		}
		r := newRing(owner, k, members)
		for step := 0; step < 3000; step++ {
			burst := 1 + rng.IntN(3)
			if rng.IntN(10) == 0 {
				burst = 40
			}
			for range burst {
				a := fmt.Sprintf("a%d", rng.IntN(60))
				if rng.IntN(20) == 0 {
					a = owner
				}
				next := NodeRecord{NodeID: fmt.Sprintf("id%d-%s", rng.IntN(3), a), Authority: a, Status: NodeStatus(1 + rng.IntN(6))}
				prev, had := ref[a]
				if rng.IntN(10) == 0 {
					delete(ref, a) // pruned: no event
					if had && onRing(prev.Status) {
						next.Status = StatusDead
						r.update(prev, had, next)
					}
					continue
				}
				version := r.version
				changed := r.update(prev, had, next)
				ref[a] = next
				wasOn, isOn := had && onRing(prev.Status), onRing(next.Status)
				if want := wasOn != isOn || (wasOn && prev.NodeID != next.NodeID); changed != want || (r.version != version) != want {
					t.Fatalf("k=%d step %d: update %+v -> %+v reported %v (version %d -> %d), want %v", k, step, prev, next, changed, version, r.version, want)
				}
			}
			on := 0
			for _, rec := range ref {
				if onRing(rec.Status) {
					on++
				}
			}
			if r.len() != on {
				t.Fatalf("k=%d step %d: len %d, want %d", k, step, r.len(), on)
			}
			ownerRec, ok := ref[owner]
			if r.ownerOn() != (ok && onRing(ownerRec.Status)) {
				t.Fatalf("k=%d step %d: ownerOn %v, owner's record %+v", k, step, r.ownerOn(), ownerRec)
			}
			if got, want := r.successors(nil, k), ref.neighbours(owner, k, 1); !slices.Equal(got, want) {
				t.Fatalf("k=%d step %d: successors %v, want %v", k, step, got, want)
			}
			if got, want := r.predecessors(nil, k), ref.neighbours(owner, k, -1); !slices.Equal(got, want) {
				t.Fatalf("k=%d step %d: predecessors %v, want %v", k, step, got, want)
			}
		}
	}
}

func TestRingNeighbours(t *testing.T) {
	ref := ringReference{}
	var order []ringNode
	for i := range 5 {
		r := NodeRecord{NodeID: fmt.Sprintf("id%d", i), Authority: fmt.Sprintf("a%d", i), Status: StatusUp}
		ref[r.Authority] = r
		order = append(order, ringNode{hash: ringHash(r.NodeID), authority: r.Authority})
	}
	slices.SortFunc(order, compareRingNodes)
	ringOf := func(owner string, k int) *ring {
		r := newRing(owner, k, func(yield func(ringNode)) {
			for _, n := range order {
				yield(n)
			}
		})
		for _, n := range order {
			r.update(NodeRecord{}, false, ref[n.authority])
		}
		return r
	}
	succ := ringOf(order[3].authority, 3).successors(nil, 3)
	if want := []string{order[4].authority, order[0].authority, order[1].authority}; !slices.Equal(succ, want) {
		t.Fatalf("successors %v, want %v", succ, want)
	}
	pred := ringOf(order[0].authority, 2).predecessors(nil, 2)
	if want := []string{order[4].authority, order[3].authority}; !slices.Equal(pred, want) {
		t.Fatalf("predecessors %v, want %v", pred, want)
	}
	if got := ringOf(order[0].authority, 10).successors(nil, 10); len(got) != 4 {
		t.Fatalf("K above N-1: %d successors, want 4", len(got))
	}
	if got := ringOf("nobody", 3).successors(nil, 3); len(got) != 0 {
		t.Fatalf("successors of a non-member: %v", got)
	}
}

// TestRingPlacesProvenMembersOnly: with a proof, the neighbours are those of
// the proven members alone, and the candidates are the nearest unproven
// members that may be asked, nearer than the k-th proven neighbour on their
// side, whatever the order in which members join, are proven, or are left
// off (compared with a sort from scratch after every change).
func TestRingPlacesProvenMembersOnly(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const owner = "a0"
	for _, k := range []int{1, 3} {
		ref := ringReference{}
		proof := map[string]ringProof{owner: ringProven}
		members := func(yield func(ringNode)) {
			for a, r := range ref {
				if onRing(r.Status) {
					yield(ringNode{hash: ringHash(r.NodeID), authority: a})
				}
			}
		}
		r := newRing(owner, k, members)
		r.proof = func(a string) ringProof { return proof[a] }
		ref[owner] = NodeRecord{NodeID: "id-" + owner, Authority: owner, Status: StatusUp}
		r.update(NodeRecord{}, false, ref[owner])
		for iter := 0; iter < 2000; iter++ {
			a := fmt.Sprintf("a%d", 1+rng.IntN(40))
			rec, had := ref[a]
			switch {
			case !had:
				proof[a] = ringProof(1 + rng.IntN(2)) // a candidate, or left off
				if rng.IntN(4) == 0 {
					proof[a] = ringProven
				}
				ref[a] = NodeRecord{NodeID: "id-" + a, Authority: a, Status: StatusUp}
				r.update(NodeRecord{}, false, ref[a])
			case rng.IntN(6) == 0:
				ref[a] = NodeRecord{NodeID: rec.NodeID, Authority: a, Status: StatusDead}
				r.update(rec, true, ref[a])
				delete(ref, a)
			default:
				proof[a] = ringProof(rng.IntN(3))
				r.reprove(ringNode{hash: ringHash(rec.NodeID), authority: a})
			}
			proven, cand := ringReference{}, ringReference{}
			for x, rec := range ref {
				if proof[x] == ringProven {
					proven[x] = rec
				}
			}
			for _, dir := range []int{1, -1} {
				want := proven.neighbours(owner, k, dir)
				got := r.successors(nil, k)
				if dir < 0 {
					got = r.predecessors(nil, k)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("k=%d step %d: neighbours (direction %d) %v, want %v", k, iter, dir, got, want)
				}
				// The candidates: unproven askable members nearer than the
				// k-th proven neighbour.
				for x, rec := range ref {
					cand[x] = rec
				}
				var near []string
				for _, x := range cand.neighbours(owner, len(cand), dir) {
					if len(want) == k && x == want[k-1] {
						break
					}
					if proof[x] == ringCandidate && len(near) < maxRingCandidates {
						near = append(near, x)
					}
				}
				for _, x := range near {
					if !slices.Contains(r.candidates(nil), x) {
						t.Fatalf("k=%d step %d: candidate %s (direction %d) missing from %v; order %v, proofs %v", k, iter, x, dir, r.candidates(nil), cand.neighbours(owner, len(cand), dir), proof)
					}
				}
			}
			for _, x := range r.candidates(nil) {
				if proof[x] != ringCandidate {
					t.Fatalf("k=%d step %d: %s is a candidate, but its proof is %d", k, iter, x, proof[x])
				}
			}
		}
	}
}
