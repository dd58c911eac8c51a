package core_test

import (
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

// A metadata change made while the node is still Joining — a seed already
// holds it Up, its join reply is on the way, and a join request retried
// meanwhile carries the change — never takes it back to Joining anywhere: every member reports it joining, then up, and ends
// with the new metadata.
func TestSetMetaWhileJoiningNeverDemotes(t *testing.T) {
	type change struct{ from, to core.NodeStatus }
	var seen []change
	joiner := ""
	// The new metadata sorts before the old one: at one incarnation the
	// old record would win everywhere.
	cfg := core.DefaultLANConfig()
	cfg.Meta = []byte("state=starting")
	c := settled(t, sim.Options{Nodes: 3, Seed: 61, Config: cfg, OnOutcome: func(node int, o core.Outcome) {
		for _, e := range o.Members {
			if joiner != "" && e.Record.Authority == joiner && node != 3 {
				seen = append(seen, change{e.From, e.To})
			}
		}
	}})
	i, err := c.AddNode()
	if err != nil {
		t.Fatal(err)
	}
	joiner = c.Authority(i)
	// A slow network: the join reply is still on its way when the joiner
	// sends its next join request (JoinRetryInterval), which carries the
	// changed record.
	retry := c.Config().JoinRetryInterval
	c.SetDelay(retry*3/4, 0)
	if err := c.Join(i, 0); err != nil {
		t.Fatal(err)
	}
	seedHoldsItUp := func() bool {
		for _, r := range c.Coordinator(0).Members() {
			if r.Authority == joiner {
				return r.Status == core.StatusUp
			}
		}
		return false
	}
	if _, ok := c.RunUntil(seedHoldsItUp, retry); !ok {
		t.Fatal("the seed never held the joiner Up")
	}
	if s := c.Coordinator(i).LocalNode().Status; s != core.StatusJoining {
		t.Fatalf("the joiner is %s in its own view when the seed holds it Up; the test needs it Joining", s)
	}
	if err := c.SetMeta(i, []byte("state=ready")); err != nil {
		t.Fatal(err)
	}
	c.Run(10 * time.Second) // many times what a join takes to spread
	for _, e := range seen {
		if e.from == core.StatusUp && e.to == core.StatusJoining {
			t.Errorf("a member took the joiner from up back to joining: %v", seen)
		}
	}
	for k := range c.Len() {
		for _, r := range c.Coordinator(k).Members() {
			if r.Authority == joiner && string(r.Meta) != "state=ready" {
				t.Errorf("node %d holds the joiner with metadata %q", k, r.Meta)
			}
		}
	}
}
