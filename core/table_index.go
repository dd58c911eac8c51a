package core

import "hash/maphash"

// authorityIndex finds the slot of an authority in a membershipTable: an
// openCells of cells that name slots (see cellFor); the authority itself is
// read from the slot, so a record costs between 5 and 11 bytes here (the
// load stays between 3/8 and 3/4). A Go map of authority to slot costs about
// 40.
type authorityIndex struct {
	openCells[int32]
}

func newAuthorityIndex() authorityIndex {
	return authorityIndex{newOpenCells[int32]()}
}

// An authorityIndex cell is 0 (empty) or names a slot. For a slot below
// 1<<24 - 1 (any table that fits in memory) the cell is negative and also
// holds seven bits of the authority's hash, a tag: a probe passes the cells
// of other authorities without reading their records, which in a simulation
// of thousands of members are cold memory (this lookup was a tenth of a
// 5,000-member bootstrap). A larger slot is held plain, as slot+1.
const (
	cellTagged   = -1 << 31 // the sign bit of a tagged cell
	cellSlotBits = 24
	cellSlotMask = 1<<cellSlotBits - 1
)

// cellFor returns the cell naming slot, for an authority of hash h.
func cellFor(slot int32, h uint64) int32 {
	if slot+1 >= cellSlotMask {
		return slot + 1
	}
	return cellTagged | int32(tagOf(h))<<cellSlotBits | (slot + 1)
}

// tagOf returns the tag of a hash: its top seven bits, which no index is
// large enough to use for the home cell.
func tagOf(h uint64) uint32 { return uint32(h >> 57) }

// cellSlot returns the slot a cell names.
func cellSlot(c int32) int32 {
	if c < 0 {
		return c&cellSlotMask - 1
	}
	return c - 1
}

// cellMayHold reports whether cell c may name an authority of tag tag.
func cellMayHold(c int32, tag uint32) bool {
	return c > 0 || uint32(c)>>cellSlotBits&0x7f == tag
}

// find returns the slot of authority among slots, and whether it is there.
func (x *authorityIndex) find(authority string, slots []sharedRecord) (int32, bool) {
	if i, ok := x.cellOf(authority, slots); ok {
		return cellSlot(x.cells[i]), true
	}
	return -1, false
}

// cellOf returns the cell holding authority's slot.
func (x *authorityIndex) cellOf(authority string, slots []sharedRecord) (int, bool) {
	h := x.hash(authority)
	tag := tagOf(h)
	mask := len(x.cells) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		c := x.cells[i]
		if c == 0 {
			return -1, false
		}
		if cellMayHold(c, tag) && slots[cellSlot(c)].Value().authority == authority {
			return i, true
		}
	}
}

// insert adds authority, held in slot, which the index does not hold yet.
func (x *authorityIndex) insert(authority string, slot int32, slots []sharedRecord) {
	x.put(cellFor(slot, x.hash(authority)), authority, slotAuthority(slots))
}

// remove deletes authority, which must still be readable in its slot.
func (x *authorityIndex) remove(authority string, slots []sharedRecord) {
	if i, ok := x.cellOf(authority, slots); ok {
		x.clear(i, slotAuthority(slots))
	}
}

// slotAuthority returns the key of an authorityIndex cell: the authority in
// the slot it names.
func slotAuthority(slots []sharedRecord) func(int32) string {
	return func(c int32) string { return slots[cellSlot(c)].Value().authority }
}

// openCells is an open-addressing hash table with linear probing, whose
// cells of type C hold a reference to where its key can be read (keyOf) and
// whose zero C is an empty cell. It holds no key itself, which is what makes
// it small: the indexes of the table and of node IDs cost a few bytes per
// record where a Go map would cost about 40. The load stays between 3/8 and
// 3/4. Several cells may share a key (the node ID index does).
//
// The hash is seeded per index (hash/maphash), as a Go map's is, so that no
// one can pick keys that all land in one run of cells; the seed only decides
// where cells sit, never an order anything is read in, so the coordinator
// stays deterministic.
type openCells[C comparable] struct {
	seed  maphash.Seed
	cells []C // len is a power of two, at least minIndexCells
	n     int
}

// minIndexCells is the size of an empty index.
const minIndexCells = 8

func newOpenCells[C comparable]() openCells[C] {
	return openCells[C]{seed: maphash.MakeSeed(), cells: make([]C, minIndexCells)}
}

// len returns how many cells are taken.
func (x *openCells[C]) len() int { return x.n }

// hash returns the hash of key, whose low bits pick its home cell.
func (x *openCells[C]) hash(key string) uint64 { return maphash.String(x.seed, key) }

// home returns the cell where key's probe starts.
func (x *openCells[C]) home(key string) int {
	return int(x.hash(key) & uint64(len(x.cells)-1))
}

// put stores c, whose key is key, in the first empty cell of key's run.
func (x *openCells[C]) put(c C, key string, keyOf func(C) string) {
	if 4*(x.n+1) > 3*len(x.cells) {
		x.grow(keyOf)
	}
	var empty C
	mask := len(x.cells) - 1
	i := x.home(key)
	for x.cells[i] != empty {
		i = (i + 1) & mask
	}
	x.cells[i] = c
	x.n++
}

// grow doubles the cells and places every cell again.
func (x *openCells[C]) grow(keyOf func(C) string) {
	var empty C
	old := x.cells
	x.cells = make([]C, 2*len(old))
	mask := len(x.cells) - 1
	for _, c := range old {
		if c == empty {
			continue
		}
		i := x.home(keyOf(c))
		for x.cells[i] != empty {
			i = (i + 1) & mask
		}
		x.cells[i] = c
	}
}

// clear empties cell i, whose key must still be readable, and closes the
// gap by moving back the cells of the run after it that may sit there, so
// that every probe still finds what it looks for.
func (x *openCells[C]) clear(i int, keyOf func(C) string) {
	var empty C
	mask := len(x.cells) - 1
	x.cells[i] = empty
	x.n--
	for j := (i + 1) & mask; x.cells[j] != empty; j = (j + 1) & mask {
		h := x.home(keyOf(x.cells[j]))
		// The cell at j may move to the gap at i unless its home lies
		// cyclically in (i, j].
		if (i < j && i < h && h <= j) || (i > j && (i < h || h <= j)) {
			continue
		}
		x.cells[i], x.cells[j] = x.cells[j], empty
		i = j
	}
}
