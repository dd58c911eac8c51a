package core

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// An incarnation only ever grows: refuting a suspicion near the top of the
// range, leaving and starting again never wrap it round to a small number
// (which every other member would take for a stale record). A start that
// cannot raise it above its last life's record fails with ErrInvalidState
// instead of starting a member nobody would ever see.
func TestIncarnationNeverWraps(t *testing.T) {
	for _, tc := range []struct {
		name      string
		suspected uint64 // incarnation at which a forged Suspect record names this node
		wantStart bool   // the restart after the leave can raise the incarnation
	}{
		{"refuted to the top, left at the top", math.MaxUint64 - 2, false},
		{"refuted just below, restarted at the top", math.MaxUint64 - 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewMembershipCoordinator(testConfig("a", "a:1", 1))
			if err != nil {
				t.Fatal(err)
			}
			now := epoch
			if _, err := c.StartMember(now); err != nil {
				t.Fatal(err)
			}
			if _, err := c.HandleJoin(now, nil); err != nil {
				t.Fatal(err)
			}
			forged := Message{Kind: MessageGossip, From: "b:1", FromID: "b",
				Entries: []NodeRecord{{NodeID: "a", Authority: "a:1", Status: StatusSuspect, Incarnation: tc.suspected}}}
			if _, err := c.HandleGossip(now, GossipInbound{Source: "b:1", Message: forged}); err != nil {
				t.Fatal(err)
			}
			last := c.LocalNode().Incarnation
			if last != tc.suspected+1 {
				t.Fatalf("after refuting a suspicion at %d: incarnation %d, want %d", tc.suspected, last, tc.suspected+1)
			}
			for round := range 3 {
				now = now.Add(time.Second)
				if _, err := c.HandleLeave(now); err != nil {
					t.Fatal(err)
				}
				if got := c.LocalNode().Incarnation; got < last {
					t.Fatalf("round %d: leaving at incarnation %d after %d: it wrapped", round, got, last)
				}
				last = c.LocalNode().Incarnation
				for c.State() != CoordinatorStopped {
					now = now.Add(100 * time.Millisecond)
					c.Poll(now)
				}
				_, err := c.StartMember(now)
				if err != nil {
					if !errors.Is(err, ErrInvalidState) || c.State() != CoordinatorStopped {
						t.Fatalf("round %d: a start that cannot raise incarnation %d: %v in state %s, want ErrInvalidState and stopped", round, last, err, c.State())
					}
					if tc.wantStart && round == 0 {
						t.Fatalf("round %d: start refused at incarnation %d: %v", round, last, err)
					}
					return
				}
				r, ok := c.Member("a:1")
				if got := c.LocalNode().Incarnation; got <= last || !ok || r.Incarnation != got || r.Status != StatusJoining {
					t.Fatalf("round %d: restarted at incarnation %d after %d (table: %+v, %v): want above, and held",
						round, got, last, r, ok)
				}
				last = c.LocalNode().Incarnation
			}
			t.Fatalf("three restarts at the top of the range all succeeded")
		})
	}
}

func TestInitialIncarnationBound(t *testing.T) {
	cfg := testConfig("a", "a:1", 1)
	cfg.InitialIncarnation = 1<<63 - 1
	if err := cfg.Validate(); err != nil {
		t.Fatalf("InitialIncarnation 2^63-1: %v", err)
	}
	cfg.InitialIncarnation = 1 << 63
	if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "InitialIncarnation") {
		t.Fatalf("InitialIncarnation 2^63: %v, want an invalid config naming the field", err)
	}
}
