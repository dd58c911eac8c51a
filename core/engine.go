package core

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"time"
)

// engineState is where the gossipEngine stands.
type engineState uint8

const (
	// engineConfirmed: nothing pending; the last anti-entropy exchange (if
	// any) completed.
	engineConfirmed engineState = iota
	// engineDiffusing: records are queued for piggybacking.
	engineDiffusing
	// engineReconciling: an anti-entropy exchange is in flight.
	engineReconciling
)

// String names the state.
func (s engineState) String() string {
	switch s {
	case engineConfirmed:
		return "confirmed"
	case engineDiffusing:
		return "diffusing"
	case engineReconciling:
		return "reconciling"
	}
	return fmt.Sprintf("engine-state(%d)", uint8(s))
}

// gossipEngine decides what travels: which changed records ride on outgoing
// messages (dissemination) and how two members compare and repair their
// tables (anti-entropy). It sends nothing itself; the coordinator builds the
// messages.
//
// Dissemination. Every change goes into a piggyback queue, keyed by authority:
// a newer record for the same authority replaces the queued one and starts
// its count afresh. Each outgoing message (heartbeats, periodic gossip) takes
// the queued records that fit its size budget, least transmitted first and,
// among equals, newest first; a record is dropped from the queue after
// retransmitLimit(mult, N) = mult * ceil(log10(N+1)) transmissions, as in
// memberlist.
//
// Anti-entropy. Periodically the coordinator sends one random peer a digest:
// the table split into B buckets by a hash of the authority, each bucket
// summarised by the sum (mod 2^64) of recordHash over its records, the
// tombstones included (unlike the table's Hash, which heartbeats carry and
// which starts exchanges of its own) — order independent, so equal bucket
// contents give equal sums. B grows with the
// table (bucketsFor: about recordsPerBucket records per bucket), up to the
// largest power of two up to maxDigestBuckets whose digest fits one message
// (digestBuckets); the peer sums its own table over the same B. The peer
// answers with its records of the buckets that differ and, in Want, those
// bucket indexes; the originator answers Want with its own records, so both
// sides repair only what differs. A member's periodic exchange sends a
// summary instead, the sums over at most summaryBuckets buckets, which costs
// the same at any table size; a peer that finds it differing in many records
// descends into an exchange of its own whole digest. While an exchange is in
// flight the engine is Reconciling.
type gossipEngine struct {
	mult  int
	queue map[string]*broadcast // the live broadcast of each authority
	// levels[t] holds the broadcasts transmitted t times, oldest first; a
	// superseded or finished broadcast stays there, marked done, until a
	// Fill passes over it.
	levels [][]*broadcast
	filed  int          // entries in levels, live or done
	moved  []*broadcast // scratch for Fill
	seq    uint64

	// anti-entropy exchange in flight
	exchangeSeq  uint64
	exchangePeer string
	exchangeEnd  time.Time // the exchange is abandoned after this
	reconciling  bool

	transmissions uint64
}

// broadcast is one queued record, held as the table holds it (shared, one
// pointer), in 32 bytes: every member of a simulated cluster queues every
// joining member, so the queues of N members hold up to N*N broadcasts.
type broadcast struct {
	rec       sharedRecord
	seq       uint64 // insertion order: higher is newer
	transmits int32
	echoes    int32 // times a peer sent us this very record (see Heard)
	burst     bool  // queued or echoed while the queue was congested
	done      bool  // superseded or retired: no longer in queue
}

// newGossipEngine returns an engine whose records are retransmitted
// retransmitLimit(retransmitMult, N) times.
func newGossipEngine(retransmitMult int) *gossipEngine {
	return &gossipEngine{mult: max(1, retransmitMult), queue: map[string]*broadcast{}, levels: make([][]*broadcast, 1)}
}

// retransmitLimit is how many times a change is piggybacked in a cluster of n
// members: mult * ceil(log10(n+1)), at least 1.
func retransmitLimit(mult, n int) int {
	return max(1, mult*int(math.Ceil(math.Log10(float64(n)+1))))
}

// Enqueue queues rec for dissemination, replacing any queued record of the
// same authority (the replacement starts with no transmissions).
func (e *gossipEngine) Enqueue(rec NodeRecord) { e.enqueueShared(shareRecord(rec)) }

