package core

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// fakeTransport records what is sent and fails sends to targets in fail.
type fakeTransport struct {
	inbox []GossipInbound
	sent  []GossipOutbound
	fail  map[string]bool
}

func (f *fakeTransport) Send(out GossipOutbound) error {
	if f.fail[out.Target] {
		return fmt.Errorf("%w: %s unreachable", ErrSendFailed, out.Target)
	}
	f.sent = append(f.sent, out)
	return nil
}

func (f *fakeTransport) PollDeltas() []GossipInbound {
	in := f.inbox
	f.inbox = []GossipInbound{}
	return in
}

func TestDriverSendsEverythingDespiteFailures(t *testing.T) {
	c, err := NewMembershipCoordinator(testConfig("a", "a:1", 1))
	if err != nil {
		t.Fatal(err)
	}
	tr := &fakeTransport{fail: map[string]bool{"s1:1": true}}
	var events []Event
	d := NewDriver(c, tr, EventSinkFunc(func(e Event) { events = append(events, e) }))
	if d.Coordinator() != c {
		t.Fatal("Coordinator() is not the driven coordinator")
	}
	if _, err := c.StartMember(epoch); err != nil {
		t.Fatal(err)
	}
	o, err := c.HandleJoin(epoch, []string{"s1:1", "s2:1", "s3:1"})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Apply(o)
	if !errors.Is(err, ErrSendFailed) {
		t.Fatalf("Apply error = %v, want one wrapping ErrSendFailed", err)
	}
	if len(tr.sent) != 2 {
		t.Fatalf("sent %d join requests, want 2 (the failed one must not stop the others)", len(tr.sent))
	}
	st := d.Stats()
	if st.Sent != 2 || st.SendErrors != 1 {
		t.Fatalf("stats = %+v, want Sent 2, SendErrors 1", st)
	}

	// Step drains inbound (a bad message is an error, counted, not fatal),
	// polls and publishes.
	tr.inbox = []GossipInbound{
		{Source: "x", Message: Message{Kind: 42, From: "x:1", FromID: "x"}},
		{Source: "s2:1", Message: Message{Kind: MessageJoinReply, From: "s2:1", FromID: "s2",
			Entries: []NodeRecord{{NodeID: "s2", Authority: "s2:1", Status: StatusUp, Incarnation: 1}}}},
	}
	err = d.Step(epoch.Add(10 * time.Millisecond))
	if !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("Step error = %v, want one wrapping ErrInvalidMessage", err)
	}
	st = d.Stats()
	if st.Steps != 1 || st.Received != 2 || st.HandleErrors != 1 {
		t.Fatalf("stats = %+v, want Steps 1, Received 2, HandleErrors 1", st)
	}
	if c.LocalNode().Status != StatusUp {
		t.Fatalf("local status %v after the join reply, want up", c.LocalNode().Status)
	}
	var members, topologies int
	for _, e := range events {
		n := 0
		if e.Member != nil {
			n++
			members++
		}
		if e.Topology != nil {
			n++
			topologies++
		}
		if e.Quarantine != nil {
			n++
		}
		if n != 1 {
			t.Fatalf("event %+v sets %d fields, want exactly 1", e, n)
		}
	}
	if members == 0 || topologies != 1 || st.EventsPublished != uint64(len(events)) {
		t.Fatalf("published %d member and %d topology events (EventsPublished %d of %d)", members, topologies, st.EventsPublished, len(events))
	}
}

func TestDriverNilSink(t *testing.T) {
	c, err := NewMembershipCoordinator(testConfig("a", "a:1", 1))
	if err != nil {
		t.Fatal(err)
	}
	tr := &fakeTransport{}
	d := NewDriver(c, tr, nil)
	if _, err := c.StartMember(epoch); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := d.Step(epoch.Add(time.Duration(i) * time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if c.LocalNode().Status != StatusUp {
		t.Fatalf("a member started without seeds is %v, want up", c.LocalNode().Status)
	}
}
