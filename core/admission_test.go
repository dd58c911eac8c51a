package core_test

import (
	"errors"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

var errOldVersion = errors.New("version 1 is not supported")

// admitVersion2 refuses members whose metadata says version=1.
func admitVersion2(r core.NodeRecord) error {
	if string(r.Meta) == "version=1" {
		return errOldVersion
	}
	return nil
}

// Config.Admit refuses a member: it never enters any table nor any event,
// gets no answer to its join requests, and every refusal is counted. A
// member the hook accepts joins as usual.
func TestAdmitRefusesAMember(t *testing.T) {
	const old, newer = 4, 5
	cfg := core.DefaultLANConfig()
	cfg.Admit = admitVersion2
	var c *sim.Cluster
	var eventsAboutOld int
	o := sim.Options{Nodes: 4, Seed: 17, Config: cfg}
	o.OnEvent = func(at int, ev core.MemberEvent) {
		if c != nil && c.Len() > old && ev.Record.Authority == c.Authority(old) && at != old {
			eventsAboutOld++
		}
	}
	c = settled(t, o)
	for range 2 {
		if _, err := c.AddNode(); err != nil {
			t.Fatal(err)
		}
	}
	err := c.StartWith(old, func(cfg *core.Config) { cfg.Meta, cfg.Admit = []byte("version=1"), nil }, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StartWith(newer, func(cfg *core.Config) { cfg.Meta = []byte("version=2") }, 0); err != nil {
		t.Fatal(err)
	}
	c.Run(10 * time.Second)

	for i := range 4 {
		if r, ok := c.Record(i, c.Authority(old)); ok {
			t.Errorf("node %d holds the refused member: %+v", i, r)
		}
		if r, _ := c.Record(i, c.Authority(newer)); r.Status != core.StatusUp {
			t.Errorf("node %d holds the admitted member as %s", i, r.Status)
		}
	}
	if eventsAboutOld != 0 {
		t.Errorf("%d events about the refused member", eventsAboutOld)
	}
	if got := c.Coordinator(0).Stats().AdmissionsRefused; got == 0 {
		t.Error("node 0 counted no refusal")
	}
	if got := c.Coordinator(old).LocalNode().Status; got != core.StatusJoining {
		t.Errorf("the refused member is %s in its own view, want joining: no seed answered", got)
	}
	if got := c.Coordinator(newer).LocalNode().Status; got != core.StatusUp {
		t.Errorf("the admitted member is %s", got)
	}

	// The refusal reaches the caller of HandleGossip, wrapping Admit's error.
	req := core.Message{Kind: core.MessageJoinRequest, From: c.Authority(old), FromID: c.NodeID(old), Seq: 99,
		Entries: []core.NodeRecord{c.Coordinator(old).LocalNode()}}
	out, err := c.Coordinator(0).HandleGossip(c.NodeNow(0), core.GossipInbound{Source: c.Authority(old), Message: req})
	if !errors.Is(err, errOldVersion) {
		t.Errorf("a join request from the refused member: err %v, want Admit's", err)
	}
	if len(out.Outbound) != 0 {
		t.Errorf("the refused member was answered: %+v", out.Outbound)
	}

	// A member already admitted is not asked again: its metadata changes
	// are taken as they come.
	if err := c.SetMeta(newer, []byte("version=1")); err != nil {
		t.Fatal(err)
	}
	c.Run(5 * time.Second)
	if r, _ := c.Record(0, c.Authority(newer)); string(r.Meta) != "version=1" || r.Status != core.StatusUp {
		t.Errorf("an admitted member's metadata change: node 0 holds %+v", r)
	}
}
