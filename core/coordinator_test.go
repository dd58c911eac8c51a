package core

import (
	"errors"
	"testing"
	"time"
)

func TestThreeNodeJoin(t *testing.T) {
	net := cluster(t, 3, 1)
	for _, a := range net.live() {
		if got := len(net.nodes[a].c.Members()); got != 3 {
			t.Errorf("%s holds %d records, want 3", a, got)
		}
	}
}

func TestCrashIsDetectedAndNobodyElseSuspected(t *testing.T) {
	net := cluster(t, 20, 2)
	var falseSuspects []string
	net.observe = func(at string, ev MemberEvent) {
		if ev.Record.Authority != auth(7) && (ev.To == StatusSuspect || ev.To == StatusDead) {
			falseSuspects = append(falseSuspects, at+" saw "+ev.Record.Authority+" "+ev.To.String())
		}
	}
	net.run(5 * time.Second)
	net.nodes[auth(7)].crashed = true
	start := net.now
	if !net.runUntil(60*time.Second, func() bool { return net.allSee(auth(7), StatusDead) }) {
		t.Fatalf("crash not detected everywhere")
	}
	t.Logf("detected everywhere after %v", net.now.Sub(start))
	if len(falseSuspects) > 0 {
		t.Errorf("false suspicions: %v", falseSuspects)
	}
}

func TestGracefulLeaveIsRemovedNeverDead(t *testing.T) {
	net := cluster(t, 10, 3)
	var dead []string
	net.observe = func(at string, ev MemberEvent) {
		if ev.To == StatusDead {
			dead = append(dead, at+" saw "+ev.Record.Authority+" dead")
		}
	}
	leaver := net.nodes[auth(4)].c
	o, err := leaver.HandleLeave(net.now)
	if err != nil {
		t.Fatal(err)
	}
	net.deliver(auth(4), o)
	if !net.runUntil(10*time.Second, leaver.LeaveDone) {
		t.Fatal("leave not done")
	}
	if !net.runUntil(20*time.Second, func() bool { return net.allSee(auth(4), StatusRemoved) }) {
		t.Fatal("leave did not reach everyone as Removed")
	}
	net.run(20 * time.Second)
	if !net.allSee(auth(4), StatusRemoved) || len(dead) > 0 {
		t.Fatalf("after leave: dead events %v", dead)
	}
}

func TestBadInputIsRefused(t *testing.T) {
	net := cluster(t, 2, 4)
	c := net.nodes[auth(0)].c
	before := c.Members()
	bad := []Message{
		{Kind: 0, From: auth(9), FromID: "x"},
		{Kind: 99, From: auth(9), FromID: "x"},
		{Kind: MessageGossip, From: "", FromID: "x"},
		{Kind: MessageGossip, From: auth(9), FromID: ""},
		{Kind: MessageGossip, From: auth(9), FromID: "x", Entries: []NodeRecord{{NodeID: "", Authority: "a", Status: StatusUp}}},
		{Kind: MessageGossip, From: auth(9), FromID: "x", Entries: []NodeRecord{{NodeID: "n", Authority: "a", Status: StatusUp}, {NodeID: "n", Authority: "b", Status: 42}}},
		{Kind: MessageDigest, From: auth(9), FromID: "x", Digest: make([]uint64, 3)},
		{Kind: MessageDigestReply, From: auth(9), FromID: "x", Want: []uint32{1 << 20}},
	}
	for i, m := range bad {
		if _, err := c.HandleGossip(net.now, GossipInbound{Message: m}); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("bad message %d: err = %v, want ErrInvalidMessage", i, err)
		}
	}
	after := c.Members()
	if len(before) != len(after) {
		t.Errorf("table changed: %d → %d records", len(before), len(after))
	}
	if got := c.Stats().MessagesRejected; got < uint64(len(bad)) {
		t.Errorf("MessagesRejected = %d, want >= %d", got, len(bad))
	}
}

func TestStateErrors(t *testing.T) {
	c, err := NewMembershipCoordinator(testConfig("a", "a:1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.HandleJoin(epoch, []string{"b:1"}); !errors.Is(err, ErrNotStarted) {
		t.Errorf("HandleJoin stopped: %v", err)
	}
	if _, err := c.HandleGossip(epoch, GossipInbound{}); !errors.Is(err, ErrNotStarted) {
		t.Errorf("HandleGossip stopped: %v", err)
	}
	if _, err := c.StartMember(epoch); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartMember(epoch); !errors.Is(err, ErrInvalidState) {
		t.Errorf("StartMember twice: %v", err)
	}
	if _, err := c.StartClient(epoch); !errors.Is(err, ErrInvalidState) {
		t.Errorf("StartClient when member: %v", err)
	}
}
