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
