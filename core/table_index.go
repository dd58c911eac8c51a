package core

import "hash/maphash"

// authorityIndex finds the slot of an authority in a membershipTable: an
// open-addressing hash table with linear probing whose cells hold slot
// numbers plus one (0 is an empty cell); the authority itself is read from
// the slot, so a record costs between 5 and 11 bytes here (the load
// stays between 3/8 and 3/4). A Go map of authority to slot costs about 40.
//
// The hash is seeded per index (hash/maphash), as a Go map's is, so that no
// one can pick authorities that all land in one run of cells; the seed only
// decides where records sit in the cells, never an order anything is read
// in, so the coordinator stays deterministic.
type authorityIndex struct {
	seed  maphash.Seed
	cells []int32 // len is a power of two, at least minIndexCells
	n     int
}

// minIndexCells is the size of an empty index.
const minIndexCells = 8

func newAuthorityIndex() authorityIndex {
	return authorityIndex{seed: maphash.MakeSeed(), cells: make([]int32, minIndexCells)}
}

// len returns how many authorities the index holds.
func (x *authorityIndex) len() int { return x.n }

// home returns the cell where authority's probe starts.
func (x *authorityIndex) home(authority string) int {
	return int(maphash.String(x.seed, authority) & uint64(len(x.cells)-1))
}

// find returns the slot of authority among slots, and whether it is there.
func (x *authorityIndex) find(authority string, slots []sharedRecord) (int32, bool) {
	mask := len(x.cells) - 1
	for i := x.home(authority); ; i = (i + 1) & mask {
		c := x.cells[i]
		if c == 0 {
			return -1, false
		}
		if slots[c-1].Value().authority == authority {
			return c - 1, true
		}
	}
}

// insert adds authority, held in slot, which the index does not hold yet.
func (x *authorityIndex) insert(authority string, slot int32, slots []sharedRecord) {
	if 4*(x.n+1) > 3*len(x.cells) {
		x.grow(slots)
	}
	mask := len(x.cells) - 1
	i := x.home(authority)
	for x.cells[i] != 0 {
		i = (i + 1) & mask
	}
	x.cells[i] = slot + 1
	x.n++
}

// grow doubles the cells and places every slot again.
func (x *authorityIndex) grow(slots []sharedRecord) {
	old := x.cells
	x.cells = make([]int32, 2*len(old))
	mask := len(x.cells) - 1
	for _, c := range old {
		if c == 0 {
			continue
		}
		i := x.home(slots[c-1].Value().authority)
		for x.cells[i] != 0 {
			i = (i + 1) & mask
		}
		x.cells[i] = c
	}
}

// remove deletes authority, which must still be readable in its slot, and
// closes the gap by moving back the cells of the run after it that may sit
// there, so that every probe still finds what it looks for.
func (x *authorityIndex) remove(authority string, slots []sharedRecord) {
	mask := len(x.cells) - 1
	i := x.home(authority)
	for {
		c := x.cells[i]
		if c == 0 {
			return
		}
		if slots[c-1].Value().authority == authority {
			break
		}
		i = (i + 1) & mask
	}
	x.cells[i] = 0
	x.n--
	for j := (i + 1) & mask; x.cells[j] != 0; j = (j + 1) & mask {
		h := x.home(slots[x.cells[j]-1].Value().authority)
		// The cell at j may move to the gap at i unless its home lies
		// cyclically in (i, j].
		if (i < j && i < h && h <= j) || (i > j && (i < h || h <= j)) {
			continue
		}
		x.cells[i], x.cells[j] = x.cells[j], 0
		i = j
	}
}
