package core

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// sortRecords sorts records by authority.
func sortRecords(rs []NodeRecord) {
	slices.SortFunc(rs, func(a, b NodeRecord) int { return cmp.Compare(a.Authority, b.Authority) })
}

// checkTable verifies the table's internal bookkeeping: every record held is
// found through the index at its slot, the authority order lists each once,
// the tombstones' times are those of tombstones, and the hash is the sum of
// the records' viewHash.
func checkTable(t *testing.T, tbl *membershipTable) {
	t.Helper()
	order := tbl.order()
	if len(order) != tbl.Len() || tbl.index.len() != tbl.Len() {
		t.Fatalf("order has %d slots, index %d, Len %d", len(order), tbl.index.len(), tbl.Len())
	}
	if held := len(tbl.slots) - len(tbl.free); held != tbl.Len() {
		t.Fatalf("%d slots, %d free, but Len %d", len(tbl.slots), len(tbl.free), tbl.Len())
	}
	var sum uint64
	for i, s := range order {
		v := tbl.slots[s].Value()
		if got, ok := tbl.lookup(v.authority); !ok || got != s {
			t.Fatalf("index finds %s at slot %d (%v), held at %d", v.authority, got, ok, s)
		}
		if i > 0 && tbl.slots[order[i-1]].Value().authority >= v.authority {
			t.Fatalf("order entry %d (%s) is out of order", i, v.authority)
		}
		if _, buried := tbl.buried[s]; buried != v.status.IsTombstone() {
			t.Fatalf("%s (%s): tombstone time kept %v", v.authority, v.status, buried)
		}
		if v.hash != recordHash(v.record()) {
			t.Fatalf("%s: shared hash %x, recordHash %x", v.authority, v.hash, recordHash(v.record()))
		}
		sum += v.viewHash()
	}
	if len(tbl.buried) > tbl.Len() {
		t.Fatalf("%d tombstone times for %d records", len(tbl.buried), tbl.Len())
	}
	if sum != tbl.Hash() {
		t.Fatalf("Hash %x, want sum of viewHash %x", tbl.Hash(), sum)
	}
}

func rec(id, auth string, st NodeStatus, inc uint64) NodeRecord {
	return NodeRecord{NodeID: id, Authority: auth, Status: st, Incarnation: inc}
}

// describe renders records compactly for got/want messages.
func describe(rs []NodeRecord) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%s/%s@%d", r.Authority, r.NodeID, r.Status, r.Incarnation)
		if len(r.Meta) > 0 {
			fmt.Fprintf(&b, "[%s]", r.Meta)
		}
	}
	return b.String()
}

