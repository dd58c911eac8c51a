package core

import (
	"errors"
	"fmt"
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

// A node restarted at the same authority under a new node ID starts at
// Config.InitialIncarnation. Above every incarnation its earlier life
// reached, the earlier life's records, replayed once its tombstone is
// pruned (a captured leave, say), cannot supersede the new life's; at the
// default start they do, and the new life appears to leave.
func TestInitialIncarnationOutranksAReplayedEarlierLife(t *testing.T) {
	for _, tc := range []struct {
		initial   uint64
		wantFresh bool // the new life stays Up, untouched, at the seed
	}{{100, true}, {0, false}} {
		t.Run(fmt.Sprintf("initial %d", tc.initial), func(t *testing.T) {
			net := cluster(t, 5, 31)
			victim := auth(3)
			// The earlier life leaves; every message it sends is captured.
			var captured []Message
			net.observeOutcome = func(at string, o Outcome) {
				if at == victim {
					for _, out := range o.Outbound {
						captured = append(captured, out.Message)
					}
				}
			}
			o, err := net.nodes[victim].c.HandleLeave(net.now)
			if err != nil {
				t.Fatal(err)
			}
			net.deliver(victim, o)
			if !net.runUntil(30*time.Second, func() bool { return net.allSee(victim, StatusRemoved) }) {
				t.Fatal("the leave did not spread")
			}
			net.observeOutcome = nil
			last := net.nodes[victim].c.LocalNode().Incarnation
			if tc.initial != 0 && tc.initial <= last {
				t.Fatalf("the test's initial incarnation %d is not above the earlier life's %d", tc.initial, last)
			}
			net.nodes[victim].crashed = true
			// Past TombstoneRetention every member has pruned the earlier life.
			net.run(DefaultLANConfig().TombstoneRetention + time.Minute)
			if st := net.statusAt(auth(0), victim); st != 0 {
				t.Fatalf("the seed still holds the earlier life (%s)", st)
			}

			fresh := net.add("node-003-b", victim, func(c *Config) { c.InitialIncarnation = tc.initial })
			net.join(victim, auth(0))
			if !net.runUntil(30*time.Second, func() bool { return net.converged() && net.allSee(victim, StatusUp) }) {
				t.Fatal("the new life is not Up everywhere")
			}
			want := max(1, tc.initial)
			if got := fresh.LocalNode().Incarnation; got != want {
				t.Fatalf("the new life is at incarnation %d, want %d", got, want)
			}

			var changes []string
			net.observe = func(at string, ev MemberEvent) {
				if at == auth(0) && ev.Record.Authority == victim {
					changes = append(changes, fmt.Sprintf("%s %s->%s at %d", ev.Record.NodeID, ev.From, ev.To, ev.Record.Incarnation))
				}
			}
			seed := net.nodes[auth(0)].c
			for _, m := range captured {
				o, _ := seed.HandleGossip(net.now, GossipInbound{Source: victim, Message: m})
				net.deliver(auth(0), o)
			}
			net.run(time.Second)
			r, _ := seed.Member(victim)
			untouched := len(changes) == 0 && r.NodeID == "node-003-b" && r.Status == StatusUp && r.Incarnation == want
			if untouched != tc.wantFresh {
				t.Fatalf("after replaying %d messages of the earlier life, the seed holds %s %s at %d, changes %v; untouched = %v, want %v",
					len(captured), r.NodeID, r.Status, r.Incarnation, changes, untouched, tc.wantFresh)
			}
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
