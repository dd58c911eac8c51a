package core

import (
	"slices"
	"testing"
)

func TestOutcomeAppend(t *testing.T) {
	var o Outcome
	if !o.Empty() {
		t.Fatal("zero outcome not empty")
	}
	o.Append(Outcome{
		Members:  []MemberEvent{{To: StatusUp}},
		Outbound: []GossipOutbound{{Target: "a"}},
		Topology: &TopologyUpdate{Members: []NodeRecord{{Authority: "a"}, {Authority: "b"}}, Joined: []string{"a", "b"}, Left: []string{}, Dead: []string{"c"}},
	})
	o.Append(Outcome{
		Members:    []MemberEvent{{To: StatusDead}},
		Quarantine: []QuarantineEvent{{Authority: "b"}},
		Topology:   &TopologyUpdate{Members: []NodeRecord{{Authority: "a"}}, Joined: []string{}, Left: []string{}, Dead: []string{"b"}},
	})
	if len(o.Members) != 2 || o.Members[1].To != StatusDead || len(o.Outbound) != 1 || len(o.Quarantine) != 1 {
		t.Fatalf("append lost something: %+v", o)
	}
	u := o.Topology
	// a joined (earlier) and is still there; b joined then died: it is only
	// Dead; c died earlier and stays Dead.
	if !slices.Equal(u.Joined, []string{"a"}) || !slices.Equal(u.Dead, []string{"b", "c"}) || len(u.Left) != 0 {
		t.Fatalf("merged topology: joined %v left %v dead %v", u.Joined, u.Left, u.Dead)
	}
}
