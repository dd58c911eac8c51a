package core

import "slices"

// nodeIDIndex finds the active records of a node ID in a membershipTable, to
// find one node ID claimed at two authorities (see "Conflicts" in the package
// documentation): an openCells of slot numbers plus one, keyed by the node ID
// of the record in the slot. The table keeps it in step with its slots as it
// stores each record, so a cell's key is always read from the record its slot
// holds: one cell per active record, 5 to 11 bytes each (a map of node ID to
// authorities cost about 100).
type nodeIDIndex struct {
	openCells[int32]
}

func newNodeIDIndex() nodeIDIndex { return nodeIDIndex{newOpenCells[int32]()} }

// slotNodeID returns the key of a nodeIDIndex cell: the node ID in its slot.
func slotNodeID(slots []sharedRecord) func(int32) string {
	return func(c int32) string { return slots[c-1].Value().nodeID }
}

// authorities returns the authorities of the records indexed under nodeID,
// sorted (nil when none).
func (x *nodeIDIndex) authorities(nodeID string, slots []sharedRecord) []string {
	var out []string
	mask := len(x.cells) - 1
	for i := x.home(nodeID); x.cells[i] != 0; i = (i + 1) & mask {
		if v := slots[x.cells[i]-1].Value(); v.nodeID == nodeID {
			out = append(out, v.authority)
		}
	}
	slices.Sort(out)
	return out
}

// insert indexes the record in slot.
func (x *nodeIDIndex) insert(slot int32, slots []sharedRecord) {
	x.put(slot+1, slots[slot].Value().nodeID, slotNodeID(slots))
}

// remove drops the cell of slot, which must still hold the record indexed.
func (x *nodeIDIndex) remove(slot int32, slots []sharedRecord) {
	mask := len(x.cells) - 1
	for i := x.home(slots[slot].Value().nodeID); x.cells[i] != 0; i = (i + 1) & mask {
		if x.cells[i] == slot+1 {
			x.clear(i, slotNodeID(slots))
			return
		}
	}
}
