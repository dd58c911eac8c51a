package core_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

// settledWithDeliveries is settled, collecting what each slot delivers
// (Outcome.User) from the moment it returns.
func settledWithDeliveries(t *testing.T, nodes int, seed uint64) (*sim.Cluster, map[int][]core.UserMessage) {
	t.Helper()
	got := map[int][]core.UserMessage{}
	recording := false
	c := settled(t, sim.Options{Nodes: nodes, Seed: seed, OnOutcome: func(node int, o core.Outcome) {
		if recording {
			got[node] = append(got[node], o.User...)
		}
	}})
	recording = true
	return c, got
}

// A direct message reaches its target once, with the sender as From and
// Seq 0, and nobody else.
func TestSendToDeliversToTheTarget(t *testing.T) {
	c, got := settledWithDeliveries(t, 3, 51)
	if err := c.SendTo(0, 2, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	c.Run(time.Second)
	want := core.UserMessage{From: c.Authority(0), FromID: c.NodeID(0), Payload: []byte("hello")}
	if m := got[2]; len(m) != 1 || m[0].From != want.From || m[0].FromID != want.FromID || m[0].Seq != 0 || !bytes.Equal(m[0].Payload, want.Payload) {
		t.Errorf("node 2 delivered %+v, want %+v", m, want)
	}
	if len(got[0]) != 0 || len(got[1]) != 0 {
		t.Errorf("others delivered %v and %v", got[0], got[1])
	}
	if s := c.Coordinator(0).Stats(); s.UserMessagesSent != 1 {
		t.Errorf("UserMessagesSent = %d", s.UserMessagesSent)
	}
	if s := c.Coordinator(2).Stats(); s.UserMessagesReceived != 1 {
		t.Errorf("UserMessagesReceived = %d", s.UserMessagesReceived)
	}
}

// Broadcasts reach every other member exactly once, the sender never;
// they ride on heartbeats and gossip (no message of their own), and
// afterwards nothing is left queued: gossip rounds stop.
func TestBroadcastReachesEveryMemberOnce(t *testing.T) {
	c, got := settledWithDeliveries(t, 10, 52)
	before := c.Stats().ByKind[core.MessageUser]
	for i := range 5 {
		if err := c.Broadcast(3, []byte(fmt.Sprintf("news %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	c.Run(10 * time.Second)
	for i := range c.Len() {
		msgs := got[i]
		if i == 3 {
			if len(msgs) != 0 {
				t.Errorf("the sender delivered its own broadcasts: %v", msgs)
			}
			continue
		}
		seen := map[string]int{}
		for _, m := range msgs {
			if m.From != c.Authority(3) || m.FromID != c.NodeID(3) || m.Seq == 0 {
				t.Errorf("node %d delivered %+v", i, m)
			}
			seen[string(m.Payload)]++
		}
		for k := range 5 {
			if n := seen[fmt.Sprintf("news %d", k)]; n != 1 {
				t.Errorf("node %d delivered news %d %d times", i, k, n)
			}
		}
	}
	if n := c.Stats().ByKind[core.MessageUser] - before; n != 0 {
		t.Errorf("%d direct messages sent for broadcasts", n)
	}
	if s := c.Coordinator(3).Stats(); s.BroadcastsSent != 5 || s.BroadcastsDropped != 0 {
		t.Errorf("sender stats: %d sent, %d dropped", s.BroadcastsSent, s.BroadcastsDropped)
	}
	// Once every broadcast ran out of transmissions, the cluster is quiet
	// again: no gossip round runs for want of anything to carry.
	gossip := c.Stats().ByKind[core.MessageGossip]
	c.Run(10 * time.Second)
	if n := c.Stats().ByKind[core.MessageGossip] - gossip; n != 0 {
		t.Errorf("%d gossip messages in 10 quiet seconds after the broadcasts", n)
	}
}
