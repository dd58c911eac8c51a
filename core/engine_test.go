package core

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"
)

func qrec(auth string, inc uint64, st NodeStatus) NodeRecord {
	return NodeRecord{NodeID: "id-" + auth, Authority: auth, Status: st, Incarnation: inc}
}

func authorities(rs []NodeRecord) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Authority
	}
	return out
}

func TestRetransmitLimit(t *testing.T) {
	for _, tc := range []struct{ mult, n, want int }{
		{4, 1, 4}, {4, 9, 4}, {4, 10, 8}, {4, 99, 8}, {4, 100, 12}, {4, 1000, 16}, {1, 0, 1},
	} {
		if got := retransmitLimit(tc.mult, tc.n); got != tc.want {
			t.Errorf("RetransmitLimit(%d, %d) = %d, want %d", tc.mult, tc.n, got, tc.want)
		}
	}
}

func TestEngineFillOrderAndLimit(t *testing.T) {
	e := newGossipEngine(1) // limit 1*ceil(log10(n+1)) = 1 for n <= 9, 2 for n <= 99
	e.Enqueue(qrec("a", 1, StatusUp))
	e.Enqueue(qrec("b", 1, StatusUp))
	e.Enqueue(qrec("c", 1, StatusUp))
	if e.State() != engineDiffusing {
		t.Fatalf("state = %v, want diffusing", e.State())
	}
	// Newest first among the never-sent.
	got := e.Fill(nil, 1000, 50, "")
	if want := []string{"c", "b", "a"}; !slices.Equal(authorities(got), want) {
		t.Fatalf("first fill = %v, want %v", authorities(got), want)
	}
	// A new record goes before those already sent once.
	e.Enqueue(qrec("d", 1, StatusUp))
	got = e.Fill(nil, EstimateRecordSize(qrec("d", 1, StatusUp))+4, 50, "")
	if want := []string{"d"}; !slices.Equal(authorities(got), want) {
		t.Fatalf("second fill = %v, want %v", authorities(got), want)
	}
	// Limit 2 at n=50: a, b, c go out once more and leave the queue; d stays.
	got = e.Fill(nil, 1000, 50, "")
	if want := []string{"d", "c", "b", "a"}; !slices.Equal(authorities(got), want) {
		t.Fatalf("third fill = %v, want %v", authorities(got), want)
	}
	if e.Pending() != 0 {
		t.Fatalf("pending = %d after every record reached its limit", e.Pending())
	}
	if e.State() != engineConfirmed {
		t.Fatalf("state = %v, want confirmed", e.State())
	}
}

func TestEngineNewerRecordSupersedes(t *testing.T) {
	e := newGossipEngine(4)
	e.Enqueue(qrec("a", 1, StatusUp))
	e.Fill(nil, 1000, 10, "")
	e.Enqueue(qrec("a", 1, StatusSuspect))
	r, sent, ok := e.Queued("a")
	if !ok || r.Status != StatusSuspect || sent != 0 {
		t.Fatalf("queued = %+v sent %d ok %v; want the suspect record, unsent", r, sent, ok)
	}
	got := e.Fill(nil, 1000, 10, "")
	if len(got) != 1 || got[0].Status != StatusSuspect {
		t.Fatalf("fill = %+v, want only the newer record", got)
	}
}

func TestEngineFillRespectsBudget(t *testing.T) {
	e := newGossipEngine(4)
	for i := 0; i < 200; i++ {
		e.Enqueue(qrec(fmt.Sprintf("10.0.%d.%d:7946", i/250, i%250), uint64(i), StatusUp))
	}
	base := Message{Kind: MessageGossip, From: "10.9.9.9:7946", FromID: "someone"}
	for round := 0; e.Pending() > 0; round++ {
		m := base
		m.Entries = e.Fill(nil, 1300-EstimateSize(base), 200, "")
		if len(m.Entries) == 0 {
			t.Fatalf("round %d: nothing filled with %d pending", round, e.Pending())
		}
		if sz := EstimateSize(m); sz > 1300 {
			t.Fatalf("round %d: message of %d bytes > 1300", round, sz)
		}
	}
}

