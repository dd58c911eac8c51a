package core

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// fuzzSelf is the authority and node ID of the coordinator under fuzzing.
const (
	fuzzSelfAuthority = "10.0.0.9:1"
	fuzzSelfID        = "self"
	fuzzMaxMembers    = 6
)

// fuzzAuthorities are the authorities fuzzed messages talk about: three
// peers, the coordinator's own, and an empty (invalid) one.
var fuzzAuthorities = []string{"10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1", fuzzSelfAuthority, "", "10.0.0.4:1", "10.0.0.5:1", "10.0.0.6:1", "10.0.0.7:1"}

// fuzzIDs are the node IDs they use.
var fuzzIDs = []string{"a", "b", fuzzSelfID, "", "c"}

// byteReader hands out fuzz input a byte at a time, then zeros.
type byteReader struct{ b []byte }

func (r *byteReader) next() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *byteReader) pick(n int) int { return int(r.next()) % n }

// fuzzRecord reads one record; every field may be invalid.
func (r *byteReader) fuzzRecord() NodeRecord {
	rec := NodeRecord{
		Authority: fuzzAuthorities[r.pick(len(fuzzAuthorities))],
		NodeID:    fuzzIDs[r.pick(len(fuzzIDs))],
		Status:    NodeStatus(r.pick(8)),
	}
	switch inc := r.next(); {
	case inc < 240:
		rec.Incarnation = uint64(inc % 5)
	case inc < 250:
		rec.Incarnation = ^uint64(0) - uint64(inc%3)
	default:
		rec.Incarnation = uint64(inc)
	}
	switch r.pick(4) {
	case 1:
		rec.Meta = []byte("m")
	case 2:
		rec.Meta = make([]byte, 9) // over MaxMetadataBytes
	case 3:
		rec.Meta = []byte{}
	}
	return rec
}

// fuzzMessage reads one inbound message.
func (r *byteReader) fuzzMessage(nbuckets int) Message {
	m := Message{
		Kind:   MessageKind(r.pick(8)),
		From:   fuzzAuthorities[r.pick(len(fuzzAuthorities))],
		FromID: fuzzIDs[r.pick(len(fuzzIDs))],
		Seq:    uint64(r.pick(4)),
	}
	for range r.pick(5) {
		m.Entries = append(m.Entries, r.fuzzRecord())
	}
	switch r.pick(5) {
	case 1:
		m.Digest = make([]uint64, 3)
	case 2, 3:
		m.Digest = make([]uint64, nbuckets)
		for i := range m.Digest {
			if r.pick(2) == 0 {
				m.Digest[i] = uint64(r.next())
			}
		}
	case 4:
		m.Digest = make([]uint64, 1)
	}
	switch r.pick(4) {
	case 1:
		m.Want = []uint32{0, 1}
	case 2:
		m.Want = []uint32{uint32(r.next())}
	case 3:
		m.Want = []uint32{5000}
	}
	if m.Seq >= 2 && len(m.Entries) > 0 {
		// Name suspectors of the last record (valid only when it is
		// Suspect), without reading more bytes: the seeds keep their meaning.
		m.Accusations = []Accusation{{Entry: uint32(len(m.Entries) - 1), Suspectors: fuzzAuthorities[:len(m.Entries)]}}
		if m.Seq == 3 {
			m.Accusations[0].Entry = uint32(len(m.Entries)) // out of range
		}
	}
	return m
}

