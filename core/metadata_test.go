package core

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

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
