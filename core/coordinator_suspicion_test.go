package core

import (
	"errors"
	"testing"
)

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
