package core

import "time"

// followIdentity reports a conflict when a record becomes active under a
// node ID that is active at another authority (the table lists them in the
// event, from its node ID index: table_identity.go): one MemberEvent with
// Conflict set for each such authority, Record being the record that just
// became active and Other the one held at the other authority. Both stay in
// the table.
func (c *MembershipCoordinator) followIdentity(now time.Time, ev tableEvent) {
	r := ev.Record
	for _, a := range ev.sameNodeID {
		other, ok := c.table.Get(a)
		if !ok {
			continue
		}
		c.stats.IdentityConflicts++
		c.out.Members = append(c.out.Members, MemberEvent{Record: r.Clone(), From: r.Status, To: r.Status, At: now,
			Conflict: true, Other: other})
	}
}