// enqueueShared is Enqueue of a record already shared (the table's).
func (e *gossipEngine) enqueueShared(rec sharedRecord) {
	e.seq++
	authority := rec.Value().authority
	if old, ok := e.queue[authority]; ok {
		old.done = true
	}
	b := &broadcast{rec: rec, seq: e.seq, burst: len(e.queue) > congestion}
	e.queue[authority] = b
	e.levels[0] = append(e.levels[0], b)
	e.filed++
	e.collect()
}

// collect drops the done entries from the levels once they outnumber the
// live ones, so that superseded and retired records do not pile up.
func (e *gossipEngine) collect() {
	if e.filed <= 2*len(e.queue)+congestion {
		return
	}
	e.filed = 0
	for t, lvl := range e.levels {
		kept := slices.DeleteFunc(lvl, func(b *broadcast) bool { return b.done })
		e.levels[t] = kept
		e.filed += len(kept)
	}
}

// Drop takes every queued record for which drop reports true out of the
// queue.
func (e *gossipEngine) Drop(drop func(NodeRecord) bool) {
	for _, b := range e.queue {
		if v := b.rec.Value(); drop(v.record()) {
			e.retire(b)
		}
	}
	e.collect()
}

// Pending returns how many records are queued.
func (e *gossipEngine) Pending() int { return len(e.queue) }

// Queued returns the queued record for authority, and how many times it was
// transmitted.
func (e *gossipEngine) Queued(authority string) (NodeRecord, int, bool) {
	b, ok := e.queue[authority]
	if !ok {
		return NodeRecord{}, 0, false
	}
	v := b.rec.Value()
	return v.record(), int(b.transmits), true
}

// Transmissions returns how many records the engine has handed out in total.
func (e *gossipEngine) Transmissions() uint64 { return e.transmissions }

// congestion is the queue length above which the engine is in a burst of
// changes (many members joining at once): more than one message's worth.
const congestion = 24

// Heard tells the engine that rec arrived from a peer and was no news to
// this node. If rec is the queued record of its authority, the rumour is
// already spreading without us ("feedback, counter" in Demers et al.'s
// epidemic algorithms). In a burst of changes (the queue holds more than
// congestion records, say many members joining at once) such echoes count
// as transmissions, for every record queued or echoed during the burst, so
// that members stop gossiping what everyone knows soon after the burst. A
// change outside a burst ignores echoes and gets its whole budget of pushes,
// which is what makes it reach every member in close to the epidemic bound.
func (e *gossipEngine) Heard(rec NodeRecord, n int) {
	b, ok := e.queue[rec.Authority]
	if !ok {
		return
	}
	if v := b.rec.Value(); !v.equal(rec) {
		return
	}
	b.echoes++
	if len(e.queue) > congestion {
		b.burst = true
	}
	if e.spent(b) >= retransmitLimit(e.mult, n) {
		e.retire(b)
		e.collect()
	}
}

// spent is how much of its retransmit budget b has used.
func (e *gossipEngine) spent(b *broadcast) int {
	if b.burst {
		return int(b.transmits + b.echoes)
	}
	return int(b.transmits)
}

// retire takes b out of the queue (it stays in its level, marked done, until
// Fill passes over it).
func (e *gossipEngine) retire(b *broadcast) {
	b.done = true
	delete(e.queue, b.rec.Value().authority)
}

// Fill appends to dst the queued records that fit in budget bytes (by
// EstimateRecordSize, plus room for the array header growing), least
// transmitted first and newest first among equals, counts one transmission
// for each, and drops those that reached retransmitLimit for a cluster of n
// members. skip, when not empty, names an authority not to send. The records
// appended share no memory with the queue. The cost is proportional to the
// records looked at, not to the queue length.
func (e *gossipEngine) Fill(dst []NodeRecord, budget, n int, skip string) []NodeRecord {
	return e.fillShared(dst, nil, budget, n, skip)
}

