package core

import (
	"fmt"
	"testing"
)

// BenchmarkEngineFill measures the selection of piggyback records: one full
// message's worth taken from a queue of 1,000 pending changes (a burst of
// joins), refilled so the queue stays at that size.
func BenchmarkEngineFill(b *testing.B) {
	const queued, members = 1000, 1000
	recs := make([]NodeRecord, queued)
	for i := range recs {
		recs[i] = NodeRecord{NodeID: fmt.Sprintf("node-%04d", i), Authority: fmt.Sprintf("10.0.%d.%d:7946", i/250, i%250), Status: StatusUp, Incarnation: 1}
	}
	e := newGossipEngine(4)
	for _, r := range recs {
		e.Enqueue(r)
	}
	dst := make([]NodeRecord, 0, 64)
	next := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		dst = e.Fill(dst[:0], 1300, members, "")
		if len(dst) == 0 {
			b.Fatal("Fill selected nothing from a full queue")
		}
		for range dst {
			r := recs[next%queued]
			r.Incarnation++
			recs[next%queued] = r
			e.Enqueue(r)
			next++
		}
	}
}
