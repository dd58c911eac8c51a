package core

import (
	"testing"
	"time"
)

// A driver's clock that steps backwards (an operator or NTP setting a wall
// clock back) does not stop the node: it keeps heartbeating and gossiping
// as if no time had passed during the step, so no member suspects it, and
// its next deadline is never further ahead of its clock than one interval.
func TestClockStepBackKeepsTheNodeRunning(t *testing.T) {
	net := cluster(t, 5, 21)
	x := auth(2)
	suspected := 0
	c := net.nodes[x].c
	// The step is taken in the middle of an event: x's view changes (y
	// leaves) just after it, so that x emits events in its stepped clock.
	y := auth(4)
	net.observe = func(at string, ev MemberEvent) {
		if ev.Record.Authority == x && (ev.To == StatusSuspect || ev.To == StatusDead) {
			suspected++
		}
		if clock := net.now.Add(net.nodes[at].skew); at == x && (ev.At.After(clock) || ev.At.Before(clock.Add(-time.Second))) {
			t.Errorf("x's event %s → %s at %v, its clock is %v: not in the caller's clock", ev.From, ev.To, ev.At, clock)
		}
	}
	net.nodes[x].skew = -time.Minute
	o, err := net.nodes[y].c.HandleLeave(net.now)
	if err != nil {
		t.Fatal(err)
	}
	net.deliver(y, o)
	cfg := c.cfg
	interval := min(cfg.HeartbeatInterval, cfg.GossipInterval)
	end := net.now.Add(2 * time.Minute)
	for net.now.Before(end) {
		net.step()
		clock := net.now.Add(net.nodes[x].skew)
		if next := c.NextDeadline(); next.Sub(clock) > interval {
			t.Fatalf("%v after the step: next deadline %v ahead of the node's clock, want at most %v",
				2*time.Minute-end.Sub(net.now), next.Sub(clock), interval)
		}
	}
	if suspected != 0 {
		t.Errorf("after the node's clock stepped back a minute, it was suspected or declared dead %d times", suspected)
	}
	if r, _ := c.Member(y); r.Status != StatusRemoved {
		t.Errorf("x holds the member that left as %s, want removed", r.Status)
	}
	if !net.converged() {
		t.Errorf("views differ two minutes after the step")
	}
}