func describeEvents(evs []tableEvent) string {
	var parts []string
	for _, e := range evs {
		s := e.Kind.String() + ":" + describe([]NodeRecord{e.Record})
		if e.HadPrevious {
			s += "<-" + describe([]NodeRecord{e.Previous})
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// randomRecord draws from a small space so that collisions are frequent: few
// authorities, several node IDs, incarnations 0-3, every status, some meta.
func randomRecord(r *rand.Rand) NodeRecord {
	metas := [][]byte{nil, {}, []byte("x"), []byte("yy")}
	return NodeRecord{
		NodeID:      []string{"n1", "n2", "n3"}[r.IntN(3)],
		Authority:   []string{"a:1", "b:1", "c:1"}[r.IntN(3)],
		Status:      allStatuses[r.IntN(len(allStatuses))],
		Incarnation: uint64(r.IntN(4)),
		Meta:        slices.Clone(metas[r.IntN(len(metas))]),
	}
}

// TestMergeOrderIndependent applies random record sets in random orders, with
// repetitions, and checks that every order gives the same table, that the
// table holds the Supersedes-maximum per authority, and that the held record
// never regresses (lower incarnation, or lower status precedence within an
// incarnation).
func TestMergeOrderIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 11))
	now := time.Unix(0, 0)
	const cases = 12000
	for c := range cases {
		n := 1 + r.IntN(10)
		recs := make([]NodeRecord, n)
		for i := range recs {
			recs[i] = randomRecord(r)
		}
		// Reference: the Supersedes-maximum per authority.
		want := map[string]NodeRecord{}
		for _, x := range recs {
			if cur, ok := want[x.Authority]; !ok || x.Supersedes(cur) {
				want[x.Authority] = x
			}
		}
		var wantSnap []NodeRecord
		for _, x := range want {
			x = x.Clone()
			if len(x.Meta) == 0 {
				x.Meta = nil
			}
			wantSnap = append(wantSnap, x)
		}
		sortRecords(wantSnap)

		var first []NodeRecord
		var firstHash uint64
		for order := range 3 {
			seq := slices.Clone(recs)
			for range r.IntN(n + 1) { // repetitions
				seq = append(seq, recs[r.IntN(n)])
			}
			r.Shuffle(len(seq), func(i, j int) { seq[i], seq[j] = seq[j], seq[i] })

			tbl := newMembershipTable(tableConfig{MaxMembers: 10, MaxMetadataBytes: 8})
			for _, x := range seq {
				before, had := tbl.Get(x.Authority)
				v := tbl.Version()
				changed, err := tbl.Merge(now, x)
				if err != nil {
					t.Fatalf("case %d: Merge(%s): %v", c, describe([]NodeRecord{x}), err)
				}
				after, _ := tbl.Get(x.Authority)
				if changed != (tbl.Version() == v+1) || (!changed && tbl.Version() != v) {
					t.Fatalf("case %d: changed=%v but version %d -> %d", c, changed, v, tbl.Version())
				}
				if had {
					if after.Incarnation < before.Incarnation ||
						(after.Incarnation == before.Incarnation && after.Status.precedence() < before.Status.precedence()) {
						t.Fatalf("case %d: merge of %s regressed %s to %s", c,
							describe([]NodeRecord{x}), describe([]NodeRecord{before}), describe([]NodeRecord{after}))
					}
				}
			}
			checkTable(t, tbl)
			snap := tbl.Snapshot()
			if !reflect.DeepEqual(snap, wantSnap) {
				t.Fatalf("case %d order %d: got  %s\nwant %s\ninput %s", c, order, describe(snap), describe(wantSnap), describe(seq))
			}
			if order == 0 {
				first, firstHash = snap, tbl.Hash()
				continue
			}
			if !reflect.DeepEqual(snap, first) || tbl.Hash() != firstHash {
				t.Fatalf("case %d: order %d gave %s (hash %x), order 0 gave %s (hash %x)",
					c, order, describe(snap), tbl.Hash(), describe(first), firstHash)
			}
		}
	}
}

