package core_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

// memberEvents starts a settled cluster of n members whose member events,
// as node observer emits them about the member at slot about once settled,
// are collected in the returned slice.
func memberEvents(t *testing.T, n int, seed uint64, observer, about int) (*sim.Cluster, *[]core.MemberEvent) {
	var evs []core.MemberEvent
	var c *sim.Cluster
	o := sim.Options{Nodes: n, Seed: seed}
	o.OnEvent = func(at int, ev core.MemberEvent) {
		if c != nil && at == observer && ev.Record.Authority == c.Authority(about) {
			evs = append(evs, ev)
		}
	}
	cl := settled(t, o)
	c = cl // from now on, events are collected
	return c, &evs
}

func describeMemberEvents(evs []core.MemberEvent) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "\n  %s", core.Event{Member: &ev})
	}
	return b.String()
}

// A member cut off long enough to be declared Dead, that then comes back and
// refutes, is reported Dead → Up: the same instance, not a new one.
func TestRefutedDeathIsReportedFromDead(t *testing.T) {
	c, evs := memberEvents(t, 4, 21, 0, 3)
	c.Partition([]int{3})
	if _, ok := c.RunUntil(func() bool { r, _ := c.Record(0, c.Authority(3)); return r.Status == core.StatusDead }, 30*time.Second); !ok {
		t.Fatalf("node 3 cut off is not declared Dead:%s", describeMemberEvents(*evs))
	}
	c.Heal()
	if _, ok := c.RunUntil(func() bool { r, _ := c.Record(0, c.Authority(3)); return r.Status == core.StatusUp }, 30*time.Second); !ok {
		t.Fatalf("node 3 healed is not Up again:%s", describeMemberEvents(*evs))
	}
	got := *evs
	last := got[len(got)-1]
	if last.From != core.StatusDead || last.To != core.StatusUp || last.Record.NodeID != c.NodeID(3) {
		t.Errorf("the return is reported as %s, want dead -> up:%s", core.Event{Member: &last}, describeMemberEvents(got))
	}
	for _, ev := range got {
		if ev.From == 0 {
			t.Errorf("an event reports node 3 as new:%s", describeMemberEvents(got))
		}
	}
}

// A node that restarts under a new node ID before anyone declared the old
// instance Dead takes its authority over; every member reports the old
// instance gone (Replaced, To Dead) and then the new one new, so a
// subscriber that follows node IDs never keeps the old one.
func TestRestartReportsTheReplacedInstance(t *testing.T) {
	c, evs := memberEvents(t, 4, 22, 0, 3)
	old := c.NodeID(3)
	c.Crash(3)
	c.Run(100 * time.Millisecond)
	if err := c.Restart(3, 0); err != nil {
		t.Fatal(err)
	}
	fresh := c.NodeID(3)
	if _, ok := c.RunUntil(func() bool {
		r, _ := c.Record(0, c.Authority(3))
		return r.NodeID == fresh && r.Status == core.StatusUp
	}, 10*time.Second); !ok {
		t.Fatalf("the new instance is not Up at node 0:%s", describeMemberEvents(*evs))
	}
	got := *evs
	if len(got) < 2 {
		t.Fatalf("events about the authority:%s", describeMemberEvents(got))
	}
	gone, came := got[0], got[1]
	if !gone.Replaced || gone.Record.NodeID != old || gone.From != core.StatusUp || gone.To != core.StatusDead ||
		gone.Record.Status != core.StatusDead || gone.Other.NodeID != fresh {
		t.Errorf("first event %s, want %s up -> dead, replaced by %s:%s", core.Event{Member: &gone}, old, fresh, describeMemberEvents(got))
	}
	if came.Replaced || came.Record.NodeID != fresh || came.From != 0 || !came.To.IsActive() {
		t.Errorf("second event %s, want %s new -> active:%s", core.Event{Member: &came}, fresh, describeMemberEvents(got))
	}
	for _, ev := range got[2:] {
		if ev.Record.NodeID != fresh {
			t.Errorf("a later event is about the old instance:%s", describeMemberEvents(got))
		}
	}
}

func TestEventString(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := core.NodeRecord{NodeID: "a", Authority: "10.0.0.1:7946", Status: core.StatusUp, Incarnation: 3}
	b := core.NodeRecord{NodeID: "b", Authority: "10.0.0.1:7946", Status: core.StatusJoining, Incarnation: 4}
	dead := a
	dead.Status = core.StatusDead
	for _, tc := range []struct {
		e    core.Event
		want string
	}{
		{core.Event{Member: &core.MemberEvent{Record: a, From: 0, To: core.StatusUp}}, "member 10.0.0.1:7946 (node a, incarnation 3) new -> up"},
		{core.Event{Member: &core.MemberEvent{Record: a, From: core.StatusDead, To: core.StatusUp}}, "member 10.0.0.1:7946 (node a, incarnation 3) dead -> up"},
		{core.Event{Member: &core.MemberEvent{Record: a, From: core.StatusUp, To: core.StatusUp}}, "member 10.0.0.1:7946 (node a, incarnation 3) updated, still up"},
		{core.Event{Member: &core.MemberEvent{Record: dead, From: core.StatusUp, To: core.StatusDead, Replaced: true, Other: b}},
			"member 10.0.0.1:7946 (node a, incarnation 3) up -> dead: replaced by node b"},
		{core.Event{Member: &core.MemberEvent{Record: a, From: core.StatusUp, To: core.StatusUp, Conflict: true, Other: b}},
			"conflict: member 10.0.0.1:7946 (node a, incarnation 3) up lost to node b at incarnation 4"},
		{core.Event{Member: &core.MemberEvent{Record: core.NodeRecord{NodeID: "a", Authority: "10.0.0.2:7946", Status: core.StatusUp}, From: core.StatusUp, To: core.StatusUp, Conflict: true, Other: a}},
			"conflict: node a is active at 10.0.0.2:7946 and at 10.0.0.1:7946"},
		{core.Event{Topology: &core.TopologyUpdate{Members: []core.NodeRecord{a}, Joined: []string{"x:1"}, Hash: 0xab}},
			"topology: 1 members, joined [x:1], left [], dead [], hash 00000000000000ab"},
		{core.Event{Quarantine: &core.QuarantineEvent{Authority: "x:1", Incarnation: 2, Until: at}}, "quarantine of x:1 up to incarnation 2 until 2026-01-02T03:04:05Z"},
		{core.Event{Quarantine: &core.QuarantineEvent{Authority: "x:1", Incarnation: 2, Until: at, Expired: true}}, "quarantine of x:1 ended (incarnations up to 2)"},
		{core.Event{}, "empty event"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}