// FuzzCoordinatorInbound feeds a member arbitrary sequences of inbound
// messages (any kind, sender and records, valid or not), polls at arbitrary
// times, joins, leaves and quarantines. It must never panic, and after
// every call the table must be valid and bounded, no held record may
// regress, no active record of a quarantined instance may be held, and
// every outbound message must be well formed and fit MaxMessageBytes.
func FuzzCoordinatorInbound(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 2, 0, 0, 1, 1, 0, 2, 1, 0, 0, 0, 4, 10})                                 // gossip: a Up
	f.Add([]byte{0, 2, 0, 0, 1, 1, 0, 2, 1, 0, 0, 0, 0, 1, 1, 1, 0, 1, 3, 0, 3, 2, 1, 0, 0}) // a Up, then a suspicion of self
	f.Add([]byte{0, 3, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0, 5, 200, 5, 200, 5, 200})             // join request, then long silence
	f.Add([]byte{0, 5, 0, 0, 0, 0, 2, 0, 0, 0, 6, 2, 4, 5, 7, 0, 4, 1})                      // digest of the right size, join, leave
	f.Add([]byte{7, 1, 1, 2, 7, 0, 5, 255, 7, 2, 0, 6, 0, 1, 3, 4, 250, 1, 0, 0})            // quarantine, restart, huge incarnation
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := DefaultLocalConfig()
		cfg.NodeID, cfg.Authority = fuzzSelfID, fuzzSelfAuthority
		cfg.Rand = rand.New(rand.NewPCG(1, 2))
		cfg.MaxMembers = fuzzMaxMembers
		cfg.MaxMetadataBytes = 8
		c, err := NewMembershipCoordinator(cfg)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		o, err := c.StartMember(now)
		if err != nil {
			t.Fatal(err)
		}
		check := newInvariantChecker(t, c)
		check.outcome("start", o)
		r := &byteReader{b: data}
		for step := 0; len(r.b) > 0 && step < 200; step++ {
			var what string
			switch op := r.pick(8); op {
			case 0, 1, 2, 3:
				m := r.fuzzMessage(c.ae.nbuckets)
				what = fmt.Sprintf("HandleGossip(%+v)", m)
				o, err = c.HandleGossip(now, GossipInbound{Source: m.From, Message: m})
				if err != nil && c.State() != CoordinatorStopped && !errors.Is(err, ErrInvalidMessage) && !errors.Is(err, ErrQuarantined) {
					t.Fatalf("%s: unexpected error %v", what, err)
				}
			case 4:
				now = now.Add(time.Duration(r.next()) * 5 * time.Millisecond)
				what = "Poll"
				o = c.Poll(now)
			case 5:
				now = now.Add(time.Duration(r.next()) * 500 * time.Millisecond)
				what = "Poll after a long gap"
				o = c.Poll(now)
			case 6:
				seeds := []string{fuzzAuthorities[r.pick(3)]}
				what = fmt.Sprintf("HandleJoin(%v)", seeds)
				o, _ = c.HandleJoin(now, seeds)
			case 7:
				switch r.pick(3) {
				case 0:
					what = "HandleLeave"
					o, _ = c.HandleLeave(now)
				case 1:
					a, inc := fuzzAuthorities[r.pick(len(fuzzAuthorities))], uint64(r.pick(5))
					what = fmt.Sprintf("HandleQuarantine(%s, %d)", a, inc)
					o, _ = c.HandleQuarantine(now, a, inc)
				case 2:
					what = "StartMember"
					o, _ = c.StartMember(now)
				}
			}
			check.outcome(what, o)
			check.state(what)
		}
	})
}

// invariantChecker remembers the last view of a coordinator to check that
// no record regresses between calls.
type invariantChecker struct {
	t    *testing.T
	c    *MembershipCoordinator
	last map[string]NodeRecord
}

func newInvariantChecker(t *testing.T, c *MembershipCoordinator) *invariantChecker {
	return &invariantChecker{t: t, c: c, last: map[string]NodeRecord{}}
}

// outcome checks what one call produced.
func (k *invariantChecker) outcome(what string, o Outcome) {
	t := k.t
	t.Helper()
	for _, out := range o.Outbound {
		m := out.Message
		switch {
		case out.Target == "" || out.Target == fuzzSelfAuthority:
			t.Fatalf("%s: message to %q: %+v", what, out.Target, m)
		case !m.Kind.Valid() || m.From != fuzzSelfAuthority || m.FromID != fuzzSelfID:
			t.Fatalf("%s: malformed outbound %+v", what, m)
		case EstimateSize(m) > k.c.cfg.MaxMessageBytes:
			t.Fatalf("%s: outbound of %d bytes over %d", what, EstimateSize(m), k.c.cfg.MaxMessageBytes)
		}
		for _, r := range m.Entries {
			if !r.Status.Valid() || r.NodeID == "" || r.Authority == "" || len(r.Meta) > k.c.cfg.MaxMetadataBytes {
				t.Fatalf("%s: outbound carries an invalid record %+v", what, r)
			}
		}
	}
	for _, ev := range o.Members {
		if !ev.Conflict && ev.To != ev.Record.Status {
			t.Fatalf("%s: member event To %s but record %s", what, ev.To, ev.Record.Status)
		}
	}
	if u := o.Topology; u != nil {
		for _, set := range [][]string{u.Joined, u.Left, u.Dead} {
			if !slices.IsSorted(set) {
				t.Fatalf("%s: topology set not sorted: %v", what, set)
			}
		}
		for _, a := range u.Joined {
			if slices.Contains(u.Left, a) || slices.Contains(u.Dead, a) {
				t.Fatalf("%s: %s both joined and left/dead", what, a)
			}
		}
		for _, a := range u.Left {
			if slices.Contains(u.Dead, a) {
				t.Fatalf("%s: %s both left and dead", what, a)
			}
		}
	}
}

// state checks the coordinator's table after a call.
func (k *invariantChecker) state(what string) {
	t := k.t
	t.Helper()
	checkTableInvariants(t, k.c.table)
	if n := k.c.table.Len(); n > fuzzMaxMembers {
		t.Fatalf("%s: table holds %d records, over MaxMembers %d", what, n, fuzzMaxMembers)
	}
	now := map[string]NodeRecord{}
	for _, r := range k.c.Records() {
		now[r.Authority] = r
		if len(r.Meta) > k.c.cfg.MaxMetadataBytes {
			t.Fatalf("%s: held metadata over the limit: %+v", what, r)
		}
		if prev, ok := k.last[r.Authority]; ok && prev.Supersedes(r) {
			t.Fatalf("%s: record of %s regressed from %+v to %+v", what, r.Authority, prev, r)
		}
		if r.Status.IsActive() && k.c.quarantine.Contains(r.Authority, r.Incarnation) {
			t.Fatalf("%s: holds active %+v of a quarantined instance", what, r)
		}
	}
	k.last = now
	if k.c.State() == CoordinatorMember {
		own, ok := k.c.Member(fuzzSelfAuthority)
		if !ok || own.NodeID != fuzzSelfID || !own.Status.IsActive() {
			t.Fatalf("%s: a member holds its own record as %+v (held: %v)", what, own, ok)
		}
		if local := k.c.LocalNode(); !local.Equal(own) {
			t.Fatalf("%s: LocalNode %+v differs from the record held %+v", what, local, own)
		}
	}
}