func TestMergeBasics(t *testing.T) {
	now := time.Unix(100, 0)
	tests := []struct {
		name        string
		held        []NodeRecord
		in          NodeRecord
		wantChanged bool
		wantHeld    NodeRecord
		wantEvent   string
	}{
		{"new authority", nil, rec("n1", "a:1", StatusUp, 0), true, rec("n1", "a:1", StatusUp, 0), "joined:a:1=n1/up@0"},
		{"equal record", []NodeRecord{rec("n1", "a:1", StatusUp, 0)}, rec("n1", "a:1", StatusUp, 0), false, rec("n1", "a:1", StatusUp, 0), ""},
		{"stronger status", []NodeRecord{rec("n1", "a:1", StatusUp, 0)}, rec("n1", "a:1", StatusSuspect, 0), true, rec("n1", "a:1", StatusSuspect, 0),
			"suspect:a:1=n1/suspect@0<-a:1=n1/up@0"},
		{"weaker status ignored", []NodeRecord{rec("n1", "a:1", StatusSuspect, 2)}, rec("n1", "a:1", StatusUp, 2), false, rec("n1", "a:1", StatusSuspect, 2), ""},
		{"refutation", []NodeRecord{rec("n1", "a:1", StatusSuspect, 2)}, rec("n1", "a:1", StatusUp, 3), true, rec("n1", "a:1", StatusUp, 3),
			"up:a:1=n1/up@3<-a:1=n1/suspect@2"},
		{"lower incarnation ignored", []NodeRecord{rec("n1", "a:1", StatusUp, 3)}, rec("n1", "a:1", StatusDead, 2), false, rec("n1", "a:1", StatusUp, 3), ""},
		{"gossip may skip steps", []NodeRecord{rec("n1", "a:1", StatusJoining, 0)}, rec("n1", "a:1", StatusRemoved, 0), true, rec("n1", "a:1", StatusRemoved, 0),
			"left:a:1=n1/removed@0<-a:1=n1/joining@0"},
		{"dead beats removed", []NodeRecord{rec("n1", "a:1", StatusRemoved, 0)}, rec("n1", "a:1", StatusDead, 0), true, rec("n1", "a:1", StatusDead, 0),
			"dead:a:1=n1/dead@0<-a:1=n1/removed@0"},
		{"rejoin after dead", []NodeRecord{rec("n1", "a:1", StatusDead, 1)}, rec("n1", "a:1", StatusJoining, 2), true, rec("n1", "a:1", StatusJoining, 2),
			"joined:a:1=n1/joining@2<-a:1=n1/dead@1"},
		{"restart replaces the old instance", []NodeRecord{rec("old", "a:1", StatusUp, 4)}, rec("new", "a:1", StatusUp, 5), true, rec("new", "a:1", StatusUp, 5),
			"joined:a:1=new/up@5<-a:1=old/up@4"},
		{"stale instance is a conflict", []NodeRecord{rec("new", "a:1", StatusUp, 5)}, rec("old", "a:1", StatusUp, 4), false, rec("new", "a:1", StatusUp, 5),
			"conflict:a:1=old/up@4<-a:1=new/up@5"},
		{"stale tombstone of another instance is no conflict", []NodeRecord{rec("new", "a:1", StatusUp, 5)}, rec("old", "a:1", StatusDead, 4), false,
			rec("new", "a:1", StatusUp, 5), ""},
		{"equal incarnation: greater node ID wins", []NodeRecord{rec("n1", "a:1", StatusUp, 1)}, rec("n2", "a:1", StatusUp, 1), true, rec("n2", "a:1", StatusUp, 1),
			"joined:a:1=n2/up@1<-a:1=n1/up@1"},
		{"dead of a never-seen authority is kept", nil, rec("n1", "a:1", StatusDead, 3), true, rec("n1", "a:1", StatusDead, 3), "dead:a:1=n1/dead@3"},
		{"same status, new meta at higher incarnation", []NodeRecord{rec("n1", "a:1", StatusUp, 1)},
			NodeRecord{NodeID: "n1", Authority: "a:1", Status: StatusUp, Incarnation: 2, Meta: []byte("v2")}, true,
			NodeRecord{NodeID: "n1", Authority: "a:1", Status: StatusUp, Incarnation: 2, Meta: []byte("v2")}, "updated:a:1=n1/up@2[v2]<-a:1=n1/up@1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := newMembershipTable(tableConfig{})
			for _, h := range tt.held {
				if _, err := tbl.Merge(now, h); err != nil {
					t.Fatal(err)
				}
			}
			tbl.DrainEvents()
			changed, err := tbl.Merge(now, tt.in)
			if err != nil || changed != tt.wantChanged {
				t.Fatalf("Merge = %v, %v; want %v, nil", changed, err, tt.wantChanged)
			}
			if got, _ := tbl.Get(tt.in.Authority); !got.Equal(tt.wantHeld) {
				t.Errorf("held %s, want %s", describe([]NodeRecord{got}), describe([]NodeRecord{tt.wantHeld}))
			}
			if got := describeEvents(tbl.DrainEvents()); got != tt.wantEvent {
				t.Errorf("events %q, want %q", got, tt.wantEvent)
			}
		})
	}
}

