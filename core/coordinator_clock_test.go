package core_test

import (
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

// A driver's clock that steps backwards (an operator or NTP setting a wall
// clock back) does not stop the node: it keeps heartbeating and gossiping
// as if no time had passed during the step, so no member suspects it, and
// its next deadline is never further ahead of its clock than one interval.
func TestClockStepBackKeepsTheNodeRunning(t *testing.T) {
	const x, y = 2, 4
	var c *sim.Cluster
	suspected := 0
	o := sim.Options{Nodes: 5, Seed: 21}
	o.OnEvent = func(at int, ev core.MemberEvent) {
		if c == nil {
			return // still settling
		}
		if ev.Record.Authority == c.Authority(x) && (ev.To == core.StatusSuspect || ev.To == core.StatusDead) {
			suspected++
		}
		if clock := c.NodeNow(at); at == x && (ev.At.After(clock) || ev.At.Before(clock.Add(-time.Second))) {
			t.Errorf("x's event %s → %s at %v, its clock is %v: not in the caller's clock", ev.From, ev.To, ev.At, clock)
		}
	}
	c = settled(t, o)
	coord := c.Coordinator(x)
	// The step is taken in the middle of an event: x's view changes (y
	// leaves) just after it, so that x emits events in its stepped clock.
	c.SetClockOffset(x, -time.Minute)
	if err := c.Leave(y); err != nil {
		t.Fatal(err)
	}
	cfg := c.Config()
	interval := 2 * min(cfg.HeartbeatInterval, cfg.GossipInterval) // the idle wake (NextDeadline)
	const window = 2 * time.Minute
	for elapsed := time.Duration(0); elapsed < window; elapsed += c.Tick() {
		c.Run(c.Tick())
		clock := c.NodeNow(x)
		if next := coord.NextDeadline(); next.Sub(clock) > interval {
			t.Fatalf("%v after the step: next deadline %v ahead of the node's clock, want at most %v",
				elapsed, next.Sub(clock), interval)
		}
	}
	if suspected != 0 {
		t.Errorf("after the node's clock stepped back a minute, it was suspected or declared dead %d times", suspected)
	}
	if r, _ := coord.Member(c.Authority(y)); r.Status != core.StatusRemoved {
		t.Errorf("x holds the member that left as %s, want removed", r.Status)
	}
	if !c.Converged() {
		t.Errorf("views differ two minutes after the step")
	}
}
