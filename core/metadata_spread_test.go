package core_test

import (
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

// SetMeta raises the incarnation, the change spreads to every member, and
// each of them (the node itself included) reports it as exactly one update
// event: the status stays, the metadata is new.
func TestSetMetaSpreadsAsAnUpdate(t *testing.T) {
	const x = 2
	updates := map[int][]core.MemberEvent{} // observer → update events about node 2
	watching := false
	var c *sim.Cluster
	o := sim.Options{Nodes: 6, Seed: 5}
	o.OnEvent = func(at int, ev core.MemberEvent) {
		if watching && ev.Record.Authority == c.Authority(x) {
			updates[at] = append(updates[at], ev)
		}
	}
	c = settled(t, o)
	watching = true
	coord := c.Coordinator(x)
	before := coord.LocalNode()
	if err := c.SetMeta(x, []byte("role=db")); err != nil {
		t.Fatal(err)
	}
	if got := coord.LocalNode(); got.Incarnation <= before.Incarnation || string(got.Meta) != "role=db" || got.Status != core.StatusUp {
		t.Fatalf("after SetMeta the own record is %+v (was incarnation %d)", got, before.Incarnation)
	}
	if _, ok := c.RunUntil(func() bool {
		for _, i := range c.LiveNodes() {
			if r, _ := c.Record(i, c.Authority(x)); string(r.Meta) != "role=db" {
				return false
			}
		}
		return true
	}, 10*time.Second); !ok {
		t.Fatal("the new metadata did not reach every member")
	}
	c.Run(5 * time.Second) // echoes and anti-entropy must not report it twice
	for _, i := range c.LiveNodes() {
		evs := updates[i]
		if len(evs) != 1 {
			t.Errorf("node %d reported %d events about node 2, want 1 update: %v", i, len(evs), evs)
			continue
		}
		ev := evs[0]
		if ev.From != core.StatusUp || ev.To != core.StatusUp || ev.Conflict || string(ev.Record.Meta) != "role=db" {
			t.Errorf("node %d reported %+v, want an update up → up with the new metadata", i, ev)
		}
	}

	// The same metadata again changes nothing.
	inc := coord.LocalNode().Incarnation
	out, err := coord.SetMeta(c.NodeNow(x), []byte("role=db"))
	if err != nil || !out.Empty() || coord.LocalNode().Incarnation != inc {
		t.Errorf("SetMeta with the same metadata: outcome %+v, err %v, incarnation %d → %d", out, err, inc, coord.LocalNode().Incarnation)
	}
}