func TestMergeRejects(t *testing.T) {
	now := time.Unix(0, 0)
	q := newQuarantineTable()
	q.Quarantine("q:1", 3, now.Add(time.Minute))
	tbl := newMembershipTable(tableConfig{MaxMembers: 2, MaxMetadataBytes: 4, Quarantine: q})
	if _, err := tbl.Merge(now, rec("n1", "a:1", StatusUp, 0)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   NodeRecord
		want error
	}{
		{"empty node ID", rec("", "b:1", StatusUp, 0), ErrInvalidRecord},
		{"empty authority", rec("n2", "", StatusUp, 0), ErrInvalidRecord},
		{"status 0", rec("n2", "b:1", 0, 0), ErrInvalidRecord},
		{"status 7", rec("n2", "b:1", 7, 0), ErrInvalidRecord},
		{"meta too big", NodeRecord{NodeID: "n2", Authority: "b:1", Status: StatusUp, Meta: []byte("12345")}, ErrInvalidRecord},
		{"quarantined instance", rec("n9", "q:1", StatusUp, 3), ErrQuarantined},
		{"quarantined older instance", rec("n9", "q:1", StatusJoining, 1), ErrQuarantined},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tbl.Version()
			changed, err := tbl.Merge(now, tt.in)
			if changed || !errors.Is(err, tt.want) {
				t.Fatalf("Merge = %v, %v; want false, %v", changed, err, tt.want)
			}
			if tbl.Version() != v || tbl.Len() != 1 {
				t.Errorf("a refused record changed the table")
			}
		})
	}
	// Meta at the limit passes; a full table refuses new authorities only.
	if _, err := tbl.Merge(now, NodeRecord{NodeID: "n2", Authority: "b:1", Status: StatusUp, Meta: []byte("1234")}); err != nil {
		t.Fatalf("meta at the limit: %v", err)
	}
	if _, err := tbl.Merge(now, rec("n3", "c:1", StatusUp, 0)); !errors.Is(err, ErrTableFull) {
		t.Errorf("third authority in a table of 2: err = %v, want ErrTableFull", err)
	}
	if err := tbl.Add(now, rec("n3", "c:1", StatusUp, 0)); !errors.Is(err, ErrTableFull) {
		t.Errorf("Add to a full table: err = %v, want ErrTableFull", err)
	}
	if changed, err := tbl.Merge(now, rec("n1", "a:1", StatusSuspect, 0)); !changed || err != nil {
		t.Errorf("update of a known authority in a full table = %v, %v; want true, nil", changed, err)
	}
}

