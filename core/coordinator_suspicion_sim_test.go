package core_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

// A suspicion is confirmed by distinct suspectors, named on the wire, and
// never by echoes: the Suspect record coming back from any number of
// members that merely pass it on, or naming this node's own accusation or
// the suspect itself, leaves the timeout at SuspicionMaxTimeout; each other
// suspector counts once, whoever relays it; and the confirmations stop at
// SuspicionConfirmations, however many suspectors a message names.
func TestEchoesDoNotConfirmASuspicion(t *testing.T) {
	c := settled(t, sim.Options{Nodes: 4, Seed: 31})
	x := c.Authority(3)
	c.Crash(3)
	// Looked for every millisecond: the first detector to lose x has no
	// confirmer yet (the others' accusations take 5 ms to arrive).
	at := -1
	for end := c.Elapsed() + time.Minute; at < 0; c.Run(time.Millisecond) {
		if c.Elapsed() > end {
			t.Fatal("nobody's detector lost the crashed member within a minute")
		}
		for i := range 3 {
			if local, _, _, ok := c.Coordinator(i).SuspicionOf(x); ok && local && at < 0 {
				at = i
			}
		}
		if at >= 0 {
			break
		}
	}
	coord, a := c.Coordinator(at), c.Authority(at)
	confirmers := func() []string {
		_, confirmers, _, _ := coord.SuspicionOf(x)
		return confirmers
	}
	timeout := func() time.Duration {
		_, _, d, _ := coord.SuspicionOf(x)
		return d
	}
	if got := confirmers(); len(got) != 0 {
		t.Fatalf("the first suspicion already has confirmers %v", got)
	}
	rec, _ := coord.Member(x)
	var others []string
	for i := range 3 {
		if i != at {
			others = append(others, c.Authority(i))
		}
	}
	idOf := map[string]string{}
	for i := range 3 {
		idOf[c.Authority(i)] = c.NodeID(i)
	}
	send := func(from string, suspectors ...string) {
		t.Helper()
		m := core.Message{Kind: core.MessageGossip, From: from, FromID: idOf[from], Entries: []core.NodeRecord{rec}}
		if len(suspectors) > 0 {
			m.Accusations = []core.Accusation{{Entry: 0, Suspectors: suspectors}}
		}
		if _, err := coord.HandleGossip(c.NodeNow(at), core.GossipInbound{Source: from, Message: m}); err != nil {
			t.Fatalf("gossip from %s naming %v: %v", from, suspectors, err)
		}
	}
	cfg := c.Config()
	for _, step := range []struct {
		what       string
		send       func()
		confirmers []string
	}{
		{"echoes from every other member", func() { send(others[0]); send(others[1]) }, nil},
		{"this node's own accusation, echoed", func() { send(others[0], a) }, nil},
		{"the suspect named as its own suspector", func() { send(others[1], x) }, nil},
		{"one suspector, relayed by another", func() { send(others[1], others[0]) }, []string{others[0]}},
		{"the same suspector again, by itself", func() { send(others[0], others[0], a) }, []string{others[0]}},
		{"a crowd of suspectors", func() { send(others[1], "9.9.9.1:1", "9.9.9.2:1", "9.9.9.3:1", others[1]) }, nil},
	} {
		step.send()
		got, want := confirmers(), step.confirmers
		if want == nil && len(got) > 0 {
			want = got // the crowd: checked below by its size
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: confirmers %v, want %v", step.what, got, want)
		}
		wantTimeout := core.SuspicionTimeout(cfg.SuspicionMinTimeout, cfg.SuspicionMaxTimeout, len(got), cfg.SuspicionConfirmations)
		if d := timeout(); d != wantTimeout {
			t.Fatalf("%s: timeout %v, want %v for %d confirmations", step.what, d, wantTimeout, len(got))
		}
		t.Logf("%s: %d confirmations, timeout %v", step.what, len(got), timeout())
	}
	if got := confirmers(); len(got) != cfg.SuspicionConfirmations || timeout() != cfg.SuspicionMinTimeout {
		t.Fatalf("after a crowd: %d confirmers (%v), timeout %v; want the cap %d and the minimum %v",
			len(got), got, timeout(), cfg.SuspicionConfirmations, cfg.SuspicionMinTimeout)
	}
}
