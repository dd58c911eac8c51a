package sim

import (
	"slices"
	"strconv"
	"strings"
)

// Shrink looks for a smallest sub-schedule of the run o that still violates
// inv: delta debugging (Zeller's ddmin) over the schedule's faults, each
// candidate replayed deterministically by Explore with Keep set to the
// candidate's faults and StopAt to inv. It makes at most budget replays, then
// returns the smallest failing schedule found, re-run to the end (so its
// result lists every violation), with the number of replays made. A run that
// does not violate inv is an error.
//
// ddmin splits the faults into n chunks and tries each chunk alone, then
// each complement; the first that still fails becomes the new schedule (n
// back to 2, or one less for a complement); when none fails, n doubles, up
// to one fault per chunk. The result is 1-minimal when the budget allows:
// removing any single fault makes the violation go away.
func Shrink(o ExploreOptions, inv Invariant, budget int) (ExploreResult, int, error) {
	o.StopAt = 0
	first, err := Explore(o)
	if err != nil {
		return ExploreResult{}, 0, err
	}
	if !first.Violated(inv) {
		return first, 1, errNoFailure
	}
	runs := 1
	cache := map[string]bool{}
	test := func(ids []int) bool {
		key := idsKey(ids)
		if v, ok := cache[key]; ok {
			return v
		}
		if runs >= budget {
			return false
		}
		runs++
		oo := o
		oo.Keep = append([]int{}, ids...)
		oo.StopAt = inv
		r, err := Explore(oo)
		fails := err == nil && r.Violated(inv)
		cache[key] = fails
		return fails
	}
	cur := first.Schedule.IDs()
	cache[idsKey(cur)] = true
	if test(nil) {
		cur = nil
	}
	n := 2
	for len(cur) >= 2 && runs < budget {
		chunks := split(cur, n)
		reduced := false
		for _, d := range chunks {
			if test(d) {
				cur, n, reduced = d, 2, true
				break
			}
		}
		if !reduced {
			for i := range chunks {
				comp := complement(chunks, i)
				if test(comp) {
					cur, n, reduced = comp, max(n-1, 2), true
					break
				}
			}
		}
		if !reduced {
			if n >= len(cur) {
				break
			}
			n = min(2*n, len(cur))
		}
	}
	o.Keep = append([]int{}, cur...)
	final, err := Explore(o)
	return final, runs + 1, err
}

// split cuts ids into n chunks of nearly equal size.
func split(ids []int, n int) [][]int {
	n = min(n, len(ids))
	var out [][]int
	for i := range n {
		lo, hi := i*len(ids)/n, (i+1)*len(ids)/n
		out = append(out, slices.Clone(ids[lo:hi]))
	}
	return out
}

// complement returns every chunk but the i-th, concatenated.
func complement(chunks [][]int, i int) []int {
	var out []int
	for j, c := range chunks {
		if j != i {
			out = append(out, c...)
		}
	}
	return out
}

func idsKey(ids []int) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(id)
	}
	return strings.Join(parts, ",")
}
