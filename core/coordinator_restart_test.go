package core_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

// holdAll reports whether every live member but the one at authority holds
// it with status st.
func holdAll(c *sim.Cluster, authority string, st core.NodeStatus) bool {
	for _, i := range c.LiveNodes() {
		if c.Authority(i) == authority {
			continue
		}
		if r, ok := c.Record(i, authority); !ok || r.Status != st {
			return false
		}
	}
	return true
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
			const v = 3 // the victim's slot
			// The earlier life leaves; every message it sends is captured.
			var captured []core.Message
			capturing := false
			var changes []string
			watching := false
			var c *sim.Cluster
			o := sim.Options{Nodes: 5, Seed: 31}
			o.OnOutcome = func(at int, out core.Outcome) {
				if capturing && at == v {
					for _, m := range out.Outbound {
						captured = append(captured, m.Message)
					}
				}
			}
			o.OnEvent = func(at int, ev core.MemberEvent) {
				if watching && at == 0 && ev.Record.Authority == c.Authority(v) {
					changes = append(changes, fmt.Sprintf("%s %s->%s at %d", ev.Record.NodeID, ev.From, ev.To, ev.Record.Incarnation))
				}
			}
			c = settled(t, o)
			victim := c.Authority(v)
			capturing = true
			if err := c.Leave(v); err != nil {
				t.Fatal(err)
			}
			if _, ok := c.RunUntil(func() bool { return holdAll(c, victim, core.StatusRemoved) }, 30*time.Second); !ok {
				t.Fatal("the leave did not spread")
			}
			capturing = false
			last := c.Coordinator(v).LocalNode().Incarnation
			if tc.initial != 0 && tc.initial <= last {
				t.Fatalf("the test's initial incarnation %d is not above the earlier life's %d", tc.initial, last)
			}
			c.Crash(v) // the earlier life stops, its leave retransmitted or not
			// Past TombstoneRetention every member has pruned the earlier life.
			c.Run(c.Config().TombstoneRetention + time.Minute)
			if r, ok := c.Record(0, victim); ok {
				t.Fatalf("the seed still holds the earlier life (%s)", r.Status)
			}

			err := c.StartWith(v, func(cfg *core.Config) { cfg.NodeID, cfg.InitialIncarnation = "node-003-b", tc.initial }, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := c.RunUntil(func() bool { return c.Converged() && holdAll(c, victim, core.StatusUp) }, 30*time.Second); !ok {
				t.Fatal("the new life is not Up everywhere")
			}
			want := max(1, tc.initial)
			if got := c.Coordinator(v).LocalNode().Incarnation; got != want {
				t.Fatalf("the new life is at incarnation %d, want %d", got, want)
			}

			watching = true
			for _, m := range captured {
				_ = c.Inject(0, core.GossipInbound{Source: victim, Message: m}) // a replay may be refused
			}
			c.Run(time.Second)
			r, _ := c.Record(0, victim)
			untouched := len(changes) == 0 && r.NodeID == "node-003-b" && r.Status == core.StatusUp && r.Incarnation == want
			if untouched != tc.wantFresh {
				t.Fatalf("after replaying %d messages of the earlier life, the seed holds %s %s at %d, changes %v; untouched = %v, want %v",
					len(captured), r.NodeID, r.Status, r.Incarnation, changes, untouched, tc.wantFresh)
			}
		})
	}
}