// fillShared is Fill that also appends, when shared is not nil, the shared
// copy of each record it appends to dst (for Message.shared).
func (e *gossipEngine) fillShared(dst []NodeRecord, shared *[]sharedRecord, budget, n int, skip string) []NodeRecord {
	if len(e.queue) == 0 || budget <= 0 {
		return dst
	}
	limit := retransmitLimit(e.mult, n)
	budget -= headerGrowth // the Entries header may grow
	e.moved = e.moved[:0]
	for t := 0; t < len(e.levels) && budget >= minRecordBytes; t++ {
		lvl := e.levels[t]
		w := len(lvl) // lvl[w:] is the kept part of the scanned tail, compacted
		i := len(lvl) - 1
		for ; i >= 0 && budget >= minRecordBytes; i-- {
			b := lvl[i]
			if b.done {
				continue
			}
			if e.spent(b) >= limit {
				e.retire(b)
				continue
			}
			v := b.rec.Value()
			sz := v.estimateSize()
			if sz > budget || v.authority == skip {
				w--
				lvl[w] = b
				continue
			}
			budget -= sz
			dst = append(dst, v.record())
			if shared != nil {
				*shared = append(*shared, b.rec)
			}
			b.transmits++
			e.transmissions++
			if e.spent(b) >= limit {
				e.retire(b)
			} else {
				e.moved = append(e.moved, b)
			}
		}
		// lvl[:i+1] was not scanned; lvl[w:] are the kept scanned entries.
		kept := copy(lvl[i+1:], lvl[w:])
		clear(lvl[i+1+kept:])
		e.filed -= len(lvl) - (i + 1 + kept)
		e.levels[t] = lvl[:i+1+kept]
	}
	// Taken newest first; filed oldest first, so the next level's tail (where
	// Fill starts) is again the newest.
	slices.Reverse(e.moved)
	for _, b := range e.moved {
		for len(e.levels) <= int(b.transmits) {
			e.levels = append(e.levels, nil)
		}
		e.levels[b.transmits] = append(e.levels[b.transmits], b)
		e.filed++
	}
	clear(e.moved)
	e.collect()
	if len(e.queue) == 0 {
		e.release()
	}
	return dst
}

// release lets go of the memory of a burst once the queue is empty: the
// levels and the map keep the capacity of the largest queue they held (a
// Go map never shrinks), which at a join of thousands is more than the
// table's own index, for every member.
func (e *gossipEngine) release() {
	e.queue = map[string]*broadcast{}
	e.levels = make([][]*broadcast, 1)
	e.filed = 0
	e.moved = nil
}

// minRecordBytes is the estimate of the smallest possible record; once the
// budget is below it no record can fit.
const minRecordBytes = 11

// StartExchange records an anti-entropy exchange with peer, numbered seq, that
// is abandoned at until if no reply comes.
func (e *gossipEngine) StartExchange(peer string, seq uint64, until time.Time) {
	e.exchangePeer, e.exchangeSeq, e.exchangeEnd, e.reconciling = peer, seq, until, true
}

// Exchange returns the exchange in flight: peer and sequence number.
func (e *gossipEngine) Exchange() (peer string, seq uint64, ok bool) {
	return e.exchangePeer, e.exchangeSeq, e.reconciling
}

// ExchangeDeadline returns when the exchange in flight is abandoned if no
// reply comes, and whether one is in flight.
func (e *gossipEngine) ExchangeDeadline() (time.Time, bool) {
	return e.exchangeEnd, e.reconciling
}

// EndExchange marks the exchange numbered seq complete; it reports whether
// that exchange was in flight.
func (e *gossipEngine) EndExchange(seq uint64) bool {
	if !e.reconciling || seq != e.exchangeSeq {
		return false
	}
	e.reconciling = false
	return true
}

// Expire abandons an exchange whose time is up and reports whether it did.
func (e *gossipEngine) Expire(now time.Time) bool {
	if e.reconciling && !now.Before(e.exchangeEnd) {
		e.reconciling = false
		return true
	}
	return false
}

// State returns Reconciling while an exchange is in flight, else Diffusing
// while records are queued, else Confirmed.
func (e *gossipEngine) State() engineState {
	switch {
	case e.reconciling:
		return engineReconciling
	case len(e.queue) > 0:
		return engineDiffusing
	}
	return engineConfirmed
}

