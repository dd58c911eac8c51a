package core

import "slices"

// peerList is the active members other than this node, the peers gossip and
// anti-entropy pick from at random, in an order that is arbitrary but the
// same on every run: a new peer goes last, and a peer that leaves is replaced
// by the last one. Peers are held as table slots (a slot is stable while its
// record is held, and a peer's record is active, so never pruned), four bytes
// each plus a bit by slot saying which slots are peers: a list of
// authorities and a map to their positions cost about 56. Taking a peer off
// the list looks for its position (members leave far less often than they
// are drawn, and a position by slot would cost four bytes per member at
// every member of a large simulation).
type peerList struct {
	table *membershipTable
	slots []int32  // the peers' table slots, in list order
	in    []uint64 // by table slot: the slot is a peer
}

func newPeerList(t *membershipTable) peerList { return peerList{table: t} }

// len returns how many peers there are.
func (p *peerList) len() int { return len(p.slots) }

// at returns the authority of the i-th peer.
func (p *peerList) at(i int) string { return p.table.authorityAt(p.slots[i]) }

// authorities returns every peer's authority, in list order.
func (p *peerList) authorities() []string {
	out := make([]string, len(p.slots))
	for i := range p.slots {
		out[i] = p.at(i)
	}
	return out
}

// has reports whether the member in slot is a peer.
func (p *peerList) has(slot int32) bool {
	w := int(slot / 64)
	return w < len(p.in) && p.in[w]&(1<<(slot%64)) != 0
}

// add makes the member in slot a peer, last in the list, unless it is one.
func (p *peerList) add(slot int32) {
	if p.has(slot) {
		return
	}
	for int(slot/64) >= len(p.in) {
		p.in = append(p.in, 0)
	}
	p.in[slot/64] |= 1 << (slot % 64)
	p.slots = append(p.slots, slot)
}

// remove takes the member in slot off the list, moving the last peer into
// its place.
func (p *peerList) remove(slot int32) {
	if !p.has(slot) {
		return
	}
	i := slices.Index(p.slots, slot)
	last := len(p.slots) - 1
	p.slots[i] = p.slots[last]
	p.slots = p.slots[:last]
	p.in[slot/64] &^= 1 << (slot % 64)
}
