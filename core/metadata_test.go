package core

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// SetMeta raises the incarnation, the change spreads to every member, and
// each of them (the node itself included) reports it as exactly one update
// event: the status stays, the metadata is new.
func TestSetMetaSpreadsAsAnUpdate(t *testing.T) {
	net := cluster(t, 6, 5)
	updates := map[string][]MemberEvent{} // observer → update events about node 2
	net.observe = func(at string, ev MemberEvent) {
		if ev.Record.Authority == auth(2) {
			updates[at] = append(updates[at], ev)
		}
	}
	c := net.nodes[auth(2)].c
	before := c.LocalNode()
	o, err := c.SetMeta(net.now, []byte("role=db"))
	if err != nil {
		t.Fatal(err)
	}
	net.deliver(auth(2), o)
	if got := c.LocalNode(); got.Incarnation <= before.Incarnation || string(got.Meta) != "role=db" || got.Status != StatusUp {
		t.Fatalf("after SetMeta the own record is %+v (was incarnation %d)", got, before.Incarnation)
	}
	if !net.runUntil(10*time.Second, func() bool {
		for _, a := range net.live() {
			if r, _ := net.nodes[a].c.Member(auth(2)); string(r.Meta) != "role=db" {
				return false
			}
		}
		return true
	}) {
		t.Fatal("the new metadata did not reach every member")
	}
	net.run(5 * time.Second) // echoes and anti-entropy must not report it twice
	for _, a := range net.live() {
		evs := updates[a]
		if len(evs) != 1 {
			t.Errorf("%s reported %d events about node 2, want 1 update: %v", a, len(evs), evs)
			continue
		}
		ev := evs[0]
		if ev.From != StatusUp || ev.To != StatusUp || ev.Conflict || string(ev.Record.Meta) != "role=db" {
			t.Errorf("%s reported %+v, want an update up → up with the new metadata", a, ev)
		}
	}

	// The same metadata again changes nothing.
	inc := c.LocalNode().Incarnation
	o, err = c.SetMeta(net.now, []byte("role=db"))
	if err != nil || !o.Empty() || c.LocalNode().Incarnation != inc {
		t.Errorf("SetMeta with the same metadata: outcome %+v, err %v, incarnation %d → %d", o, err, inc, c.LocalNode().Incarnation)
	}
}

func TestSetMetaRefusals(t *testing.T) {
	cfg := testConfig("a", "a:1", 1)
	c, err := NewMembershipCoordinator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetMeta(epoch, nil); !errors.Is(err, ErrNotStarted) {
		t.Errorf("SetMeta stopped: %v", err)
	}
	if _, err := c.StartMember(epoch); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), cfg.MaxMetadataBytes+1)
	_, err = c.SetMeta(epoch, big)
	if !errors.Is(err, ErrInvalidRecord) || !strings.Contains(err.Error(), "513 bytes, over Config.MaxMetadataBytes 512") {
		t.Errorf("SetMeta over the limit: %v", err)
	}
	if r := c.LocalNode(); r.Meta != nil || r.Incarnation != 1 {
		t.Errorf("a refused SetMeta changed the record: %+v", r)
	}

	small := testConfig("b", "b:1", 1)
	small.MaxMessageBytes = 300
	s, err := NewMembershipCoordinator(small)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartMember(epoch); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetMeta(epoch, bytes.Repeat([]byte("x"), 290)); !errors.Is(err, ErrInvalidRecord) || !strings.Contains(err.Error(), "Config.MaxMessageBytes 300") {
		t.Errorf("SetMeta too large for a message: %v", err)
	}

	if _, err := c.HandleLeave(epoch); err != nil {
		t.Fatal(err)
	}
	client, err := NewMembershipCoordinator(testConfig("d", "d:1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.StartClient(epoch); err != nil {
		t.Fatal(err)
	}
	if _, err := client.SetMeta(epoch, []byte("x")); !errors.Is(err, ErrInvalidState) {
		t.Errorf("SetMeta on a client: %v", err)
	}
}

// A node that sets its metadata and later starts again after a leave keeps
// the metadata it set.
func TestSetMetaSurvivesARestartAfterLeave(t *testing.T) {
	c, err := NewMembershipCoordinator(testConfig("a", "a:1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartMember(epoch); err != nil {
		t.Fatal(err)
	}
	c.Poll(epoch) // alone: Up
	if _, err := c.SetMeta(epoch, []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HandleLeave(epoch); err != nil {
		t.Fatal(err)
	}
	if c.State() != CoordinatorStopped {
		t.Fatalf("a cluster of one left: state %s", c.State())
	}
	if _, err := c.StartMember(epoch.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := c.LocalNode(); string(got.Meta) != "v2" {
		t.Errorf("after a restart the metadata is %q, want v2", got.Meta)
	}
}
