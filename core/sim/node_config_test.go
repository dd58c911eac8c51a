package sim

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// A slot's clock offset is the time its coordinator is called with, in
// every call the cluster makes, and it stays across a restart; the other
// nodes keep the cluster's time.
func TestClockOffsetIsTheNodesClock(t *testing.T) {
	var at [3]time.Time // the latest event time each node reported
	o := Options{Nodes: 3, Seed: 1}
	o.OnEvent = func(node int, ev core.MemberEvent) { at[node] = ev.At }
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	c.SetClockOffset(1, -time.Hour)
	if err := c.Start(0); err != nil {
		t.Fatal(err)
	}
	if err := c.Join(1, 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.RunUntil(c.Converged, 10*time.Second); !ok {
		t.Fatal("two members did not converge")
	}
	if got, want := c.NodeNow(1), c.Now().Add(-time.Hour); !got.Equal(want) || !c.NodeNow(0).Equal(c.Now()) {
		t.Fatalf("NodeNow(1) = %v, want %v; NodeNow(0) = %v, want %v", got, want, c.NodeNow(0), c.Now())
	}
	if d := c.Now().Sub(at[1]); d < time.Hour || d > time.Hour+10*time.Second {
		t.Errorf("node 1's events are %v behind the cluster's time, want an hour", d)
	}
	if d := c.Now().Sub(at[0]); d < 0 || d > 10*time.Second {
		t.Errorf("node 0's events are %v behind the cluster's time, want none", d)
	}
	c.Crash(1)
	c.Run(time.Second)
	if err := c.Join(2, 0); err != nil { // node 2 starts at the cluster's time
		t.Fatal(err)
	}
	if err := c.Restart(1, 0); err != nil {
		t.Fatal(err)
	}
	c.Run(2 * time.Second)
	if d := c.Now().Sub(at[1]); d < time.Hour {
		t.Errorf("after a restart node 1's events are %v behind, want the hour still", d)
	}
	if d := c.Now().Sub(at[2]); d < 0 || d > 10*time.Second {
		t.Errorf("node 2's events are %v behind the cluster's time, want none", d)
	}
}

// StartWith starts a slot with its own Config: the template's, with what
// configure changes (here InitialIncarnation, Meta and the NodeID), never
// the authority.
func TestStartWithOwnConfig(t *testing.T) {
	c := newStarted(t, Options{Nodes: 2, Seed: 2})
	if _, err := c.AddNode(); err != nil {
		t.Fatal(err)
	}
	err := c.StartWith(2, func(cfg *core.Config) { cfg.Authority = "10.9.9.9:7946" }, 0)
	if err == nil || !strings.Contains(err.Error(), "authority") || c.IsRunning(2) {
		t.Fatalf("a Config that changes the authority: %v (running %v), want an error naming it", err, c.IsRunning(2))
	}
	err = c.StartWith(2, func(cfg *core.Config) {
		cfg.InitialIncarnation, cfg.Meta, cfg.NodeID = 100, []byte("role=db"), "own-id"
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.RunUntil(c.Converged, 10*time.Second); !ok {
		t.Fatal("the node started with its own Config did not join")
	}
	r, ok := c.Record(0, c.Authority(2))
	if !ok || r.NodeID != "own-id" || r.Incarnation != 100 || string(r.Meta) != "role=db" || c.NodeID(2) != "own-id" {
		t.Errorf("the seed holds %+v (%v), NodeID(2) = %q: want own-id at incarnation 100 with its metadata", r, ok, c.NodeID(2))
	}
	if err := c.StartWith(2, nil, 0); err == nil {
		t.Error("StartWith a running slot: no error")
	}
}

// Inject hands a node a message from any address, and sends its answer
// like any other: a join request from a stranger is answered (a cookie
// challenge) to an address no slot has.
func TestInjectFromAStranger(t *testing.T) {
	var answered []core.GossipOutbound
	o := Options{Nodes: 2, Seed: 3}
	o.OnOutcome = func(node int, out core.Outcome) {
		if node == 0 {
			for _, m := range out.Outbound {
				if m.Target == "192.0.2.1:7946" {
					answered = append(answered, m)
				}
			}
		}
	}
	c := newStarted(t, o)
	c.Run(time.Second)
	unroutable := c.Stats().Unroutable
	req := core.Message{Kind: core.MessageJoinRequest, From: "192.0.2.1:7946", FromID: "x", Seq: 1, Cookie: make([]byte, 64)}
	if err := c.Inject(0, core.GossipInbound{Source: "192.0.2.1:7946", Message: req}); err != nil {
		t.Fatal(err)
	}
	if len(answered) != 1 || answered[0].Message.Kind != core.MessageCookie || c.Stats().Unroutable != unroutable+1 {
		t.Errorf("a stranger's join request: answers %+v, unroutable %d → %d; want one cookie challenge, unroutable",
			answered, unroutable, c.Stats().Unroutable)
	}
	bad := core.Message{Kind: core.MessageGossip, From: "192.0.2.1:7946"} // no FromID
	if err := c.Inject(0, core.GossipInbound{Source: "192.0.2.1:7946", Message: bad}); !errors.Is(err, core.ErrInvalidMessage) {
		t.Errorf("a malformed message: %v, want ErrInvalidMessage", err)
	}
	c.Crash(1)
	if err := c.Inject(1, core.GossipInbound{Source: "192.0.2.1:7946", Message: req}); err == nil {
		t.Error("Inject at a crashed slot: no error")
	}
}

// SetTick changes how often nodes are polled from their next poll on, and
// refuses an interval that is not positive.
func TestSetTick(t *testing.T) {
	calls := 0 // a lone node's outcomes: its polls
	c := newStarted(t, Options{Nodes: 1, Seed: 4, Tick: 10 * time.Millisecond,
		OnOutcome: func(int, core.Outcome) { calls++ }})
	c.Run(time.Second)
	if calls < 99 || calls > 101 {
		t.Fatalf("%d polls in 1 s at a 10 ms tick, want 100", calls)
	}
	if err := c.SetTick(0); err == nil {
		t.Error("SetTick(0): no error")
	}
	if err := c.SetTick(250 * time.Millisecond); err != nil || c.Tick() != 250*time.Millisecond {
		t.Fatalf("SetTick(250ms): %v, Tick() = %v", err, c.Tick())
	}
	c.Run(time.Second) // the node polls once more at the old tick
	calls = 0
	c.Run(10 * time.Second)
	if calls < 39 || calls > 41 {
		t.Errorf("%d polls in 10 s at a 250 ms tick, want 40", calls)
	}
}
