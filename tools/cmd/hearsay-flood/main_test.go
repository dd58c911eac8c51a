package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/std"
)

func startNode(t *testing.T) *std.Node {
	t.Helper()
	cfg := std.DefaultConfig()
	cfg.Core = core.DefaultLocalConfig()
	cfg.Core.NodeID = "target"
	cfg.Transport.BindAddr = "127.0.0.1:0"
	cfg.Transport.Label = "flood-test"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := std.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// The tool's requests are understood by a std node (they are answered, at
// the stranger's socket) and reflect less than they weigh.
func TestReflectAgainstAStdNode(t *testing.T) {
	n := startNode(t)
	var out bytes.Buffer
	if err := run([]string{"-mode", "reflect", "-target", n.Addr(), "-label", "flood-test"}, &out); err != nil {
		t.Fatal(err)
	}
	var r reflectReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err, out.String())
	}
	t.Logf("%+v", r)
	if r.StrangerReceived == 0 || r.StrangerReceived > r.StrangerSent || r.VictimReceived > r.VictimSent {
		t.Errorf("want some answer to the stranger and nothing over the bytes sent: %+v", r)
	}
	if s := n.Stats().Transport; s.DroppedDecodeError != 0 {
		t.Errorf("the node could not decode %d of the tool's datagrams", s.DroppedDecodeError)
	}
}

// A flood of distinct senders reaches the node whole, without /metrics.
func TestSendersAgainstAStdNode(t *testing.T) {
	n := startNode(t)
	var out bytes.Buffer
	if err := run([]string{"-mode", "senders", "-target", n.Addr(), "-label", "flood-test", "-senders", "2000", "-sources", "4", "-rate", "0"}, &out); err != nil {
		t.Fatal(err)
	}
	var r floodReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err, out.String())
	}
	if r.Datagrams != 2000 {
		t.Errorf("sent %d datagrams, want 2000", r.Datagrams)
	}
	if s := n.Stats().Transport; s.DroppedDecodeError != 0 {
		t.Errorf("the node could not decode %d of the tool's datagrams", s.DroppedDecodeError)
	}
}

func TestTargetsOnLoopbackOnly(t *testing.T) {
	if err := run([]string{"-target", "10.0.0.1:7946"}, &bytes.Buffer{}); err == nil {
		t.Error("a target outside 127.0.0.0/8 was accepted")
	}
}
