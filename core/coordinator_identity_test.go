package core

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// The node ID index returns, for each record added, exactly the other
// authorities indexed under its node ID (sorted), through random adds and
// removals that grow it and leave gaps in its probe runs; a map of node ID
// to authorities is the reference.
func TestIdentityIndexAgainstAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := newIdentityState()
	want := map[string][]string{} // node ID → authorities
	held := map[string]string{}   // authority → node ID indexed
	for step := range 20000 {
		a := fmt.Sprintf("10.0.0.%d:7946", rng.IntN(300))
		if id, ok := held[a]; ok {
			s.remove(id, a)
			want[id] = slices.DeleteFunc(want[id], func(x string) bool { return x == a })
			delete(held, a)
			continue
		}
		id := fmt.Sprintf("n%d", rng.IntN(200))
		others := s.add(shareRecord(NodeRecord{NodeID: id, Authority: a, Status: StatusUp}))
		wantOthers := slices.Sorted(slices.Values(want[id]))
		if !slices.Equal(others, wantOthers) {
			t.Fatalf("step %d: add(%s at %s) found %v, want %v", step, id, a, others, wantOthers)
		}
		want[id] = append(want[id], a)
		held[a] = id
		if s.len() != len(held) {
			t.Fatalf("step %d: len %d, want %d", step, s.len(), len(held))
		}
	}
}