// maxDigestBuckets caps the number of anti-entropy buckets. With 128 buckets
// a digest is at most 128*9 bytes of hashes, and at 1,000 members a bucket
// holds about 8 records, so a difference costs a few records to repair.
const maxDigestBuckets = 128

// digestBuckets returns how many buckets a digest from (from, fromID) may use
// so that it fits maxBytes with a cookie: the largest power of two up to
// maxDigestBuckets.
func digestBuckets(maxBytes int, from, fromID string) int {
	for b := maxDigestBuckets; b > 1; b /= 2 {
		m := Message{Kind: MessageDigest, From: from, FromID: fromID, Seq: math.MaxUint64, Digest: make([]uint64, b), Cookie: make([]byte, cookieBytes)}
		for i := range m.Digest {
			m.Digest[i] = math.MaxUint64
		}
		if EstimateSize(m) <= maxBytes {
			return b
		}
	}
	return 1
}

// recordsPerBucket is how many records an anti-entropy bucket holds on
// average once the digest has grown to fit the table: a differing bucket
// then costs about this many records to repair.
const recordsPerBucket = 8

// bucketsFor returns the bucket count a digest of a table of size records
// uses: the smallest power of two giving at most recordsPerBucket records per
// bucket, and at most limit (digestBuckets). A digest so sized costs about one
// byte per member, so an idle exchange at 8 members is a few dozen bytes
// rather than the 128 hashes a fixed count would send, and the idle traffic
// per member stays flat as the cluster grows.
func bucketsFor(size, limit int) int {
	b := 1
	for b*recordsPerBucket < size && b < limit {
		b *= 2
	}
	return b
}

// validBucketCount reports whether n is a bucket count a peer may send: a
// power of two between 1 and maxPeerDigestBuckets.
func validBucketCount(n int) bool {
	return n >= 1 && n <= maxPeerDigestBuckets && bits.OnesCount(uint(n)) == 1
}

// digestBucket returns the bucket of authority among n (a power of two).
func digestBucket(authority string, n int) int {
	return bucketAt(placeOf(authority), n)
}

// placeOf returns the hash of authority whose low bits are its digest
// bucket (bucketAt).
func placeOf(authority string) uint64 { return mix64(stringHash(authority)) }

// bucketAt returns the bucket among n (a power of two) of an authority
// whose placeOf is place.
func bucketAt(place uint64, n int) int { return int(place & uint64(n-1)) }

// stringHash is FNV-1a of s, without allocating.
func stringHash(s string) uint64 { return fnvString(fnvOffset, s) }

// digestOf returns the bucket sums of records over n buckets.
func digestOf(records []NodeRecord, n int) []uint64 {
	d := make([]uint64, n)
	for _, r := range records {
		d[digestBucket(r.Authority, n)] += recordHash(r)
	}
	return d
}

// foldBuckets returns the sums of buckets (a power of two of them) over n
// buckets, n a power of two no larger: bucket i of n sums the buckets whose
// index is i modulo n, which hold the records a digest over n buckets puts
// in its bucket i (digestBucket keeps the low bits of one hash).
func foldBuckets(buckets []uint64, n int) []uint64 {
	out := make([]uint64, n)
	for i, sum := range buckets {
		out[i&(n-1)] += sum
	}
	return out
}

// diffBuckets returns the indexes where a and b differ (they have the same
// length).
func diffBuckets(a, b []uint64) []uint32 {
	var out []uint32
	for i := range a {
		if a[i] != b[i] {
			out = append(out, uint32(i))
		}
	}
	return out
}

// recordsInBuckets returns the records of records whose bucket among n is in
// want.
func recordsInBuckets(records []NodeRecord, n int, want []uint32) []NodeRecord {
	in := inBuckets(n, want)
	var out []NodeRecord
	for _, r := range records {
		if in(r.Authority) {
			out = append(out, r)
		}
	}
	return out
}

// inBuckets reports whether an authority's bucket among n is in want.
func inBuckets(n int, want []uint32) func(authority string) bool {
	in := wantedBuckets(n, want)
	return func(authority string) bool { return in[digestBucket(authority, n)] }
}

