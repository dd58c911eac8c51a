package core

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// A suspicion is confirmed by distinct suspectors, named on the wire, and
// never by echoes: the Suspect record coming back from any number of
// members that merely pass it on, or naming this node's own accusation or
// the suspect itself, leaves the timeout at SuspicionMaxTimeout; each other
// suspector counts once, whoever relays it; and the confirmations stop at
// SuspicionConfirmations, however many suspectors a message names.
func TestEchoesDoNotConfirmASuspicion(t *testing.T) {
	net := cluster(t, 4, 31)
	x := auth(3)
	net.nodes[x].crashed = true
	var a string
	var s *suspicion
	found := net.runUntil(time.Minute, func() bool {
		for _, at := range net.order[:3] {
			if got, ok := net.nodes[at].c.detect.susp[x]; ok && got.local {
				a, s = at, got
				return true
			}
		}
		return false
	})
	if !found {
		t.Fatal("nobody's detector lost the crashed member within a minute")
	}
	c := net.nodes[a].c
	if len(s.confirmers) != 0 {
		t.Fatalf("the first suspicion already has confirmers %v", s.confirmers)
	}
	rec, _ := c.Member(x)
	var others []string
	for _, o := range net.order[:3] {
		if o != a {
			others = append(others, o)
		}
	}
	send := func(from string, suspectors ...string) {
		t.Helper()
		m := Message{Kind: MessageGossip, From: from, FromID: net.nodes[from].c.cfg.NodeID, Entries: []NodeRecord{rec}}
		if len(suspectors) > 0 {
			m.Accusations = []Accusation{{Entry: 0, Suspectors: suspectors}}
		}
		if _, err := c.HandleGossip(net.now, GossipInbound{Source: from, Message: m}); err != nil {
			t.Fatalf("gossip from %s naming %v: %v", from, suspectors, err)
		}
	}
	deadline := func() time.Duration { return c.suspicionDeadline(s, 1).Sub(s.start) }
	cfg := c.cfg
	for _, step := range []struct {
		what       string
		send       func()
		confirmers []string
	}{
		{"echoes from every other member", func() { send(others[0]); send(others[1]) }, nil},
		{"this node's own accusation, echoed", func() { send(others[0], a) }, nil},
		{"the suspect named as its own suspector", func() { send(others[1], x) }, nil},
		{"one suspector, relayed by another", func() { send(others[1], others[0]) }, []string{others[0]}},
		{"the same suspector again, by itself", func() { send(others[0], others[0], a) }, []string{others[0]}},
		{"a crowd of suspectors", func() { send(others[1], "9.9.9.1:1", "9.9.9.2:1", "9.9.9.3:1", others[1]) }, nil},
	} {
		step.send()
		want := step.confirmers
		if want == nil && len(s.confirmers) > 0 {
			want = s.confirmers // the crowd: checked below by its size
		}
		if !slices.Equal(s.confirmers, want) {
			t.Fatalf("%s: confirmers %v, want %v", step.what, s.confirmers, want)
		}
		wantTimeout := suspicionTimeout(cfg.SuspicionMinTimeout, cfg.SuspicionMaxTimeout, len(s.confirmers), cfg.SuspicionConfirmations)
		if got := deadline(); got != wantTimeout {
			t.Fatalf("%s: timeout %v, want %v for %d confirmations", step.what, got, wantTimeout, len(s.confirmers))
		}
		t.Logf("%s: %d confirmations, timeout %v", step.what, len(s.confirmers), deadline())
	}
	if len(s.confirmers) != cfg.SuspicionConfirmations || deadline() != cfg.SuspicionMinTimeout {
		t.Fatalf("after a crowd: %d confirmers (%v), timeout %v; want the cap %d and the minimum %v",
			len(s.confirmers), s.confirmers, deadline(), cfg.SuspicionConfirmations, cfg.SuspicionMinTimeout)
	}
}

// A malformed accusation refuses the whole message: one naming a record out
// of range or not Suspect, none or too many suspectors, an empty one, or two
// for one record.
func TestMalformedAccusationsAreRefused(t *testing.T) {
	c, err := NewMembershipCoordinator(testConfig("a", "a:1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartMember(epoch); err != nil {
		t.Fatal(err)
	}
	suspect := NodeRecord{NodeID: "x", Authority: "x:1", Status: StatusSuspect, Incarnation: 1}
	up := NodeRecord{NodeID: "y", Authority: "y:1", Status: StatusUp, Incarnation: 1}
	many := make([]string, maxSuspectors+1)
	for i := range many {
		many[i] = "s:1"
	}
	for _, tc := range []struct {
		name string
		acc  []Accusation
	}{
		{"out of range", []Accusation{{Entry: 2, Suspectors: []string{"b:1"}}}},
		{"not suspect", []Accusation{{Entry: 1, Suspectors: []string{"b:1"}}}},
		{"no suspector", []Accusation{{Entry: 0}}},
		{"too many suspectors", []Accusation{{Entry: 0, Suspectors: many}}},
		{"empty suspector", []Accusation{{Entry: 0, Suspectors: []string{""}}}},
		{"twice", []Accusation{{Entry: 0, Suspectors: []string{"b:1"}}, {Entry: 0, Suspectors: []string{"c:1"}}}},
	} {
		m := Message{Kind: MessageGossip, From: "b:1", FromID: "b", Entries: []NodeRecord{suspect, up}, Accusations: tc.acc}
		before := c.Stats().MessagesRejected
		if _, err := c.HandleGossip(epoch, GossipInbound{Source: "b:1", Message: m}); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("%s: %v, want ErrInvalidMessage", tc.name, err)
		}
		if _, ok := c.Member("x:1"); ok || c.Stats().MessagesRejected != before+1 {
			t.Errorf("%s: the message was not refused whole (suspect held %v, rejected %d → %d)", tc.name, ok, before, c.Stats().MessagesRejected)
		}
	}
}
