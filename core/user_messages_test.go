package core

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// delivered collects, per observer, the user messages each node delivered.
func delivered(net *testNet) map[string][]UserMessage {
	got := map[string][]UserMessage{}
	net.observeOutcome = func(at string, o Outcome) {
		got[at] = append(got[at], o.User...)
	}
	return got
}

// A direct message reaches its target once, with the sender as From and
// Seq 0, and nobody else.
func TestSendToDeliversToTheTarget(t *testing.T) {
	net := cluster(t, 3, 51)
	got := delivered(net)
	a := net.nodes[auth(0)].c
	o, err := a.SendTo(net.now, auth(2), []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Outbound) != 1 || o.Outbound[0].Message.Kind != MessageUser || o.Outbound[0].Target != auth(2) {
		t.Fatalf("SendTo's outcome: %+v", o.Outbound)
	}
	net.deliver(auth(0), o)
	net.run(time.Second)
	want := UserMessage{From: auth(0), FromID: nodeID(0), Seq: 0, Payload: []byte("hello")}
	if m := got[auth(2)]; len(m) != 1 || m[0].From != want.From || m[0].FromID != want.FromID || m[0].Seq != 0 || !bytes.Equal(m[0].Payload, want.Payload) {
		t.Errorf("node 2 delivered %+v, want %+v", m, want)
	}
	if len(got[auth(1)]) != 0 || len(got[auth(0)]) != 0 {
		t.Errorf("others delivered %v and %v", got[auth(1)], got[auth(0)])
	}
	if s := a.Stats(); s.UserMessagesSent != 1 {
		t.Errorf("UserMessagesSent = %d", s.UserMessagesSent)
	}
	if s := net.nodes[auth(2)].c.Stats(); s.UserMessagesReceived != 1 {
		t.Errorf("UserMessagesReceived = %d", s.UserMessagesReceived)
	}
}

// A broadcast reaches every other member exactly once, the sender never;
// afterwards nothing is left queued.
func TestBroadcastReachesEveryMemberOnce(t *testing.T) {
	net := cluster(t, 10, 52)
	got := delivered(net)
	src := net.nodes[auth(3)].c
	for i := range 5 {
		o, err := src.Broadcast(net.now, []byte(fmt.Sprintf("news %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		net.deliver(auth(3), o)
	}
	net.run(10 * time.Second)
	for _, a := range net.live() {
		msgs := got[a]
		if a == auth(3) {
			if len(msgs) != 0 {
				t.Errorf("the sender delivered its own broadcasts: %v", msgs)
			}
			continue
		}
		seen := map[string]int{}
		for _, m := range msgs {
			if m.From != auth(3) || m.FromID != nodeID(3) || m.Seq == 0 {
				t.Errorf("%s delivered %+v", a, m)
			}
			seen[string(m.Payload)]++
		}
		for i := range 5 {
			if n := seen[fmt.Sprintf("news %d", i)]; n != 1 {
				t.Errorf("%s delivered news %d %d times", a, i, n)
			}
		}
		if q := len(net.nodes[a].c.user.queue); q != 0 {
			t.Errorf("%s still queues %d broadcasts", a, q)
		}
	}
	if s := src.Stats(); s.BroadcastsSent != 5 || s.BroadcastsDropped != 0 {
		t.Errorf("sender stats: %d sent, %d dropped", s.BroadcastsSent, s.BroadcastsDropped)
	}
}

func TestUserMessageRefusals(t *testing.T) {
	cfg := testConfig("a", "10.0.0.1:1", 1)
	c, err := NewMembershipCoordinator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendTo(epoch, "10.0.0.2:1", nil); !errors.Is(err, ErrNotStarted) {
		t.Errorf("SendTo stopped: %v", err)
	}
	if _, err := c.Broadcast(epoch, nil); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Broadcast stopped: %v", err)
	}
	if _, err := c.StartMember(epoch); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, cfg.MaxPayloadBytes+1)
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"too large", func() error { _, err := c.SendTo(epoch, "10.0.0.2:1", big); return err }, "over Config.MaxPayloadBytes 1024"},
		{"broadcast too large", func() error { _, err := c.Broadcast(epoch, big); return err }, "over Config.MaxPayloadBytes 1024"},
		{"no target", func() error { _, err := c.SendTo(epoch, "", nil); return err }, "another node's authority"},
		{"to itself", func() error { _, err := c.SendTo(epoch, cfg.Authority, nil); return err }, "another node's authority"},
	} {
		err := tc.call()
		if !errors.Is(err, ErrInvalidMessage) || !strings.Contains(fmt.Sprint(err), tc.want) {
			t.Errorf("%s: %v, want ErrInvalidMessage saying %q", tc.name, err, tc.want)
		}
	}

	// A node whose messages are small sends no more than they hold, and
	// says so.
	small := testConfig("b", "10.0.0.2:1", 1)
	small.MaxMessageBytes = 300
	s, err := NewMembershipCoordinator(small)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartMember(epoch); err != nil {
		t.Fatal(err)
	}
	limit := s.user.maxPayload
	if limit <= 0 || limit >= 300 {
		t.Fatalf("largest payload at 300-byte messages: %d", limit)
	}
	if _, err := s.Broadcast(epoch, make([]byte, limit)); err != nil {
		t.Errorf("a broadcast of the largest payload: %v", err)
	}
	_, err = s.Broadcast(epoch, make([]byte, limit+1))
	if !errors.Is(err, ErrInvalidMessage) || !strings.Contains(err.Error(), fmt.Sprintf("over the %d bytes this node's messages hold", limit)) {
		t.Errorf("a broadcast one byte over: %v", err)
	}
	full := Message{Kind: MessageHeartbeat, From: small.Authority, FromID: small.NodeID, Seq: ^uint64(0), Digest: []uint64{^uint64(0)},
		User: []UserMessage{{From: small.Authority, FromID: small.NodeID, Seq: ^uint64(0), Payload: make([]byte, limit)}}}
	if got := EstimateSize(full); got > small.MaxMessageBytes {
		t.Errorf("a heartbeat with the largest broadcast is %d bytes, over %d", got, small.MaxMessageBytes)
	}
}