// wantedBuckets returns, by bucket among n, whether want names it.
func wantedBuckets(n int, want []uint32) []bool {
	in := make([]bool, n)
	for _, w := range want {
		if int(w) < n {
			in[w] = true
		}
	}
	return in
}

// packMessages splits records over as many messages as needed, each a copy of
// base with some of the records appended to its Entries, so that every one
// satisfies EstimateSize(m) <= maxBytes. The first message keeps base's Want,
// Digest and Cookie; later ones drop them. A record too large for any message on its
// own is skipped. When records is empty, packMessages returns base alone if
// withEmpty, else nothing.
func packMessages(base Message, records []NodeRecord, maxBytes int, withEmpty bool) []Message {
	return packRecords(base, len(records), func(i int) int { return EstimateRecordSize(records[i]) },
		func(i int) NodeRecord { return records[i] }, maxBytes, withEmpty, nil)
}

// packShared is packMessages over records as the table holds them: each
// message gets its own copies, and the shared copies they come from
// (Message.shared: part of records, which must not change afterwards).
func packShared(base Message, records []sharedRecord, maxBytes int, withEmpty bool) []Message {
	return packRecords(base, len(records), func(i int) int { v := records[i].Value(); return v.estimateSize() },
		func(i int) NodeRecord { v := records[i].Value(); return v.record() }, maxBytes, withEmpty, records)
}

// packRecords is packMessages over n records, the i-th of which is
// recordAt(i), of EstimateRecordSize sizeOf(i). It splits in a first pass and
// copies in a second, so that each message's Entries is allocated once, at
// its final length: a join reply or an anti-entropy answer of thousands of
// records costs their copies and nothing more.
//
// When shared is not nil, it holds the shared copy of each record, and each
// message gets those of its records as its Message.shared, without a copy.
func packRecords(base Message, n int, sizeOf func(int) int, recordAt func(int) NodeRecord, maxBytes int, withEmpty bool, shared []sharedRecord) []Message {
	// split calls put(k, i) for the i-th record, taken into message k, and
	// returns how many messages there are.
	split := func(put func(k, i int)) int {
		k, taken := 0, 0
		cur := base
		cur.Entries = nil
		size := EstimateSize(cur) + headerGrowth
		for i := range n {
			sz := sizeOf(i)
			if size+sz > maxBytes && taken > 0 {
				k, taken = k+1, 0
				cur.Entries, cur.Want, cur.Digest, cur.Cookie = nil, nil, nil, nil
				size = EstimateSize(cur) + headerGrowth
			}
			if size+sz > maxBytes {
				continue // does not fit even alone
			}
			put(k, i)
			taken++
			size += sz
		}
		if taken > 0 || (k == 0 && withEmpty) || (k == 0 && len(base.Want) > 0) {
			return k + 1
		}
		return k
	}
	var counts []int
	msgs := split(func(k, _ int) {
		for len(counts) <= k {
			counts = append(counts, 0)
		}
		counts[k]++
	})
	if msgs == 0 {
		return nil
	}
	out := make([]Message, msgs)
	for k := range out {
		out[k] = base
		out[k].Entries = nil
		if k > 0 {
			out[k].Want, out[k].Digest, out[k].Cookie = nil, nil, nil
		}
		if k < len(counts) && counts[k] > 0 {
			out[k].Entries = make([]NodeRecord, 0, counts[k])
		}
	}
	if shared == nil {
		split(func(k, i int) { out[k].Entries = append(out[k].Entries, recordAt(i)) })
		return out
	}
	// A message's records are consecutive in shared: a record skipped
	// comes before a message's first, since split moves to the next
	// message before it tries a record that does not fit.
	first := make([]int, msgs)
	split(func(k, i int) {
		if len(out[k].Entries) == 0 {
			first[k] = i
		}
		out[k].Entries = append(out[k].Entries, recordAt(i))
	})
	for k := range out {
		if m := len(out[k].Entries); m > 0 {
			out[k].shared = shared[first[k] : first[k]+m : first[k]+m]
		}
	}
	return out
}

// headerGrowth is the most the Entries array header can grow as records are
// appended (from 1 byte to 5), as EstimateRecordSize documents.
const headerGrowth = 4
