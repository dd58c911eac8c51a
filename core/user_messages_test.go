package core

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// userEpoch is when these tests start.
var userEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// userTestConfig is a LAN config for one coordinator of these tests.
func userTestConfig(id, authority string, seed uint64) Config {
	cfg := DefaultLANConfig()
	cfg.NodeID, cfg.Authority = id, authority
	cfg.Rand = rand.New(rand.NewPCG(seed, 11))
	return cfg
}

// startedUserNode returns a coordinator started as a member alone.
func startedUserNode(t *testing.T, cfg Config) *MembershipCoordinator {
	t.Helper()
	c, err := NewMembershipCoordinator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartMember(userEpoch); err != nil {
		t.Fatal(err)
	}
	return c
}

// SendTo and Broadcast refuse what they cannot send, naming the bound.
func TestUserMessageRefusals(t *testing.T) {
	cfg := userTestConfig("a", "10.0.0.1:1", 1)
	c, err := NewMembershipCoordinator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendTo(userEpoch, "10.0.0.2:1", nil); !errors.Is(err, ErrNotStarted) {
		t.Errorf("SendTo stopped: %v", err)
	}
	if _, err := c.Broadcast(userEpoch, nil); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Broadcast stopped: %v", err)
	}
	if _, err := c.StartMember(userEpoch); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, cfg.MaxPayloadBytes+1)
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"too large", func() error { _, err := c.SendTo(userEpoch, "10.0.0.2:1", big); return err }, "over Config.MaxPayloadBytes 1024"},
		{"broadcast too large", func() error { _, err := c.Broadcast(userEpoch, big); return err }, "over Config.MaxPayloadBytes 1024"},
		{"no target", func() error { _, err := c.SendTo(userEpoch, "", nil); return err }, "another member held active"},
		{"to itself", func() error { _, err := c.SendTo(userEpoch, cfg.Authority, nil); return err }, "another member held active"},
	} {
		err := tc.call()
		if !errors.Is(err, ErrInvalidMessage) || !strings.Contains(fmt.Sprint(err), tc.want) {
			t.Errorf("%s: %v, want ErrInvalidMessage saying %q", tc.name, err, tc.want)
		}
	}

	// A node whose messages are small sends no more than they hold, and
	// says so.
	small := userTestConfig("b", "10.0.0.2:1", 1)
	small.MaxMessageBytes = 300
	s, err := NewMembershipCoordinator(small)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartMember(userEpoch); err != nil {
		t.Fatal(err)
	}
	limit := s.user.maxPayload
	if limit <= 0 || limit >= 300 {
		t.Fatalf("largest payload at 300-byte messages: %d", limit)
	}
	if _, err := s.Broadcast(userEpoch, make([]byte, limit)); err != nil {
		t.Errorf("a broadcast of the largest payload: %v", err)
	}
	_, err = s.Broadcast(userEpoch, make([]byte, limit+1))
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
	c := startedUserNode(t, userTestConfig("a", "10.0.0.1:1", 53))
	from, id := "10.0.0.2:1", "b"
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
		o, err := c.HandleGossip(userEpoch, GossipInbound{Source: from, Message: m})
		if !errors.Is(err, ErrInvalidMessage) || len(o.User) != 0 {
			t.Errorf("%+v: err %v, delivered %v", m, err, o.User)
		}
	}
}

// Messages from a node this one does not hold as an active member are
// neither delivered nor relayed, only counted; and SendTo
// aims only at active members, so an application that answers what it
// receives cannot be turned on an address outside the cluster.
func TestUserMessagesOnlyBetweenMembers(t *testing.T) {
	c := startedUserNode(t, userTestConfig("a", "10.0.0.1:1", 54))
	stranger := "10.0.0.9:1"
	for _, m := range []Message{
		{Kind: MessageUser, From: stranger, FromID: "x", User: []UserMessage{{Payload: []byte("hi")}}},
		{Kind: MessageGossip, From: stranger, FromID: "x", User: []UserMessage{{From: stranger, FromID: "x", Seq: 7, Payload: []byte("all")}}},
		{Kind: MessageHeartbeat, From: stranger, FromID: "x", Seq: 1, User: []UserMessage{{From: "10.0.0.8:1", FromID: "y", Seq: 9}}},
	} {
		o, err := c.HandleGossip(userEpoch, GossipInbound{Source: "192.0.2.1:9", Size: 200, Message: m})
		if err != nil {
			t.Fatalf("%s: %v", m.Kind, err)
		}
		if len(o.User) != 0 {
			t.Errorf("%s from a stranger: delivered %v", m.Kind, o.User)
		}
		// What the heartbeat may get (a notice, under the reply rules) is
		// not about its payloads: none of them goes anywhere.
		for _, out := range o.Outbound {
			if len(out.Message.User) != 0 {
				t.Errorf("%s from a stranger: relayed %v to %s", m.Kind, out.Message.User, out.Target)
			}
		}
	}
	if s := c.Stats(); s.UserMessagesRefused != 3 || s.UserMessagesReceived != 0 || s.BroadcastsReceived != 0 {
		t.Errorf("refused %d, received %d direct and %d broadcasts; want 3, 0, 0",
			s.UserMessagesRefused, s.UserMessagesReceived, s.BroadcastsReceived)
	}
	if n := len(c.user.queue); n != 0 {
		t.Errorf("%d broadcasts of a stranger queued to be relayed", n)
	}
	if _, err := c.SendTo(userEpoch, stranger, []byte("hi")); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("SendTo a non-member: %v, want ErrInvalidMessage", err)
	}
}

// A full queue makes room by dropping the broadcast transmitted most, and
// counts it; the IDs remembered to deliver each broadcast once are bounded
// and forgotten after QuarantineTTL.
func TestBroadcastStateIsBounded(t *testing.T) {
	cfg := userTestConfig("a", "10.0.0.1:1", 1)
	cfg.MaxBroadcasts = 2
	c, err := NewMembershipCoordinator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartMember(userEpoch); err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // alone: nobody to pass them to, so they stay queued
		if _, err := c.Broadcast(userEpoch, []byte{byte(i)}); err != nil {
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
		c.markSeen(userEpoch, broadcastID{"x", uint64(i + 1)})
	}
	if got, limit := len(c.user.seen), seenPerBroadcast*cfg.MaxBroadcasts; got > limit {
		t.Errorf("%d broadcast IDs remembered, over %d", got, limit)
	}
	c.Poll(userEpoch.Add(cfg.QuarantineTTL + time.Minute))
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
