package sim

import (
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// A cut link drops one direction only; a deaf node sends but gets nothing; a
// mute node gets everything but sends nothing; clearing the rules brings
// every direction back. With four nodes and three monitors each, every
// ordered pair carries heartbeats, so every direction is exercised.
func TestLinkRules(t *testing.T) {
	c := newStarted(t, Options{Nodes: 4, Seed: 1, Config: everyoneMonitored()})
	if _, ok := c.RunUntil(c.Converged, 30*time.Second); !ok {
		t.Fatal("4 nodes did not converge")
	}
	handled := map[[2]int32]int{}
	c.onHandle = func(from, to int32, _ *core.Message) { handled[[2]int32{from, to}]++ }
	c.SetLinkDown(0, 1, true)
	c.SetDeaf(2, true)
	c.SetMute(3, true)
	c.Run(10 * time.Second)
	got := func(from, to int) int { return handled[[2]int32{int32(from), int32(to)}] }
	if got(0, 1) != 0 || got(1, 0) == 0 {
		t.Errorf("link 0->1 down: 0->1 handled %d (want 0), 1->0 handled %d (want > 0)", got(0, 1), got(1, 0))
	}
	for i := range 4 {
		if i != 2 && got(i, 2) != 0 {
			t.Errorf("node 2 is deaf but handled %d messages from %d", got(i, 2), i)
		}
		if i != 3 && got(3, i) != 0 {
			t.Errorf("node 3 is mute but %d handled %d messages from it", i, got(3, i))
		}
	}
	if got(2, 0) == 0 || got(2, 1) == 0 || got(0, 3) == 0 || got(1, 3) == 0 {
		t.Errorf("deaf node 2 must still send (to 0: %d, to 1: %d), mute node 3 still receive (from 0: %d, from 1: %d)",
			got(2, 0), got(2, 1), got(0, 3), got(1, 3))
	}
	if c.Stats().Cut == 0 {
		t.Error("NetStats.Cut counted nothing")
	}
	c.ClearLinkRules()
	clear(handled)
	c.Run(10 * time.Second)
	for from := range 4 {
		for to := range 4 {
			if from != to && got(from, to) == 0 {
				t.Errorf("after ClearLinkRules nothing went from %d to %d", from, to)
			}
		}
	}
}

// A flapping link delivers only what is sent in its up phases.
func TestLinkFlap(t *testing.T) {
	c := newStarted(t, Options{Nodes: 4, Seed: 2, NoDelay: true, Config: everyoneMonitored()})
	c.Run(5 * time.Second)
	start := c.now
	const down, up = 1500 * time.Millisecond, 700 * time.Millisecond
	c.SetLinkFlap(0, 1, down, up)
	var at []int64
	c.onHandle = func(from, to int32, _ *core.Message) {
		if from == 0 && to == 1 {
			at = append(at, c.now)
		}
	}
	c.Run(20 * time.Second)
	if len(at) == 0 {
		t.Fatal("nothing crossed the flapping link in its up phases")
	}
	for _, ts := range at {
		if phase := (ts - start) % int64(down+up); phase < int64(down) {
			t.Fatalf("a message crossed at %v into the flap, inside a down phase", time.Duration(ts-start))
		}
	}
	c.SetLinkFlap(0, 1, 0, 0)
	n := len(at)
	c.Run(5 * time.Second)
	if len(at) == n {
		t.Error("nothing crossed after the flapping stopped")
	}
}

// The explorer's traffic measure: a direction works over a window when it is
// not cut, something crossed it after its last cut, and, if nothing cut it
// in the window, what was sent in the window got through.
func TestTrafficWorks(t *testing.T) {
	var tr traffic
	tr.init(3)
	const w = 100
	if !tr.works(0, 1, 1000, w, 0) {
		t.Error("a direction never used nor cut must count as working")
	}
	tr.sending(0, 1, 950)
	if tr.works(0, 1, 1000, w, 0) {
		t.Error("a message sent in the window and lost: the direction must not count")
	}
	tr.handled(0, 1, 960)
	if !tr.works(0, 1, 1000, w, 0) {
		t.Error("a message got through in the window: the direction must count")
	}
	cut := tr.nextCut()
	cut.set(0, 1)
	tr.commitCut(cut, 970)
	if tr.works(0, 1, 980, w, 0) {
		t.Error("a cut direction must not count")
	}
	tr.commitCut(tr.nextCut(), 990)
	if tr.works(0, 1, 995, w, 0) {
		t.Error("a direction whose cut just ended, with nothing across since, must not count")
	}
	tr.sending(0, 1, 996)
	tr.handled(0, 1, 997)
	if !tr.works(0, 1, 1000, w, 0) {
		t.Error("a message crossed after the cut ended: the direction must count")
	}
	if tr.works(0, 1, 1000, w, 20) || !tr.works(0, 1, 1010, w, 20) {
		t.Error("a direction must count only once it has been up for settle after its cut")
	}
	if !tr.works(0, 1, 1200, w, 0) {
		t.Error("a window with no cut and nothing sent: the direction must count")
	}
	tr.sending(0, 1, 1150)
	if tr.works(0, 1, 1200, w, 0) {
		t.Error("the only message of the window was lost: the direction must not count")
	}
	tr.forget(0)
	if !tr.works(0, 1, 1200, w, 0) {
		t.Error("forget must clear the slot's traffic")
	}
}

// everyoneMonitored is the LAN preset with three monitors per member: in a
// cluster of four, every member heartbeats every other, so every link
// carries traffic all the time.
func everyoneMonitored() core.Config {
	cfg := core.DefaultLANConfig()
	cfg.MonitorCount = 3
	return cfg
}