// TestReplayedMessagesCannotChangeCurrentRecords captures messages about a
// peer as they pass (its Up, a suspicion of it, its refutation, its death)
// and replays each one later: none changes what the coordinator holds, and
// none produces a member event.
func TestReplayedMessagesCannotChangeCurrentRecords(t *testing.T) {
	cfg := DefaultLocalConfig()
	cfg.NodeID, cfg.Authority, cfg.Rand = "o", "10.0.0.9:1", rand.New(rand.NewPCG(3, 4))
	c, err := NewMembershipCoordinator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := c.StartMember(now); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HandleJoin(now, nil); err != nil {
		t.Fatal(err)
	}
	const p, q = "10.0.0.2:1", "10.0.0.3:1"
	rec := func(a, id string, s NodeStatus, inc uint64) NodeRecord {
		return NodeRecord{Authority: a, NodeID: id, Status: s, Incarnation: inc}
	}
	gossip := func(from, fromID string, entries ...NodeRecord) GossipInbound {
		return GossipInbound{Source: from, Message: Message{Kind: MessageGossip, From: from, FromID: fromID, Entries: entries}}
	}
	qUp := rec(q, "q", StatusUp, 1)
	captured := map[string]GossipInbound{
		"p up 1":            gossip(p, "p", rec(p, "p", StatusUp, 1)),
		"heartbeat of p":    {Source: p, Message: Message{Kind: MessageHeartbeat, From: p, FromID: "p", Seq: 7, Entries: []NodeRecord{rec(p, "p", StatusUp, 1)}}},
		"join request of p": {Source: p, Message: Message{Kind: MessageJoinRequest, From: p, FromID: "p", Entries: []NodeRecord{rec(p, "p", StatusJoining, 1)}}},
		"q suspects p at 1": gossip(q, "q", qUp, rec(p, "p", StatusSuspect, 1)),
		"p refutes at 2":    gossip(p, "p", rec(p, "p", StatusUp, 2)),
		"q suspects p at 2": gossip(q, "q", qUp, rec(p, "p", StatusSuspect, 2)),
	}
	deliver := func(name string) Outcome {
		t.Helper()
		now = now.Add(10 * time.Millisecond)
		o, err := c.HandleGossip(now, captured[name])
		if err != nil && !errors.Is(err, ErrQuarantined) {
			t.Fatalf("%s: %v", name, err)
		}
		return o
	}
	holds := func(want NodeRecord) {
		t.Helper()
		got, _ := c.Member(p)
		if !got.Equal(want) {
			t.Fatalf("holds %+v for p, want %+v", got, want)
		}
	}
	replayAll := func(current NodeRecord) {
		t.Helper()
		for name := range captured {
			o := deliver(name)
			for _, ev := range o.Members {
				if ev.Record.Authority == p {
					t.Errorf("replaying %q produced %s -> %s for p", name, ev.From, ev.To)
				}
			}
			holds(current)
		}
	}

	deliver("p up 1")
	deliver("q suspects p at 1")
	holds(rec(p, "p", StatusSuspect, 1))
	deliver("p refutes at 2")
	holds(rec(p, "p", StatusUp, 2))
	// The old suspicion and the old Up are stale: incarnation 2 wins.
	for _, name := range []string{"q suspects p at 1", "p up 1", "heartbeat of p", "join request of p"} {
		deliver(name)
		holds(rec(p, "p", StatusUp, 2))
	}

	// p dies at incarnation 2 (suspected first, and silent for longer than
	// a correct verdict takes, so the death is taken as told: see
	// aliveState and verdictUnheralded): every captured message, the
	// refutation at 2 included, is now stale.
	deliver("q suspects p at 2")
	holds(rec(p, "p", StatusSuspect, 2))
	now = now.Add(c.aliveWindow())
	dead := rec(p, "p", StatusDead, 2)
	captured["p dead at 2"] = gossip(q, "q", qUp, dead)
	deliver("p dead at 2")
	holds(dead)
	replayAll(dead)

	// A restarted p (a new instance at incarnation 3) replaces the
	// tombstone; replays of the old instance's life do not touch it.
	up3 := rec(p, "p2", StatusUp, 3)
	captured["p2 up 3"] = gossip(p, "p2", up3)
	deliver("p2 up 3")
	holds(up3)
	replayAll(up3)
}