func TestEngineHeardRetiresEchoedRumoursOfABurst(t *testing.T) {
	e := newGossipEngine(4) // limit 4 at n=5
	e.Enqueue(qrec("a", 1, StatusUp))
	for i := 0; i < 10; i++ {
		e.Heard(qrec("a", 1, StatusUp), 5)
	}
	if _, _, ok := e.Queued("a"); !ok {
		t.Fatal("outside a burst, echoes retired a record")
	}
	// A burst: echoes count as transmissions.
	for i := 0; i <= congestion; i++ {
		e.Enqueue(qrec(fmt.Sprintf("n%d", i), 1, StatusUp))
	}
	e.Heard(qrec("b", 1, StatusSuspect), 5) // not queued: ignored
	e.Heard(qrec("a", 1, StatusSuspect), 5) // not the queued record: ignored
	if _, _, ok := e.Queued("a"); !ok {
		t.Fatal("a different record counted as an echo")
	}
	e.Heard(qrec("a", 1, StatusUp), 5)
	if _, _, ok := e.Queued("a"); ok {
		t.Fatal("in a burst, 11 echoes did not retire a record with limit 4")
	}
	for i := 0; i < 4; i++ {
		e.Heard(qrec("n3", 1, StatusUp), 5)
	}
	if _, _, ok := e.Queued("n3"); ok {
		t.Fatal("in a burst, 4 echoes did not retire a record with limit 4")
	}
	// A retired record never comes out of Fill.
	for e.Pending() > 0 {
		for _, r := range e.Fill(nil, 1000, 5, "") {
			if r.Authority == "a" || r.Authority == "n3" {
				t.Fatalf("retired record %s was filled", r.Authority)
			}
		}
	}
}

func TestEngineExchangeStates(t *testing.T) {
	e := newGossipEngine(4)
	e.StartExchange("p", 7, epoch.Add(time.Second))
	if e.State() != engineReconciling {
		t.Fatalf("state = %v, want reconciling", e.State())
	}
	if e.EndExchange(6) {
		t.Fatal("ended an exchange with the wrong number")
	}
	if !e.EndExchange(7) || e.State() != engineConfirmed {
		t.Fatalf("EndExchange(7): state %v", e.State())
	}
	e.StartExchange("p", 8, epoch.Add(time.Second))
	if e.Expire(epoch) || !e.Expire(epoch.Add(time.Second)) || e.State() != engineConfirmed {
		t.Fatal("exchange did not expire at its deadline")
	}
}

func TestDigestFindsExactlyTheDifferingBuckets(t *testing.T) {
	var a []NodeRecord
	for i := 0; i < 1000; i++ {
		a = append(a, qrec(fmt.Sprintf("10.1.%d.%d:7946", i/250, i%250), 1, StatusUp))
	}
	b := slices.Clone(a)
	b[17].Status = StatusSuspect
	b = append(b[:500], b[501:]...) // b misses one record
	n := digestBuckets(1300, "10.0.0.1:7946", "node")
	if n != maxDigestBuckets {
		t.Fatalf("DigestBuckets(1300) = %d, want %d", n, maxDigestBuckets)
	}
	da, db := digestOf(a, n), digestOf(b, n)
	m := Message{Kind: MessageDigest, From: "10.0.0.1:7946", FromID: "node", Seq: 1 << 40, Digest: da}
	if sz := EstimateSize(m); sz > 1300 {
		t.Fatalf("a digest of 1,000 members is %d bytes > 1300", sz)
	}
	diff := diffBuckets(da, db)
	want := []uint32{uint32(digestBucket(a[17].Authority, n)), uint32(digestBucket(a[500].Authority, n))}
	slices.Sort(want)
	want = slices.Compact(want)
	if !slices.Equal(diff, want) {
		t.Fatalf("diff = %v, want %v", diff, want)
	}
	repair := recordsInBuckets(a, n, diff)
	if !slices.ContainsFunc(repair, func(r NodeRecord) bool { return r.Authority == a[500].Authority }) {
		t.Fatal("repair lacks the missing record")
	}
	if len(repair) > 40 {
		t.Fatalf("repair sends %d records for 2 differences", len(repair))
	}
	// Order does not matter.
	slices.Reverse(b)
	if !slices.Equal(digestOf(b, n), db) {
		t.Fatal("digest depends on record order")
	}
	if got := digestBuckets(256, "10.0.0.1:7946", "node"); !validBucketCount(got) || EstimateSize(Message{Kind: MessageDigest, From: "10.0.0.1:7946", FromID: "node", Seq: 1 << 63, Digest: make([]uint64, got)}) > 256 {
		t.Fatalf("DigestBuckets(256) = %d does not fit", got)
	}
}

func TestPackMessagesSplitsWithinBudget(t *testing.T) {
	var recs []NodeRecord
	for i := 0; i < 300; i++ {
		r := qrec(fmt.Sprintf("10.2.%d.%d:7946", i/250, i%250), uint64(i)*1e9, StatusUp)
		r.Meta = make([]byte, i%64)
		recs = append(recs, r)
	}
	base := Message{Kind: MessageDigestReply, From: "10.0.0.1:7946", FromID: "node", Seq: 9, Want: []uint32{1, 2, 3, 100}}
	msgs := packMessages(base, recs, 512, true)
	total := 0
	for i, m := range msgs {
		if sz := EstimateSize(m); sz > 512 {
			t.Fatalf("message %d is %d bytes > 512", i, sz)
		}
		if (i == 0) != (len(m.Want) > 0) {
			t.Fatalf("message %d: Want %v (only the first carries it)", i, m.Want)
		}
		total += len(m.Entries)
	}
	if total != len(recs) {
		t.Fatalf("packed %d records, want %d", total, len(recs))
	}
	if got := packMessages(Message{Kind: MessageJoinReply}, nil, 512, true); len(got) != 1 {
		t.Fatalf("empty view: %d messages, want 1", len(got))
	}
	if got := packMessages(Message{Kind: MessageGossip}, nil, 512, false); len(got) != 0 {
		t.Fatalf("nothing to send: %d messages, want 0", len(got))
	}
}

