package core

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// Probe messages that do not say what they must are refused whole: a
// probe request names one Suspect member other than its sender; a probe
// carries at most two records; an ack none.
func TestMalformedProbesAreRefused(t *testing.T) {
	c, err := NewMembershipCoordinator(testConfig("a", "a:1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartMember(epoch); err != nil {
		t.Fatal(err)
	}
	suspect := NodeRecord{NodeID: "x", Authority: "x:1", Status: StatusSuspect, Incarnation: 1}
	up := NodeRecord{NodeID: "y", Authority: "y:1", Status: StatusUp, Incarnation: 1}
	sender := NodeRecord{NodeID: "b", Authority: "b:1", Status: StatusSuspect, Incarnation: 1}
	for _, tc := range []struct {
		name    string
		kind    MessageKind
		entries []NodeRecord
	}{
		{"request naming nobody", messageProbeRequest, nil},
		{"request naming two", messageProbeRequest, []NodeRecord{suspect, suspect}},
		{"request naming a member Up", messageProbeRequest, []NodeRecord{up}},
		{"request naming its sender", messageProbeRequest, []NodeRecord{sender}},
		{"probe with three records", messageProbe, []NodeRecord{suspect, up, up}},
		{"ack with a record", messageProbeAck, []NodeRecord{up}},
	} {
		m := Message{Kind: tc.kind, From: "b:1", FromID: "b", Seq: 1, Entries: tc.entries}
		before := c.Stats().MessagesRejected
		if _, err := c.HandleGossip(epoch, GossipInbound{Source: "b:1", Message: m}); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("%s: %v, want ErrInvalidMessage", tc.name, err)
		}
		if c.Stats().MessagesRejected != before+1 {
			t.Errorf("%s: not counted as rejected", tc.name)
		}
	}
}

