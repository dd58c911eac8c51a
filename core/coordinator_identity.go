package core

import (
	"slices"
	"time"
)

// identityState indexes the active records by node ID, to find one node ID
// claimed at two authorities (see "Conflicts" in the package
// documentation). It holds one entry per active record of the table.
type identityState struct {
	authorities map[string][]string // node ID → the authorities of its active records
	indexed     int                 // authorities indexed, over every node ID
}

func newIdentityState() identityState {
	return identityState{authorities: map[string][]string{}}
}

// len returns the number of authorities indexed.
func (s *identityState) len() int { return s.indexed }

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
	for _, a := range c.ident.add(r.NodeID, r.Authority) {
		other, ok := c.table.Get(a)
		if !ok {
			continue
		}
		c.stats.IdentityConflicts++
		c.out.Members = append(c.out.Members, MemberEvent{Record: r.Clone(), From: r.Status, To: r.Status, At: now,
			Conflict: true, Other: other})
	}
}

// add indexes authority under nodeID and returns the other authorities
// already indexed under it.
func (s *identityState) add(nodeID, authority string) []string {
	as := s.authorities[nodeID]
	others := slices.Clone(as)
	s.authorities[nodeID] = append(as, authority)
	s.indexed++
	return others
}

// remove drops authority from nodeID's entry.
func (s *identityState) remove(nodeID, authority string) {
	before := len(s.authorities[nodeID])
	as := slices.DeleteFunc(s.authorities[nodeID], func(a string) bool { return a == authority })
	s.indexed -= before - len(as)
	if len(as) == 0 {
		delete(s.authorities, nodeID)
		return
	}
	s.authorities[nodeID] = as
}
