package core

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// This file tests the contract types of status.go, record.go and size.go.

func TestNodeStatus(t *testing.T) {
	tests := []struct {
		s                        NodeStatus
		name                     string
		valid, active, tombstone bool
		precedence               int
	}{
		{0, "status(0)", false, false, false, 0},
		{StatusJoining, "joining", true, true, false, 1},
		{StatusUp, "up", true, true, false, 2},
		{StatusSuspect, "suspect", true, true, false, 3},
		{StatusLeaving, "leaving", true, true, false, 4},
		{StatusRemoved, "removed", true, false, true, 5},
		{StatusDead, "dead", true, false, true, 6},
		{7, "status(7)", false, false, false, 0},
		{255, "status(255)", false, false, false, 0},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.name {
			t.Errorf("%d.String() = %q, want %q", uint8(tt.s), got, tt.name)
		}
		if got := tt.s.Valid(); got != tt.valid {
			t.Errorf("%s.Valid() = %v, want %v", tt.s, got, tt.valid)
		}
		if got := tt.s.IsActive(); got != tt.active {
			t.Errorf("%s.IsActive() = %v, want %v", tt.s, got, tt.active)
		}
		if got := tt.s.IsTombstone(); got != tt.tombstone {
			t.Errorf("%s.IsTombstone() = %v, want %v", tt.s, got, tt.tombstone)
		}
		if got := tt.s.precedence(); got != tt.precedence {
			t.Errorf("%s.Precedence() = %d, want %d", tt.s, got, tt.precedence)
		}
	}
	// The wire values are append only.
	for s, want := range map[NodeStatus]uint8{StatusJoining: 1, StatusUp: 2, StatusSuspect: 3, StatusLeaving: 4, StatusRemoved: 5, StatusDead: 6} {
		if uint8(s) != want {
			t.Errorf("%s = %d, want %d (wire value)", s, uint8(s), want)
		}
	}
}

