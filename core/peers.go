package core

// peerList is the active members other than this node, the peers gossip and
// anti-entropy pick from at random, in an order that is arbitrary but the
// same on every run: a new peer goes last, and a peer that leaves is replaced
// by the last one. Peers are held as table slots (a slot is stable while its
// record is held, and a peer's record is active, so never pruned), four bytes
// each plus four in a position array by slot: a list of authorities and a map
// to their positions cost about 56.
type peerList struct {
	table *membershipTable
	slots []int32 // the peers' table slots, in list order
	pos   []int32 // by table slot: the position in slots plus one; 0 for no peer
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

// add makes the member in slot a peer, last in the list, unless it is one.
func (p *peerList) add(slot int32) {
	for int(slot) >= len(p.pos) {
		p.pos = append(p.pos, 0)
	}
	if p.pos[slot] != 0 {
		return
	}
	p.slots = append(p.slots, slot)
	p.pos[slot] = int32(len(p.slots))
}

// remove takes the member in slot off the list, moving the last peer into
// its place.
func (p *peerList) remove(slot int32) {
	if int(slot) >= len(p.pos) || p.pos[slot] == 0 {
		return
	}
	i := p.pos[slot] - 1
	last := p.slots[len(p.slots)-1]
	p.slots[i] = last
	p.pos[last] = i + 1
	p.slots = p.slots[:len(p.slots)-1]
	p.pos[slot] = 0
}
