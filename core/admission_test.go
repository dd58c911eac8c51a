package core

import (
	"errors"
	"testing"
	"time"
)

var errOldVersion = errors.New("version 1 is not supported")

// admitVersion2 refuses members whose metadata says version=1.
func admitVersion2(r NodeRecord) error {
	if string(r.Meta) == "version=1" {
		return errOldVersion
	}
	return nil
}

// Config.Admit refuses a member: it never enters any table nor any event,
// gets no answer to its join requests, and every refusal is counted. A
// member the hook accepts joins as usual.
func TestAdmitRefusesAMember(t *testing.T) {
	net := newTestNet(t)
	withAdmit := func(c *Config) { c.Admit = admitVersion2 }
	for i := range 4 {
		net.add(nodeID(i), auth(i), withAdmit)
	}
	net.join(auth(0))
	for i := 1; i < 4; i++ {
		net.join(auth(i), auth(0))
	}
	if !net.runUntil(30*time.Second, net.converged) {
		t.Fatal("the admitted members did not converge")
	}
	var eventsAboutOld int
	net.observe = func(at string, ev MemberEvent) {
		if ev.Record.Authority == auth(4) && at != auth(4) {
			eventsAboutOld++
		}
	}
	old := net.add(nodeID(4), auth(4), func(c *Config) { c.Meta = []byte("version=1") })
	net.join(auth(4), auth(0), auth(1))
	newer := net.add(nodeID(5), auth(5), func(c *Config) { c.Meta = []byte("version=2"); c.Admit = admitVersion2 })
	net.join(auth(5), auth(0))
	net.run(10 * time.Second)

	for i := range 4 {
		c := net.nodes[auth(i)].c
		if r, ok := c.Member(auth(4)); ok {
			t.Errorf("node %d holds the refused member: %+v", i, r)
		}
		if r, _ := c.Member(auth(5)); r.Status != StatusUp {
			t.Errorf("node %d holds the admitted member as %s", i, r.Status)
		}
	}
	if eventsAboutOld != 0 {
		t.Errorf("%d events about the refused member", eventsAboutOld)
	}
	if got := net.nodes[auth(0)].c.Stats().AdmissionsRefused; got == 0 {
		t.Error("node 0 counted no refusal")
	}
	if got := old.LocalNode().Status; got != StatusJoining {
		t.Errorf("the refused member is %s in its own view, want joining: no seed answered", got)
	}
	if got := newer.LocalNode().Status; got != StatusUp {
		t.Errorf("the admitted member is %s", got)
	}

	// The refusal reaches the caller of HandleGossip, wrapping Admit's error.
	req := Message{Kind: MessageJoinRequest, From: auth(4), FromID: nodeID(4), Seq: 99,
		Entries: []NodeRecord{old.LocalNode()}}
	o, err := net.nodes[auth(0)].c.HandleGossip(net.now, GossipInbound{Source: auth(4), Message: req})
	if !errors.Is(err, errOldVersion) {
		t.Errorf("a join request from the refused member: err %v, want Admit's", err)
	}
	if len(o.Outbound) != 0 {
		t.Errorf("the refused member was answered: %+v", o.Outbound)
	}

	// A member already admitted is not asked again: its metadata changes
	// are taken as they come.
	o, err = newer.SetMeta(net.now, []byte("version=1"))
	if err != nil {
		t.Fatal(err)
	}
	net.deliver(auth(5), o)
	net.run(5 * time.Second)
	if r, _ := net.nodes[auth(0)].c.Member(auth(5)); string(r.Meta) != "version=1" || r.Status != StatusUp {
		t.Errorf("an admitted member's metadata change: node 0 holds %+v", r)
	}
}
