package core

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRingMatchesSortedReference applies random changes, in small and large
// bursts, and compares the settled ring with a sort from scratch.
func TestRingMatchesSortedReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := newRing()
	ref := map[string]string{}
	for step := 0; step < 2000; step++ {
		burst := 1 + rng.IntN(3)
		if rng.IntN(10) == 0 {
			burst = 40
		}
		for i := 0; i < burst; i++ {
			a := fmt.Sprintf("a%d", rng.IntN(60))
			switch rng.IntN(3) {
			case 0:
				r.remove(a)
				delete(ref, a)
			default:
				id := fmt.Sprintf("id%d", rng.IntN(5))
				r.set(a, id+a)
				ref[a] = id + a
			}
		}
		var want []ringNode
		for a, id := range ref {
			want = append(want, ringNode{hash: ringHash(id), authority: a})
		}
		slices.SortFunc(want, compareRingNodes)
		r.settle()
		if !slices.Equal(r.nodes, want) {
			t.Fatalf("step %d: ring %v, want %v", step, r.nodes, want)
		}
		if r.len() != len(want) {
			t.Fatalf("len %d, want %d", r.len(), len(want))
		}
	}
}

func TestRingNeighbours(t *testing.T) {
	r := newRing()
	for i := 0; i < 5; i++ {
		r.set(fmt.Sprintf("a%d", i), fmt.Sprintf("id%d", i))
	}
	r.settle()
	order := make([]string, len(r.nodes))
	for i, n := range r.nodes {
		order[i] = n.authority
	}
	succ := r.successors(nil, order[3], 3)
	if want := []string{order[4], order[0], order[1]}; !slices.Equal(succ, want) {
		t.Fatalf("successors %v, want %v", succ, want)
	}
	pred := r.predecessors(nil, order[0], 2)
	if want := []string{order[4], order[3]}; !slices.Equal(pred, want) {
		t.Fatalf("predecessors %v, want %v", pred, want)
	}
	if got := r.successors(nil, order[0], 10); len(got) != 4 {
		t.Fatalf("K above N-1: %d successors, want 4", len(got))
	}
	if got := r.successors(nil, "nobody", 3); len(got) != 0 {
		t.Fatalf("successors of a non-member: %v", got)
	}
}
