package core

import (
	"slices"
	"time"
)

// identityState indexes the active records by node ID, to find one node ID
// claimed at two authorities (see "Conflicts" in the package
// documentation). It holds one cell per active record of the table: the
// record as it was when it became active (shared with the table), whose node
// ID and authority are its key; between 11 and 21 bytes per record, where a
// map of node ID to authorities cost about 100.
type identityState struct {
	byNodeID openCells[sharedRecord]
}

func newIdentityState() identityState {
	return identityState{byNodeID: newOpenCells[sharedRecord]()}
}

// len returns the number of authorities indexed.
func (s *identityState) len() int { return s.byNodeID.len() }

// followIdentity keeps the index in step with the table and reports a
// conflict when a record becomes active under a node ID that is active at
// another authority: one MemberEvent with Conflict set for each such
// authority, Record being the record that just became active and Other the
// one held at the other authority. Both stay in the table.
func (c *MembershipCoordinator) followIdentity(now time.Time, ev tableEvent) {
	r, prev := ev.Record, ev.Previous
	wasIndexed := ev.HadPrevious && prev.Status.IsActive()
	if wasIndexed && (prev.NodeID != r.NodeID || !r.Status.IsActive()) {
		c.ident.remove(prev.NodeID, prev.Authority)
	}
	if !r.Status.IsActive() || (wasIndexed && prev.NodeID == r.NodeID) {
		return
	}
	for _, a := range c.ident.add(ev.shared) {
		other, ok := c.table.Get(a)
		if !ok {
			continue
		}
		c.stats.IdentityConflicts++
		c.out.Members = append(c.out.Members, MemberEvent{Record: r.Clone(), From: r.Status, To: r.Status, At: now,
			Conflict: true, Other: other})
	}
}

// recordNodeID is the key of an identityState cell.
func recordNodeID(r sharedRecord) string { return r.Value().nodeID }

// add indexes the active record r under its node ID and returns the other
// authorities already indexed under it, sorted.
func (s *identityState) add(r sharedRecord) []string {
	x := &s.byNodeID
	v := r.Value()
	var others []string
	mask := len(x.cells) - 1
	for i := x.home(v.nodeID); x.cells[i] != (sharedRecord{}); i = (i + 1) & mask {
		if w := x.cells[i].Value(); w.nodeID == v.nodeID {
			others = append(others, w.authority)
		}
	}
	slices.Sort(others)
	x.put(r, v.nodeID, recordNodeID)
	return others
}

// remove drops the cell of authority under nodeID.
func (s *identityState) remove(nodeID, authority string) {
	x := &s.byNodeID
	mask := len(x.cells) - 1
	for i := x.home(nodeID); x.cells[i] != (sharedRecord{}); i = (i + 1) & mask {
		if w := x.cells[i].Value(); w.nodeID == nodeID && w.authority == authority {
			x.clear(i, recordNodeID)
			return
		}
	}
}