func TestSupersedes(t *testing.T) {
	r := func(id string, st NodeStatus, inc uint64, meta string) NodeRecord {
		x := NodeRecord{NodeID: id, Authority: "a:1", Status: st, Incarnation: inc}
		if meta != "" {
			x.Meta = []byte(meta)
		}
		return x
	}
	tests := []struct {
		name string
		a, b NodeRecord
		want bool // a.Supersedes(b)
	}{
		{"higher incarnation beats stronger status", r("n", StatusUp, 2, ""), r("n", StatusDead, 1, ""), true},
		{"lower incarnation loses", r("n", StatusDead, 1, ""), r("n", StatusUp, 2, ""), false},
		{"suspect beats up", r("n", StatusSuspect, 1, ""), r("n", StatusUp, 1, ""), true},
		{"up does not beat suspect", r("n", StatusUp, 1, ""), r("n", StatusSuspect, 1, ""), false},
		{"leaving beats suspect", r("n", StatusLeaving, 1, ""), r("n", StatusSuspect, 1, ""), true},
		{"removed beats leaving", r("n", StatusRemoved, 1, ""), r("n", StatusLeaving, 1, ""), true},
		{"dead beats removed", r("n", StatusDead, 1, ""), r("n", StatusRemoved, 1, ""), true},
		{"up beats joining", r("n", StatusUp, 0, ""), r("n", StatusJoining, 0, ""), true},
		{"greater node ID breaks a tie", r("n2", StatusUp, 1, ""), r("n1", StatusUp, 1, ""), true},
		{"greater meta breaks a tie", r("n", StatusUp, 1, "b"), r("n", StatusUp, 1, "a"), true},
		{"meta beats no meta", r("n", StatusUp, 1, "a"), r("n", StatusUp, 1, ""), true},
		{"a record never supersedes itself", r("n", StatusUp, 1, "a"), r("n", StatusUp, 1, "a"), false},
		{"nil and empty meta are the same", r("n", StatusUp, 1, ""), NodeRecord{NodeID: "n", Authority: "a:1", Status: StatusUp, Incarnation: 1, Meta: []byte{}}, false},
	}
	for _, tt := range tests {
		if got := tt.a.Supersedes(tt.b); got != tt.want {
			t.Errorf("%s: Supersedes = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestSupersedesTotalOrder: on valid records of one authority, Supersedes is
// a strict total order (irreflexive, antisymmetric, total on unequal records,
// transitive), which is what makes Merge order-independent.
func TestSupersedesTotalOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		a, b, c := randomRecord(rng), randomRecord(rng), randomRecord(rng)
		a.Authority, b.Authority, c.Authority = "x", "x", "x"
		ab, ba := a.Supersedes(b), b.Supersedes(a)
		switch {
		case a.Supersedes(a):
			t.Fatalf("%+v supersedes itself", a)
		case ab && ba:
			t.Fatalf("%+v and %+v supersede each other", a, b)
		case !ab && !ba && !a.Equal(b):
			t.Fatalf("%+v and %+v are unequal and unordered", a, b)
		case ab && b.Supersedes(c) && !a.Supersedes(c):
			t.Fatalf("not transitive: %+v > %+v > %+v", a, b, c)
		}
	}
}

func TestRecordCloneEqual(t *testing.T) {
	a := NodeRecord{NodeID: "n", Authority: "a:1", Status: StatusUp, Incarnation: 3, Meta: []byte("meta")}
	b := a.Clone()
	if !a.Equal(b) {
		t.Fatalf("clone %+v not equal to %+v", b, a)
	}
	b.Meta[0] = 'X'
	if string(a.Meta) != "meta" {
		t.Errorf("Clone shares metadata: original is now %q", a.Meta)
	}
	if a.Equal(b) {
		t.Errorf("records with different meta are Equal")
	}
	if (NodeRecord{}).Clone().Meta != nil {
		t.Errorf("Clone of nil meta is not nil")
	}
}

func TestEstimateSize(t *testing.T) {
	// Hand-counted msgpack: fixarray(7) + kind + fixstr "a:1" + fixstr "n1" +
	// seq + three empty fixarrays = 1+1+4+3+1+1+1+1 = 13.
	hb := Message{Kind: MessageHeartbeat, From: "a:1", FromID: "n1", Seq: 1}
	if got := EstimateSize(hb); got != 13 {
		t.Errorf("EstimateSize(heartbeat) = %d, want 13", got)
	}
	// fixarray(5) + fixstr "n1" + fixstr "a:1" + status + incarnation + bin8(0) = 1+3+4+1+1+2 = 12.
	r := NodeRecord{NodeID: "n1", Authority: "a:1", Status: StatusUp}
	if got := EstimateRecordSize(r); got != 12 {
		t.Errorf("EstimateRecordSize = %d, want 12", got)
	}
	// Boundaries of the msgpack headers.
	tests := []struct {
		name      string
		got, want int
	}{
		{"uint 127", uintSize(127), 1}, {"uint 128", uintSize(128), 2}, {"uint 255", uintSize(255), 2},
		{"uint 256", uintSize(256), 3}, {"uint 65535", uintSize(65535), 3}, {"uint 65536", uintSize(65536), 5},
		{"uint 2^32-1", uintSize(1<<32 - 1), 5}, {"uint 2^32", uintSize(1 << 32), 9}, {"uint max", uintSize(^uint64(0)), 9},
		{"str 31", strSize(31), 32}, {"str 32", strSize(32), 34}, {"str 255", strSize(255), 257}, {"str 256", strSize(256), 259},
		{"str 65536", strSize(65536), 65541},
		{"bin 0", binSize(0), 2}, {"bin 255", binSize(255), 257}, {"bin 256", binSize(256), 259}, {"bin 65536", binSize(65536), 65541},
		{"array 15", arrayHeaderSize(15), 1}, {"array 16", arrayHeaderSize(16), 3}, {"array 65536", arrayHeaderSize(65536), 5},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	// Appending a record grows the estimate by its own estimate plus at most
	// 4 bytes of array header; the estimate only grows.
	rng := rand.New(rand.NewPCG(9, 9))
	m := Message{Kind: MessageGossip, From: "10.0.0.1:7946", FromID: "node-1"}
	for i := range 2000 {
		if i%40 == 0 {
			m.Entries = nil // cross the 15→16 array header step many times
		}
		x := NodeRecord{NodeID: strings.Repeat("n", rng.IntN(40)), Authority: "10.0.0.9:7946", Status: StatusUp,
			Incarnation: rng.Uint64() >> rng.IntN(64), Meta: make([]byte, rng.IntN(300))}
		before := EstimateSize(m)
		m.Entries = append(m.Entries, x)
		grow := EstimateSize(m) - before - EstimateRecordSize(x)
		if grow < 0 || grow > 4 {
			t.Fatalf("entry %d: header growth %d, want 0..4", i, grow)
		}
	}
	if got := EstimateSize(Message{Digest: []uint64{1, 1 << 40}, Want: []uint32{3}}); got != 1+1+1+1+1+1+1+1+9+1+1 {
		t.Errorf("EstimateSize(digest) = %d, want 19", got)
	}
}
