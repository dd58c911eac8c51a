package core

import (
	"slices"
	"time"
)

// Outcome is what one coordinator call produced for its caller to act on, in
// the spirit of raft's Ready: events to publish and messages to send. The
// coordinator keeps no reference to anything in it.
type Outcome struct {
	// Topology is non-nil when a topology update is due (at most one per
	// Config.TopologyEmitInterval, and only when something changed).
	Topology *TopologyUpdate
	// Members are the status changes of members, in the order they happened.
	Members []MemberEvent
	// Outbound are the messages to send, each within Config.MaxMessageBytes
	// by EstimateSize.
	Outbound []GossipOutbound
	// Quarantine reports instances put in or let out of quarantine.
	Quarantine []QuarantineEvent
	// User are the application messages delivered to this node, direct
	// messages and broadcasts, in the order they arrived; each broadcast
	// once.
	User []UserMessage
}

// Append adds other's events and messages after o's. When both carry a
// topology update, the later one (other's) is kept: it describes the newer
// view and its sets are computed against the last update emitted.
func (o *Outcome) Append(other Outcome) {
	if other.Topology != nil {
		if o.Topology != nil {
			other.Topology.mergeEarlier(o.Topology)
		}
		o.Topology = other.Topology
	}
	o.Members = append(o.Members, other.Members...)
	o.Outbound = append(o.Outbound, other.Outbound...)
	o.Quarantine = append(o.Quarantine, other.Quarantine...)
	o.User = append(o.User, other.User...)
}

// Empty reports whether o carries nothing.
func (o *Outcome) Empty() bool {
	return o.Topology == nil && len(o.Members) == 0 && len(o.Outbound) == 0 && len(o.Quarantine) == 0 && len(o.User) == 0
}

// MemberEvent is one change of one member (one instance: a NodeID at an
// authority) as this node saw it: its status changed (From != To), or its
// metadata did while it stayed in the same active status (an update: From
// == To). Every change of the table that a member would want to follow is
// exactly one event, in order, so that replaying a node's events (keeping
// Record per authority) gives the members and statuses of its table:
//
//   - a member this node did not hold is reported From 0 ("new");
//   - the same instance back from a tombstone is reported From its
//     tombstone (Dead → Up after a refuted death);
//   - a new instance taking an authority over from a live one (a restart
//     under a new NodeID) is two events: first the replaced instance, From
//     its status To Dead (Removed if it was leaving), with Replaced set,
//     then the new one, From 0.
//
// A Conflict event changes nothing in the table: it reports two claims
// that should not both hold (see Conflict).
type MemberEvent struct {
	// Record is the member's record after the change (for a replaced
	// instance, its last record with Status set to To).
	Record NodeRecord
	// From is the status before the change; 0 when the instance is new to
	// this node.
	From NodeStatus
	// To is the status after the change (Record.Status). For a conflict (see
	// Conflict) it is the status of the record that lost.
	To NodeStatus
	// At is when the coordinator learnt of the change.
	At time.Time
	// Replaced is set on the event of an instance that another instance
	// (Other) took the authority over from: it is gone, not because anyone
	// declared it Dead but because it restarted.
	Replaced bool
	// Conflict reports two claims that should not both hold (see "Conflicts"
	// in the package documentation):
	//   - one authority, two instances: Record is this node's own record,
	//     which lost its authority to Other, a newer instance (Record.Authority
	//     == Other.Authority); this node stops;
	//   - one node ID, two authorities: Record just became active under a
	//     NodeID that Other holds active at another authority
	//     (Record.NodeID == Other.NodeID). Both stay members; every node
	//     that holds both reports it once, the two instances included.
	Conflict bool
	// Other is, for a replaced instance, the instance that replaced it; for
	// a conflict, the other claim; otherwise the zero record.
	Other NodeRecord
}

// QuarantineEvent reports that an instance was quarantined (Expired false) or
// that its quarantine ended (Expired true).
type QuarantineEvent struct {
	// Authority is the instance's address.
	Authority string
	// Incarnation is the highest incarnation refused.
	Incarnation uint64
	// Until is when the quarantine ends (or ended).
	Until time.Time
	// Expired is true when the quarantine has just ended.
	Expired bool
}

// mergeEarlier folds an earlier, not yet published update into u, so that
// Append of two outcomes loses no joined/left/dead name. A name that joined
// in the earlier update and left in u cancels out.
func (u *TopologyUpdate) mergeEarlier(e *TopologyUpdate) {
	active := make(map[string]bool, len(u.Members))
	for _, m := range u.Members {
		active[m.Authority] = true
	}
	add := func(dst []string, names []string, keep func(string) bool) []string {
		for _, n := range names {
			if keep(n) && !slices.Contains(dst, n) {
				dst = append(dst, n)
			}
		}
		return dst
	}
	gone := func(n string) bool { return !active[n] && !slices.Contains(u.Joined, n) }
	u.Joined = add(u.Joined, e.Joined, func(n string) bool {
		return active[n] && !slices.Contains(u.Left, n) && !slices.Contains(u.Dead, n)
	})
	u.Left = add(u.Left, e.Left, func(n string) bool { return gone(n) && !slices.Contains(u.Dead, n) })
	u.Dead = add(u.Dead, e.Dead, func(n string) bool { return gone(n) && !slices.Contains(u.Left, n) })
	slices.Sort(u.Joined)
	slices.Sort(u.Left)
	slices.Sort(u.Dead)
}
