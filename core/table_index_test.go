package core

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"testing"
)

// The index finds exactly what was inserted and not removed, through random
// inserts and removals that grow it and leave gaps in its probe runs.
func TestAuthorityIndexAgainstAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := newAuthorityIndex()
	var slots []sharedRecord
	want := map[string]int32{}
	var free []int32
	for step := range 20000 {
		a := fmt.Sprintf("10.0.%d.%d:7946", rng.IntN(8), rng.IntN(256))
		if s, ok := want[a]; ok && rng.IntN(3) == 0 {
			x.remove(a, slots)
			slots[s] = sharedRecord{}
			free = append(free, s)
			delete(want, a)
		} else if !ok {
			var s int32
			if k := len(free); k > 0 {
				s, free = free[k-1], free[:k-1]
			} else {
				s = int32(len(slots))
				slots = append(slots, sharedRecord{})
			}
			slots[s] = shareRecord(NodeRecord{NodeID: "n", Authority: a, Status: StatusUp})
			x.insert(a, s, slots)
			want[a] = s
		}
		if x.len() != len(want) {
			t.Fatalf("step %d: len %d, want %d", step, x.len(), len(want))
		}
		if step%500 == 0 || step > 19900 {
			for a, s := range want {
				if got, ok := x.find(a, slots); !ok || got != s {
					t.Fatalf("step %d: find(%s) = %d, %v; want %d", step, a, got, ok, s)
				}
			}
			if _, ok := x.find("10.9.9.9:1", slots); ok {
				t.Fatalf("step %d: found an authority never inserted", step)
			}
		}
	}
	if 4*x.len() > 3*len(x.cells) {
		t.Errorf("%d authorities in %d cells: over the 3/4 load", x.len(), len(x.cells))
	}
}

// recordHash is the FNV-1a hash (hash/fnv's) of the length-prefixed fields,
// finalised: the allocation-free version gives the values the protocol has
// always used, so table hashes and digests compare across versions.
func TestRecordHashIsFNV(t *testing.T) {
	reference := func(r NodeRecord) uint64 {
		h := fnv.New64a()
		var buf [8]byte
		writeStr := func(b []byte) {
			binary.BigEndian.PutUint64(buf[:], uint64(len(b)))
			h.Write(buf[:])
			h.Write(b)
		}
		writeStr([]byte(r.NodeID))
		writeStr([]byte(r.Authority))
		writeStr(r.Meta)
		binary.BigEndian.PutUint64(buf[:], uint64(r.Status))
		h.Write(buf[:])
		binary.BigEndian.PutUint64(buf[:], r.Incarnation)
		h.Write(buf[:])
		return mix64(h.Sum64())
	}
	for _, r := range []NodeRecord{
		{},
		{NodeID: "0123456789abcdef", Authority: "10.0.0.1:7946", Status: StatusUp, Incarnation: 1},
		{NodeID: "n", Authority: "a:1", Status: StatusDead, Incarnation: 1 << 40, Meta: []byte("name=web-1&role=db")},
		{NodeID: "n", Authority: "a:1", Status: StatusSuspect, Incarnation: ^uint64(0), Meta: []byte{0, 0xff}},
	} {
		if got, want := recordHash(r), reference(r); got != want {
			t.Errorf("recordHash(%+v) = %x, want %x", r, got, want)
		}
	}
	if recordHash(NodeRecord{NodeID: "n", Authority: "a", Meta: []byte{}}) != recordHash(NodeRecord{NodeID: "n", Authority: "a"}) {
		t.Error("empty and nil metadata hash differently")
	}
}

// Records with the same contents share one copy; the copies handed out share
// nothing with it.
func TestSharedRecords(t *testing.T) {
	a := shareRecord(NodeRecord{NodeID: "n", Authority: "a:1", Status: StatusUp, Meta: []byte("x=1")})
	b := shareRecord(NodeRecord{NodeID: "n", Authority: "a:1", Status: StatusUp, Meta: []byte("x=1")})
	c := shareRecord(NodeRecord{NodeID: "n", Authority: "a:1", Status: StatusUp, Meta: []byte("x=2")})
	if a != b || a == c {
		t.Fatalf("equal records shared: %v, different records shared: %v", a == b, a == c)
	}
	if shareRecord(NodeRecord{NodeID: "n", Authority: "a:1", Meta: []byte{}}) != shareRecord(NodeRecord{NodeID: "n", Authority: "a:1"}) {
		t.Error("empty and nil metadata are different records")
	}
	v := a.Value()
	r := v.record()
	r.Meta[0] = 'X'
	if v2 := a.Value(); v2.meta != "x=1" {
		t.Errorf("shared metadata changed through a copy: %q", v2.meta)
	}
	if v3 := shareRecord(NodeRecord{NodeID: "n", Authority: "a:1"}).Value(); v3.record().Meta != nil {
		t.Error("a record without metadata comes out with a non-nil Meta")
	}
}

// A shared record compares with a NodeRecord exactly as NodeRecord's own
// Equal and Supersedes do.
func TestSharedRecordComparisons(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	metas := [][]byte{nil, []byte("a"), []byte("ab"), []byte("b"), {0}, {0xff, 0}}
	draw := func() NodeRecord {
		return NodeRecord{
			NodeID:      []string{"n1", "n2"}[rng.IntN(2)],
			Authority:   "a:1",
			Status:      NodeStatus(1 + rng.IntN(6)),
			Incarnation: uint64(rng.IntN(3)),
			Meta:        metas[rng.IntN(len(metas))],
		}
	}
	for range 5000 {
		held, r := draw(), draw()
		v := shareRecord(held).Value()
		if got, want := v.supersededBy(r), r.Supersedes(held); got != want {
			t.Fatalf("supersededBy: %+v over %+v = %v, Supersedes says %v", r, held, got, want)
		}
		if got, want := v.equal(r), r.Equal(held); got != want {
			t.Fatalf("equal: %+v and %+v = %v, Equal says %v", r, held, got, want)
		}
	}
}

// A cell names its slot whatever its size, and carries the tag of its
// authority's hash while the slot fits beside it; a plain cell (a slot of
// 2^24 - 2 or more) may hold any authority, so a probe always reads it.
func TestAuthorityIndexCells(t *testing.T) {
	for _, slot := range []int32{0, 1, 1000, cellSlotMask - 2, cellSlotMask - 1, cellSlotMask, 1 << 30, 1<<31 - 2} {
		for _, h := range []uint64{0, 1 << 57, 0x7f << 57, 0xdeadbeefcafef00d} {
			c := cellFor(slot, h)
			if c == 0 {
				t.Fatalf("cellFor(%d, %#x) is the empty cell", slot, h)
			}
			if got := cellSlot(c); got != slot {
				t.Fatalf("cellSlot(cellFor(%d, %#x)) = %d", slot, h, got)
			}
			if !cellMayHold(c, tagOf(h)) {
				t.Fatalf("cellFor(%d, %#x) does not hold its own tag", slot, h)
			}
			other := (tagOf(h) + 1) & 0x7f
			if tagged := slot+1 < cellSlotMask; cellMayHold(c, other) == tagged {
				t.Fatalf("cellFor(%d, %#x) (tagged %v) may hold another tag: %v", slot, h, tagged, !tagged)
			}
		}
	}
}