// TestRestartAndQuarantine: quarantine blocks a stale instance, not a restart.
func TestRestartAndQuarantine(t *testing.T) {
	now := time.Unix(0, 0)
	q := newQuarantineTable()
	tbl := newMembershipTable(tableConfig{Quarantine: q})
	mustMerge := func(r NodeRecord) {
		t.Helper()
		if changed, err := tbl.Merge(now, r); err != nil || !changed {
			t.Fatalf("Merge(%s) = %v, %v", describe([]NodeRecord{r}), changed, err)
		}
	}
	mustMerge(rec("old", "a:1", StatusUp, 2))
	if _, err := tbl.Transition(now, "a:1", StatusDead, 2); err != nil {
		t.Fatal(err)
	}
	q.Quarantine("a:1", 2, now.Add(time.Minute))

	// The dead instance (or an older one) comes back: refused.
	for _, stale := range []NodeRecord{rec("old", "a:1", StatusUp, 2), rec("old", "a:1", StatusJoining, 1), rec("other", "a:1", StatusUp, 2)} {
		_, err := tbl.Merge(now, stale)
		var qe *QuarantinedError
		if !errors.As(err, &qe) || qe.Authority != "a:1" || qe.Incarnation != 2 {
			t.Errorf("Merge(%s): err = %v, want *QuarantinedError{a:1, 2}", describe([]NodeRecord{stale}), err)
		}
		if err := tbl.Add(now, stale); !errors.As(err, &qe) {
			t.Errorf("Add(%s): err = %v, want *QuarantinedError", describe([]NodeRecord{stale}), err)
		}
	}
	// Tombstones of the quarantined instance still merge (death spreads).
	if _, err := tbl.Merge(now, rec("old", "a:1", StatusDead, 2)); err != nil {
		t.Errorf("tombstone of a quarantined instance: %v", err)
	}
	// A restart with a new node ID and a higher incarnation replaces it.
	tbl.DrainEvents()
	mustMerge(rec("new", "a:1", StatusJoining, 3))
	if got, _ := tbl.Get("a:1"); !got.Equal(rec("new", "a:1", StatusJoining, 3)) {
		t.Errorf("held %s after restart", describe([]NodeRecord{got}))
	}
	if got, want := describeEvents(tbl.DrainEvents()), "joined:a:1=new/joining@3<-a:1=old/dead@2"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	// The same node refuting its death after a partition (same ID, higher
	// incarnation) also passes.
	tbl2 := newMembershipTable(tableConfig{Quarantine: q})
	if _, err := tbl2.Merge(now, rec("old", "a:1", StatusDead, 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := tbl2.Transition(now, "a:1", StatusUp, 3); err != nil {
		t.Errorf("refutation at a higher incarnation: %v", err)
	}
	if _, err := tbl2.Transition(now, "a:1", StatusUp, 2); err == nil {
		t.Errorf("transition below the current incarnation succeeded")
	}
	// Quarantine expiry lifts the block.
	q.PollExpired(now.Add(time.Minute))
	tbl3 := newMembershipTable(tableConfig{Quarantine: q})
	if err := tbl3.Add(now, rec("old", "a:1", StatusUp, 2)); err != nil {
		t.Errorf("after expiry: %v", err)
	}
}

func TestTransitionQuarantined(t *testing.T) {
	now := time.Unix(0, 0)
	q := newQuarantineTable()
	tbl := newMembershipTable(tableConfig{Quarantine: q})
	if err := tbl.Add(now, rec("n", "a:1", StatusDead, 2)); err != nil {
		t.Fatal(err)
	}
	q.Quarantine("a:1", 3, now.Add(time.Minute))
	if _, err := tbl.Transition(now, "a:1", StatusUp, 3); !errors.Is(err, ErrQuarantined) {
		t.Errorf("rejoin at a quarantined incarnation: err = %v, want ErrQuarantined", err)
	}
	if _, err := tbl.Transition(now, "a:1", StatusUp, 4); err != nil {
		t.Errorf("rejoin above the quarantined incarnation: %v", err)
	}
}

func TestAdd(t *testing.T) {
	now := time.Unix(0, 0)
	tests := []struct {
		name    string
		held    NodeRecord
		in      NodeRecord
		wantErr error
		wantAs  any
	}{
		{"active, other node", rec("n1", "a:1", StatusUp, 0), rec("n2", "a:1", StatusJoining, 9), errAuthorityConflict, new(*authorityConflictError)},
		{"suspect, other node", rec("n1", "a:1", StatusSuspect, 0), rec("n2", "a:1", StatusJoining, 9), errAuthorityConflict, new(*authorityConflictError)},
		{"active, same node, different record", rec("n1", "a:1", StatusUp, 0), rec("n1", "a:1", StatusJoining, 0), errInvalidTransition, new(*invalidTransitionError)},
		{"active, same record", rec("n1", "a:1", StatusUp, 0), rec("n1", "a:1", StatusUp, 0), nil, nil},
		{"tombstone, not superseded", rec("n1", "a:1", StatusDead, 2), rec("n2", "a:1", StatusJoining, 2), errInvalidTransition, new(*invalidTransitionError)},
		{"tombstone, rejoin with higher incarnation", rec("n1", "a:1", StatusDead, 2), rec("n2", "a:1", StatusJoining, 3), nil, nil},
		{"removed, same node rejoins", rec("n1", "a:1", StatusRemoved, 2), rec("n1", "a:1", StatusUp, 3), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := newMembershipTable(tableConfig{})
			if err := tbl.Add(now, tt.held); err != nil {
				t.Fatal(err)
			}
			err := tbl.Add(now, tt.in)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantAs != nil && !errors.As(err, tt.wantAs) {
				t.Errorf("err = %v (%T), want %T", err, err, tt.wantAs)
			}
			got, _ := tbl.Get("a:1")
			want := tt.held
			if err == nil {
				want = tt.in
			}
			if !got.Equal(want) {
				t.Errorf("held %s, want %s", describe([]NodeRecord{got}), describe([]NodeRecord{want}))
			}
		})
	}
	var ace *authorityConflictError
	tbl := newMembershipTable(tableConfig{})
	_ = tbl.Add(now, rec("n1", "a:1", StatusUp, 0))
	if err := tbl.Add(now, rec("n2", "a:1", StatusUp, 0)); !errors.As(err, &ace) || ace.ExistingID != "n1" || ace.IncomingID != "n2" || ace.Authority != "a:1" {
		t.Errorf("conflict error = %v, want held by n1, got n2 at a:1", err)
	}
}

func TestVersionSnapshot(t *testing.T) {
	now := time.Unix(0, 0)
	tbl := newMembershipTable(tableConfig{})
	if tbl.Version() != 0 || tbl.Len() != 0 || tbl.Hash() != 0 {
		t.Fatalf("new table: version %d len %d hash %x, want 0 0 0", tbl.Version(), tbl.Len(), tbl.Hash())
	}
	if s := tbl.Snapshot(); s == nil || len(s) != 0 {
		t.Fatalf("empty Snapshot = %+v", s)
	}
	steps := []NodeRecord{
		rec("c", "c:1", StatusUp, 0),      // v1
		rec("a", "a:1", StatusJoining, 0), // v2
		rec("b", "b:1", StatusUp, 0),      // v3
		rec("a", "a:1", StatusUp, 0),      // v4
		rec("c", "c:1", StatusDead, 0),    // v5
	}
	for _, s := range steps {
		if _, err := tbl.Merge(now, s); err != nil {
			t.Fatal(err)
		}
	}
	if tbl.Version() != 5 {
		t.Errorf("version %d after 5 changes", tbl.Version())
	}
	if got, want := describe(tbl.Snapshot()), "a:1=a/up@0 b:1=b/up@0 c:1=c/dead@0"; got != want {
		t.Errorf("Snapshot = %s, want %s", got, want)
	}
	if got, want := describe(tbl.Active()), "a:1=a/up@0 b:1=b/up@0"; got != want {
		t.Errorf("Active = %s, want %s", got, want)
	}

	// A replica that merges the snapshot converges: same snapshot and hash.
	replica := newMembershipTable(tableConfig{})
	for _, r := range tbl.Snapshot() {
		if _, err := replica.Merge(now, r); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(replica.Snapshot(), tbl.Snapshot()) || replica.Hash() != tbl.Hash() {
		t.Errorf("replica %s (hash %x) differs from %s (hash %x)", describe(replica.Snapshot()), replica.Hash(), describe(tbl.Snapshot()), tbl.Hash())
	}

	// Copies: mutating what the table returned changes nothing inside.
	_, _ = tbl.Merge(now, NodeRecord{NodeID: "m", Authority: "m:1", Status: StatusUp, Meta: []byte("abc")})
	got, _ := tbl.Get("m:1")
	got.Meta[0] = 'X'
	tbl.Snapshot()[3].Meta[1] = 'X'
	tbl.Active()[2].Meta[2] = 'X'
	if again, _ := tbl.Get("m:1"); string(again.Meta) != "abc" {
		t.Errorf("table metadata changed through a returned copy: %q", again.Meta)
	}
}

func TestHashMatchesContents(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	now := time.Unix(0, 0)
	tbl := newMembershipTable(tableConfig{})
	for i := range 2000 {
		_, _ = tbl.Merge(now.Add(time.Duration(i)*time.Second), randomRecord(r))
		if i%50 == 0 {
			tbl.PruneTombstones(now.Add(time.Duration(i)*time.Second), 100*time.Second)
		}
		checkTable(t, tbl)
	}
	a, b := rec("n", "a:1", StatusUp, 0), rec("n", "a:1", StatusUp, 0)
	b.Meta = []byte{}
	if recordHash(a) != recordHash(b) {
		t.Errorf("nil and empty meta hash differently")
	}
	for _, c := range []NodeRecord{rec("m", "a:1", StatusUp, 0), rec("n", "a:2", StatusUp, 0), rec("n", "a:1", StatusSuspect, 0), rec("n", "a:1", StatusUp, 1),
		{NodeID: "n", Authority: "a:1", Status: StatusUp, Meta: []byte("x")}, rec("na", ":1", StatusUp, 0)} {
		if recordHash(c) == recordHash(a) {
			t.Errorf("%s hashes like %s", describe([]NodeRecord{c}), describe([]NodeRecord{a}))
		}
	}
}

func TestPruneTombstones(t *testing.T) {
	base := time.Unix(1000, 0)
	tbl := newMembershipTable(tableConfig{})
	_ = tbl.Add(base, rec("a", "a:1", StatusUp, 0))
	_ = tbl.Add(base, rec("b", "b:1", StatusUp, 0))
	_ = tbl.Add(base, rec("c", "c:1", StatusLeaving, 0))
	_, _ = tbl.Transition(base.Add(10*time.Second), "b:1", StatusDead, 0)
	_, _ = tbl.Transition(base.Add(20*time.Second), "c:1", StatusRemoved, 0)
	tbl.DrainEvents()
	v := tbl.Version() // 5

	tests := []struct {
		at      time.Duration
		dropped string
		left    string
	}{
		{69 * time.Second, "", "a:1=a/up@0 b:1=b/dead@0 c:1=c/removed@0"},
		{70 * time.Second, "b:1=b/dead@0", "a:1=a/up@0 c:1=c/removed@0"},
		{75 * time.Second, "", "a:1=a/up@0 c:1=c/removed@0"},
		{90 * time.Second, "c:1=c/removed@0", "a:1=a/up@0"},
		{time.Hour, "", "a:1=a/up@0"},
	}
	for _, tt := range tests {
		got := tbl.PruneTombstones(base.Add(tt.at), time.Minute)
		if got == nil || describe(got) != tt.dropped || describe(tbl.Snapshot()) != tt.left {
			t.Errorf("prune at +%v: dropped %s, left %s; want %s, %s", tt.at, describe(got), describe(tbl.Snapshot()), tt.dropped, tt.left)
		}
	}
	checkTable(t, tbl)
	if tbl.Version() != v+2 || tbl.Len() != 1 {
		t.Errorf("version %d len %d, want %d 1", tbl.Version(), tbl.Len(), v+2)
	}
	if evs := tbl.DrainEvents(); len(evs) != 0 {
		t.Errorf("pruning emitted %s", describeEvents(evs))
	}
	// A pruned authority can be learnt again (late gossip is the quarantine's
	// job, which outlives no tombstone: TombstoneRetention >= QuarantineTTL).
	if changed, err := tbl.Merge(base, rec("b", "b:1", StatusUp, 1)); !changed || err != nil {
		t.Errorf("merge after prune = %v, %v", changed, err)
	}
}

func TestDrainEvents(t *testing.T) {
	now := time.Unix(0, 0)
	tbl := newMembershipTable(tableConfig{})
	if evs := tbl.DrainEvents(); evs == nil || len(evs) != 0 {
		t.Fatalf("new table events = %#v, want empty non-nil", evs)
	}
	_ = tbl.Add(now, rec("a", "a:1", StatusJoining, 0))
	_, _ = tbl.Transition(now, "a:1", StatusUp, 0)
	_, _ = tbl.Transition(now, "a:1", StatusSuspect, 0)
	_, _ = tbl.Transition(now, "a:1", StatusUp, 1)
	_, _ = tbl.Transition(now, "a:1", StatusUp, 2)
	_, _ = tbl.Transition(now, "a:1", StatusLeaving, 2)
	_, _ = tbl.Transition(now, "a:1", StatusRemoved, 2)
	_, _ = tbl.Transition(now, "a:1", StatusUp, 3)
	_, _ = tbl.Transition(now, "a:1", StatusDead, 3)
	_, _ = tbl.Transition(now, "a:1", StatusJoining, 4)
	var kinds []string
	for _, e := range tbl.DrainEvents() {
		kinds = append(kinds, e.Kind.String())
	}
	want := "joined up suspect up updated leaving left joined dead joined"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	if evs := tbl.DrainEvents(); evs == nil || len(evs) != 0 {
		t.Errorf("second drain = %d events, want empty non-nil", len(evs))
	}
}

func TestTableEventKindString(t *testing.T) {
	want := map[tableEventKind]string{tableJoined: "joined", tableUp: "up", tableSuspect: "suspect", tableLeaving: "leaving",
		tableLeft: "left", tableDead: "dead", tableUpdated: "updated", tableConflict: "conflict", 0: "table-event(0)"}
	for k, w := range want {
		if got := k.String(); got != w {
			t.Errorf("%d.String() = %q, want %q", k, got, w)
		}
	}
}

func TestTableConfigFrom(t *testing.T) {
	c := DefaultLANConfig()
	q := newQuarantineTable()
	got := tableConfigFrom(c, q)
	if got.MaxMembers != c.MaxMembers || got.MaxMetadataBytes != c.MaxMetadataBytes || got.Quarantine != q {
		t.Errorf("TableConfigFrom = %+v", got)
	}
}

// benchTable returns a table of n Up members.
func benchTable(n int) *membershipTable {
	tbl := newMembershipTable(tableConfig{})
	for i := range n {
		_ = tbl.Add(time.Unix(0, 0), rec(fmt.Sprintf("n%d", i), fmt.Sprintf("10.0.%d.%d:7946", i/256, i%256), StatusUp, 0))
	}
	tbl.DrainEvents()
	return tbl
}

func BenchmarkTableMerge10k(b *testing.B) {
	tbl := benchTable(10000)
	now := time.Unix(0, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		j := i % 10000
		_, _ = tbl.Merge(now, rec(fmt.Sprintf("n%d", j), fmt.Sprintf("10.0.%d.%d:7946", j/256, j%256), StatusUp, uint64(i/10000+1)))
		if i%1024 == 0 {
			tbl.DrainEvents()
		}
	}
}

func BenchmarkTableSnapshot10k(b *testing.B) {
	tbl := benchTable(10000)
	b.ReportAllocs()
	for b.Loop() {
		_ = tbl.Snapshot()
	}
}

// Gossip about one member arrives from several peers, out of order and
// repeated. Each record is merged on its own: the higher incarnation wins, and
// at equal incarnation the stronger status. Whatever the order, every member
// ends up with the same table. (Formerly ExampleMembershipTable_Merge.)
func TestMergeOfOutOfOrderGossip(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	table := newMembershipTable(tableConfig{MaxMembers: 100, MaxMetadataBytes: 64})

	gossip := []NodeRecord{
		{NodeID: "b-7f3a", Authority: "10.0.0.2:7946", Status: StatusUp, Incarnation: 4},
		{NodeID: "a-19c2", Authority: "10.0.0.1:7946", Status: StatusUp, Incarnation: 1, Meta: []byte("zone=a")},
		{NodeID: "b-7f3a", Authority: "10.0.0.2:7946", Status: StatusSuspect, Incarnation: 4}, // a monitor suspects b
		{NodeID: "b-7f3a", Authority: "10.0.0.2:7946", Status: StatusUp, Incarnation: 5},      // b refutes
		{NodeID: "b-7f3a", Authority: "10.0.0.2:7946", Status: StatusSuspect, Incarnation: 4}, // late, stale
	}
	var out strings.Builder
	for _, r := range gossip {
		changed, err := table.Merge(now, r)
		fmt.Fprintf(&out, "merge %s %s@%d: changed=%v err=%v\n", r.Authority, r.Status, r.Incarnation, changed, err)
	}
	for _, ev := range table.DrainEvents() {
		fmt.Fprintf(&out, "event %s %s (%s@%d)\n", ev.Kind, ev.Record.Authority, ev.Record.Status, ev.Record.Incarnation)
	}
	for _, r := range table.Snapshot() {
		fmt.Fprintf(&out, "member %s %s %s@%d %q\n", r.Authority, r.NodeID, r.Status, r.Incarnation, r.Meta)
	}
	fmt.Fprintln(&out, "version", table.Version())
	want := `merge 10.0.0.2:7946 up@4: changed=true err=<nil>
merge 10.0.0.1:7946 up@1: changed=true err=<nil>
merge 10.0.0.2:7946 suspect@4: changed=true err=<nil>
merge 10.0.0.2:7946 up@5: changed=true err=<nil>
merge 10.0.0.2:7946 suspect@4: changed=false err=<nil>
event joined 10.0.0.2:7946 (up@4)
event joined 10.0.0.1:7946 (up@1)
event suspect 10.0.0.2:7946 (suspect@4)
event up 10.0.0.2:7946 (up@5)
member 10.0.0.1:7946 a-19c2 up@1 "zone=a"
member 10.0.0.2:7946 b-7f3a up@5 ""
version 4
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

// The table's digest and bucket selection read the records it holds as
// digestOf and recordsInBuckets read a Snapshot, tombstones included.
func TestTableDigestMatchesSnapshot(t *testing.T) {
	tbl := newMembershipTable(tableConfig{})
	now := time.Unix(0, 0)
	for i := range 300 {
		r := NodeRecord{NodeID: fmt.Sprintf("n%d", i), Authority: fmt.Sprintf("10.0.%d.%d:7946", i/256, i%256), Status: StatusUp, Meta: []byte{byte(i)}}
		if i%7 == 0 {
			r.Status = StatusDead
		}
		if _, err := tbl.Merge(now, r); err != nil {
			t.Fatal(err)
		}
	}
	snap := tbl.Snapshot()
	for _, n := range []int{1, 8, 128} {
		if got, want := tbl.digest(n), digestOf(snap, n); !slices.Equal(got, want) {
			t.Errorf("digest(%d) = %v, want %v", n, got, want)
		}
		want := []uint32{0, uint32(n / 2), uint32(n - 1), uint32(n + 5)}
		got, ref := tbl.sharedInBuckets(n, want), recordsInBuckets(snap, n, want)
		if len(got) != len(ref) || !slices.EqualFunc(got, ref, func(s sharedRecord, r NodeRecord) bool { v := s.Value(); return v.equal(r) }) {
			t.Errorf("sharedInBuckets(%d, %v): %d records, want %d", n, want, len(got), len(ref))
		}
	}
}