// A member probes on request only members it holds Suspect, once at a
// time, and at most probeRequestBurst per HeartbeatInterval whoever asks:
// a flood of requests costs a bounded number of probes, and the requests
// refused for the limit are counted.
func TestProbeRequestsAreBounded(t *testing.T) {
	c, err := NewMembershipCoordinator(testConfig("a", "a:1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartMember(epoch); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HandleJoin(epoch, nil); err != nil {
		t.Fatal(err)
	}
	// The requester is a member: requests from strangers are not served.
	requester := NodeRecord{NodeID: "b", Authority: "b:1", Status: StatusUp, Incarnation: 1}
	if _, err := c.HandleGossip(epoch, GossipInbound{Source: "b:1", Message: Message{Kind: MessageGossip, From: "b:1", FromID: "b", Entries: []NodeRecord{requester}}}); err != nil {
		t.Fatal(err)
	}
	stranger := Message{Kind: messageProbeRequest, From: "s:1", FromID: "s", Seq: 7,
		Entries: []NodeRecord{{NodeID: "z", Authority: "z:1", Status: StatusSuspect, Incarnation: 1}}}
	if o, err := c.HandleGossip(epoch, GossipInbound{Source: "s:1", Message: stranger}); err != nil || len(o.Outbound) != 0 {
		t.Fatalf("a stranger's probe request: %v, %d messages sent, want none", err, len(o.Outbound))
	}
	probes := 0
	count := func(o Outcome) {
		for _, out := range o.Outbound {
			if out.Message.Kind == messageProbe {
				probes++
			}
		}
	}
	const targets = 3 * probeRequestBurst
	for i := range targets {
		r := NodeRecord{NodeID: "x", Authority: "x" + string(rune('A'+i%26)) + string(rune('a'+i/26)) + ":1", Status: StatusSuspect, Incarnation: 1}
		for range 2 { // the second request for a target already probed sends nothing
			m := Message{Kind: messageProbeRequest, From: "b:1", FromID: "b", Seq: uint64(i + 1), Entries: []NodeRecord{r}}
			o, err := c.HandleGossip(epoch, GossipInbound{Source: "b:1", Message: m})
			if err != nil {
				t.Fatal(err)
			}
			count(o)
		}
	}
	if probes != probeRequestBurst {
		t.Errorf("%d requests for %d members sent %d probes, want the burst %d", 2*targets, targets, probes, probeRequestBurst)
	}
	// Every request for a member not probed was refused for the limit, the
	// second as well as the first.
	if got := c.Stats().RepliesLimited; got != 2*(targets-probeRequestBurst) {
		t.Errorf("RepliesLimited %d, want %d", got, 2*(targets-probeRequestBurst))
	}
	// A member held Up (it refuted already) is not probed.
	up := NodeRecord{NodeID: "y", Authority: "y:1", Status: StatusUp, Incarnation: 2}
	if _, err := c.HandleGossip(epoch, GossipInbound{Source: "b:1", Message: Message{Kind: MessageGossip, From: "b:1", FromID: "b", Entries: []NodeRecord{up}}}); err != nil {
		t.Fatal(err)
	}
	probes = 0
	later := epoch.Add(time.Minute)
	stale := NodeRecord{NodeID: "y", Authority: "y:1", Status: StatusSuspect, Incarnation: 1}
	o, err := c.HandleGossip(later, GossipInbound{Source: "b:1", Message: Message{Kind: messageProbeRequest, From: "b:1", FromID: "b", Seq: 99, Entries: []NodeRecord{stale}}})
	if err != nil {
		t.Fatal(err)
	}
	count(o)
	if probes != 0 {
		t.Errorf("a request about a member held Up at a higher incarnation sent %d probes", probes)
	}
}

// A member answers a probe with an ack carrying the probe's Seq, to the
// prober, and refutes at once a suspicion the probe tells it of.
func TestAProbeIsAnswered(t *testing.T) {
	c, err := NewMembershipCoordinator(testConfig("a", "a:1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartMember(epoch); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HandleJoin(epoch, nil); err != nil {
		t.Fatal(err)
	}
	self := c.LocalNode()
	held := self
	held.Status = StatusSuspect
	o, err := c.HandleGossip(epoch, GossipInbound{Source: "b:1", Message: Message{Kind: messageProbe, From: "b:1", FromID: "b", Seq: 42, Entries: []NodeRecord{held}}})
	if err != nil {
		t.Fatal(err)
	}
	acked := slices.ContainsFunc(o.Outbound, func(out GossipOutbound) bool {
		return out.Target == "b:1" && out.Message.Kind == messageProbeAck && out.Message.Seq == 42
	})
	if !acked {
		t.Errorf("no ack with Seq 42 to the prober in %+v", o.Outbound)
	}
	if got := c.LocalNode(); got.Incarnation <= self.Incarnation || got.Status != StatusUp {
		t.Errorf("after a probe holding it Suspect the member is %s at incarnation %d (was %d)", got.Status, got.Incarnation, self.Incarnation)
	}
}

// However many Suspect records a message carries, naming their suspectors
// never takes it over MaxMessageBytes: the accusations' array header grows
// by two bytes at the sixteenth, and that is counted too.
func TestAccusationsFitTheMessage(t *testing.T) {
	most := 0
	for limit := 1000; limit <= 1400; limit++ {
		cfg := testConfig("a", "10.0.0.1:7946", 1)
		cfg.MaxMessageBytes = limit
		c, err := NewMembershipCoordinator(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m := c.newMessage(MessageGossip)
		for i := range 20 {
			r := NodeRecord{NodeID: nodeID(i), Authority: auth(100 + i), Status: StatusSuspect, Incarnation: 1}
			c.detect.susp[r.Authority] = &suspicion{incarnation: 1, local: true, confirmers: []string{auth(200 + i)}}
			m.Entries = append(m.Entries, r)
		}
		c.accuse(&m)
		if got := EstimateSize(m); got > limit {
			t.Fatalf("MaxMessageBytes %d: %d records, %d accusations, %d bytes", limit, len(m.Entries), len(m.Accusations), got)
		}
		most = max(most, len(m.Accusations))
	}
	if most != 20 {
		t.Fatalf("at most %d accusations named, want all 20 once there is room", most)
	}
}

// A Dead record is gossiped without waiting for the next gossip round (a
// quarter GossipInterval after the last one at the earliest): every member
// waits for that verdict, and each hop of its spread would otherwise wait up
// to a round. Other news waits for the round.
func TestADeadRecordIsGossipedAtOnce(t *testing.T) {
	c, err := NewMembershipCoordinator(testConfig("a", "a:1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartMember(epoch); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HandleJoin(epoch, nil); err != nil {
		t.Fatal(err)
	}
	var members []NodeRecord
	for _, a := range []string{"b:1", "c:1", "d:1", "e:1"} {
		members = append(members, NodeRecord{NodeID: a[:1], Authority: a, Status: StatusUp, Incarnation: 1})
	}
	gossip := func(at time.Time, r NodeRecord) {
		t.Helper()
		m := Message{Kind: MessageGossip, From: "b:1", FromID: "b", Entries: []NodeRecord{r}}
		if r.Authority == "b:1" {
			m.From, m.FromID = "c:1", "c"
		}
		if _, err := c.HandleGossip(at, GossipInbound{Source: m.From, Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range members {
		gossip(epoch, r)
	}
	carries := func(o Outcome, authority string, st NodeStatus) bool {
		for _, out := range o.Outbound {
			if out.Message.Kind != MessageGossip {
				continue
			}
			for _, r := range out.Message.Entries {
				if r.Authority == authority && r.Status == st {
					return true
				}
			}
		}
		return false
	}
	t0 := epoch.Add(time.Millisecond)
	if o := c.Poll(t0); !carries(o, "e:1", StatusUp) {
		t.Fatal("the first round did not gossip the news")
	}
	quarter := c.cfg.GossipInterval / 4
	suspect := members[2]
	suspect.Status = StatusSuspect
	gossip(t0.Add(time.Millisecond), suspect)
	if o := c.Poll(t0.Add(quarter)); carries(o, suspect.Authority, StatusSuspect) {
		t.Fatal("a Suspect record was gossiped before the round was due")
	}
	// The verdict comes once the suspicion was held for SuspicionMinTimeout
	// (else it is a suspicion: see verdictUnheralded), a quarter of a gossip
	// interval after a round.
	rounds := c.cfg.SuspicionMinTimeout/c.cfg.GossipInterval + 1
	for i := time.Duration(1); i <= rounds; i++ {
		c.Poll(t0.Add(i * c.cfg.GossipInterval))
	}
	arrive := t0.Add(rounds*c.cfg.GossipInterval + quarter)
	dead := suspect
	dead.Status = StatusDead
	gossip(arrive, dead)
	if next := c.NextDeadline(); next.After(arrive) {
		t.Errorf("NextDeadline %v after the Dead record arrived, want at once", next.Sub(arrive))
	}
	if o := c.Poll(arrive.Add(time.Millisecond)); !carries(o, dead.Authority, StatusDead) {
		t.Fatal("a Dead record waited for the gossip round")
	}
}