// Inbound user payloads that break the rules are refused whole.
func TestMalformedUserMessagesAreRefused(t *testing.T) {
	net := cluster(t, 2, 53)
	c := net.nodes[auth(0)].c
	from, id := auth(1), nodeID(1)
	bcast := func(u UserMessage) Message {
		return Message{Kind: MessageGossip, From: from, FromID: id, User: []UserMessage{u}}
	}
	for _, m := range []Message{
		{Kind: MessageUser, From: from, FromID: id},
		{Kind: MessageUser, From: from, FromID: id, User: []UserMessage{{}, {}}},
		{Kind: MessageUser, From: from, FromID: id, User: []UserMessage{{Seq: 3}}},
		{Kind: MessageUser, From: from, FromID: id, User: []UserMessage{{Payload: make([]byte, 1025)}}},
		{Kind: MessageDigest, From: from, FromID: id, Digest: []uint64{0}, User: []UserMessage{{From: from, FromID: id, Seq: 1}}},
		bcast(UserMessage{From: from, FromID: id}),
		bcast(UserMessage{From: "", FromID: id, Seq: 1}),
		bcast(UserMessage{From: from, FromID: id, Seq: 1, Payload: make([]byte, 1025)}),
	} {
		o, err := c.HandleGossip(net.now, GossipInbound{Source: from, Message: m})
		if !errors.Is(err, ErrInvalidMessage) || len(o.User) != 0 {
			t.Errorf("%+v: err %v, delivered %v", m, err, o.User)
		}
	}
}

// A full queue makes room by dropping the broadcast transmitted most, and
// counts it; the IDs remembered to deliver each broadcast once are bounded
// and forgotten after QuarantineTTL.
func TestBroadcastStateIsBounded(t *testing.T) {
	cfg := testConfig("a", "10.0.0.1:1", 1)
	cfg.MaxBroadcasts = 2
	c, err := NewMembershipCoordinator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartMember(epoch); err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // alone: nobody to pass them to, so they stay queued
		if _, err := c.Broadcast(epoch, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(c.user.queue); got != 2 {
		t.Errorf("queue of %d broadcasts, want MaxBroadcasts 2", got)
	}
	if got := c.Stats().BroadcastsDropped; got != 1 {
		t.Errorf("BroadcastsDropped = %d, want 1", got)
	}
	for i := range 100 {
		c.markSeen(epoch, broadcastID{"x", uint64(i + 1)})
	}
	if got, limit := len(c.user.seen), seenPerBroadcast*cfg.MaxBroadcasts; got > limit {
		t.Errorf("%d broadcast IDs remembered, over %d", got, limit)
	}
	c.Poll(epoch.Add(cfg.QuarantineTTL + time.Minute))
	if got := len(c.user.seen); got != 0 {
		t.Errorf("%d broadcast IDs remembered after QuarantineTTL", got)
	}
}

func TestUserMessageEventString(t *testing.T) {
	for _, tc := range []struct {
		u    UserMessage
		want string
	}{
		{UserMessage{From: "10.0.0.1:1", FromID: "a", Payload: []byte("hi")}, "user message from 10.0.0.1:1 (node a): 2 bytes"},
		{UserMessage{From: "10.0.0.1:1", FromID: "a", Seq: 0xabc, Payload: []byte("hi")}, "user broadcast 0000000000000abc from 10.0.0.1:1 (node a): 2 bytes"},
	} {
		if got := (Event{User: &tc.u}).String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