// packShared packs the table's shared records exactly as packMessages packs
// their copies, every message's Entries allocated at its final length; a
// record too large for any message is skipped by both.
func TestPackSharedMatchesPackMessages(t *testing.T) {
	var recs []NodeRecord
	var shared []sharedRecord
	for i := 0; i < 300; i++ {
		r := qrec(fmt.Sprintf("10.2.%d.%d:7946", i/250, i%250), uint64(i)*1e9, StatusUp)
		r.Meta = make([]byte, i%64)
		if i == 150 {
			r.Meta = make([]byte, 600) // fits no message of 512 bytes
		}
		recs = append(recs, r)
		shared = append(shared, shareRecord(r))
	}
	base := Message{Kind: MessageDigestReply, From: "10.0.0.1:7946", FromID: "node", Seq: 9, Want: []uint32{1, 2, 3, 100}, Cookie: []byte("c")}
	got, want := packShared(base, shared, 512, true), packMessages(base, recs, 512, true)
	if len(got) != len(want) || len(got) < 2 {
		t.Fatalf("packShared made %d messages, packMessages %d (want the same, at least 2)", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if !slices.EqualFunc(g.Entries, w.Entries, NodeRecord.Equal) || !slices.Equal(g.Want, w.Want) || !bytes.Equal(g.Cookie, w.Cookie) {
			t.Fatalf("message %d differs: %d records, Want %v; want %d records, Want %v", i, len(g.Entries), g.Want, len(w.Entries), w.Want)
		}
		if cap(g.Entries) != len(g.Entries) {
			t.Errorf("message %d: Entries of capacity %d for %d records", i, cap(g.Entries), len(g.Entries))
		}
		for _, r := range g.Entries {
			if len(r.Meta) == 600 {
				t.Fatalf("message %d carries the record that fits no message", i)
			}
		}
	}
	if got := packShared(Message{Kind: MessageJoinReply}, nil, 512, true); len(got) != 1 {
		t.Fatalf("empty view: %d messages, want 1", len(got))
	}
	if got := packShared(Message{Kind: MessageGossip, Want: []uint32{1}}, nil, 512, false); len(got) != 1 {
		t.Fatalf("a Want and no records: %d messages, want 1", len(got))
	}
}

// TestEngineDoesNotKeepDeadEntries: superseded and retired records do not
// pile up in the queue's levels.
func TestEngineDoesNotKeepDeadEntries(t *testing.T) {
	e := newGossipEngine(4)
	filed := func() int {
		n := 0
		for _, l := range e.levels {
			n += len(l)
		}
		return n
	}
	for i := 0; i < 10000; i++ {
		e.Enqueue(qrec(fmt.Sprintf("n%d", i%7), uint64(i), StatusUp))
		if i%3 == 0 {
			e.Fill(nil, 200, 10, "")
		}
		if e.filed != filed() {
			t.Fatalf("step %d: filed counter %d, levels hold %d", i, e.filed, filed())
		}
	}
	if got := filed(); got > 2*e.Pending()+congestion+1 {
		t.Fatalf("%d entries filed for %d pending", got, e.Pending())
	}
	for i := 0; i < 1000; i++ {
		e.Enqueue(qrec(fmt.Sprintf("m%d", i), 1, StatusUp))
	}
	for e.Pending() > 0 {
		e.Fill(nil, 1300, 1000, "")
	}
	if got := filed(); got > congestion+1 {
		t.Fatalf("%d entries filed with nothing pending", got)
	}
}

func TestBucketsForGrowsWithTheTable(t *testing.T) {
	for _, tc := range []struct{ size, limit, want int }{
		{0, 128, 1}, {1, 128, 1}, {8, 128, 1}, {9, 128, 2}, {64, 128, 8},
		{65, 128, 16}, {1000, 128, 128}, {100000, 128, 128}, {1000, 32, 32},
	} {
		if got := bucketsFor(tc.size, tc.limit); got != tc.want {
			t.Errorf("BucketsFor(%d, %d) = %d, want %d", tc.size, tc.limit, got, tc.want)
		}
		if !validBucketCount(bucketsFor(tc.size, tc.limit)) {
			t.Errorf("BucketsFor(%d, %d) is not a valid bucket count", tc.size, tc.limit)
		}
	}
}
