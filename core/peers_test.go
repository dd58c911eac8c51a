package core

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The peer list keeps the order the list of authorities with a position map
// kept (new peers last, a removed peer replaced by the last), which random
// peer selection depends on to be the same on every run.
func TestPeerListOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tbl := newMembershipTable(tableConfig{})
	peers := newPeerList(tbl)
	var want []string
	index := map[string]int{}
	for step := range 5000 {
		a := fmt.Sprintf("a%d", rng.IntN(100))
		if !tbl.Has(a) {
			if _, err := tbl.Merge(time.Unix(0, 0), NodeRecord{NodeID: "n", Authority: a, Status: StatusUp}); err != nil {
				t.Fatal(err)
			}
		}
		slot, _ := tbl.lookup(a)
		if rng.IntN(2) == 0 {
			peers.add(slot)
			if _, ok := index[a]; !ok {
				index[a] = len(want)
				want = append(want, a)
			}
		} else {
			peers.remove(slot)
			if i, ok := index[a]; ok {
				last := len(want) - 1
				want[i] = want[last]
				index[want[i]] = i
				want = want[:last]
				delete(index, a)
			}
		}
		if got := peers.authorities(); !slices.Equal(got, want) || peers.len() != len(want) {
			t.Fatalf("step %d: peers %v, want %v", step, got, want)
		}
	}
}
