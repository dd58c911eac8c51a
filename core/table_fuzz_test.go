package core

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// fuzzRecords turns fuzz input into records over a small space (three
// authorities, three node IDs, every status byte from 0 to 6, four
// incarnations, three metadata values), so that collisions (the interesting
// cases for a merge) are common. Status 0 is invalid on purpose.
func fuzzRecords(data []byte) []NodeRecord {
	var out []NodeRecord
	for len(data) >= 4 {
		b := data[:4]
		data = data[4:]
		r := NodeRecord{
			Authority:   []string{"10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"}[b[0]%3],
			NodeID:      []string{"a", "b", "c"}[(b[0]/3)%3],
			Status:      NodeStatus(b[1] % 7),
			Incarnation: uint64(b[2] % 4),
		}
		switch b[3] % 3 {
		case 1:
			r.Meta = []byte("x")
		case 2:
			r.Meta = []byte("y")
		}
		out = append(out, r)
	}
	return out
}

// checkTableInvariants fails t unless the table's snapshot is sorted, holds
// only valid records, and its Hash is the sum of its records' hashes.
func checkTableInvariants(t *testing.T, tab *membershipTable) {
	t.Helper()
	snap := tab.Snapshot()
	var sum uint64
	for i, r := range snap {
		if i > 0 && snap[i-1].Authority >= r.Authority {
			t.Fatalf("snapshot not sorted: %q then %q", snap[i-1].Authority, r.Authority)
		}
		if r.NodeID == "" || r.Authority == "" || !r.Status.Valid() {
			t.Fatalf("invalid record held: %+v", r)
		}
		sum += viewHash(r)
	}
	if sum != tab.Hash() {
		t.Fatalf("Hash %x, want the sum of the records' viewHash %x", tab.Hash(), sum)
	}
	if len(snap) != tab.Len() {
		t.Fatalf("Len %d, snapshot of %d", tab.Len(), len(snap))
	}
}

// FuzzMerge checks the merge rules of membershipTable on arbitrary sequences
// of records: the held record of an authority never regresses (its
// incarnation never drops, and within an incarnation its status precedence
// never drops); invalid records change nothing; the contents do not depend
// on the order or repetition of merges; and MaxMembers bounds the table.
func FuzzMerge(f *testing.F) {
	f.Add([]byte{0, 2, 1, 0, 0, 3, 1, 0, 0, 2, 2, 0})                   // up, suspect, refuted
	f.Add([]byte{1, 6, 1, 0, 1, 2, 1, 0, 4, 2, 2, 1})                   // dead, stale up, restart
	f.Add([]byte{0, 0, 1, 0, 3, 2, 3, 2, 6, 4, 1, 1, 2, 5, 0, 0})       // invalid status, many instances
	f.Add([]byte{0, 2, 1, 1, 0, 2, 1, 2, 0, 2, 1, 0, 3, 2, 1, 0, 6, 2}) // metadata tie-breaks
	f.Fuzz(func(t *testing.T, data []byte) {
		recs := fuzzRecords(data)
		now := time.Unix(0, 0)

		a := newMembershipTable(tableConfig{MaxMetadataBytes: 8})
		for _, r := range recs {
			before, had := a.Get(r.Authority)
			version := a.Version()
			changed, err := a.Merge(now, r)
			after, _ := a.Get(r.Authority)
			switch {
			case !r.Status.Valid():
				if !errors.Is(err, ErrInvalidRecord) || changed || a.Version() != version {
					t.Fatalf("invalid %+v: changed=%v err=%v", r, changed, err)
				}
			case err != nil:
				t.Fatalf("merge %+v: %v", r, err)
			case changed != (a.Version() != version):
				t.Fatalf("merge %+v reported changed=%v, version %d -> %d", r, changed, version, a.Version())
			case changed && !after.Equal(normalized(r)):
				t.Fatalf("merge %+v changed the table but holds %+v", r, after)
			case had && changed && !r.Supersedes(before):
				t.Fatalf("%+v replaced %+v without superseding it", r, before)
			case had && !changed && r.Supersedes(before):
				t.Fatalf("%+v supersedes the held %+v but was not taken", r, before)
			}
			if had {
				if after.Incarnation < before.Incarnation {
					t.Fatalf("incarnation regressed: %+v -> %+v", before, after)
				}
				if after.Incarnation == before.Incarnation && after.Status.precedence() < before.Status.precedence() {
					t.Fatalf("status regressed within incarnation %d: %s -> %s", after.Incarnation, before.Status, after.Status)
				}
			}
			checkTableInvariants(t, a)
		}

		// Every authority holds the greatest of its valid records under
		// Supersedes, whatever the order: check against a reverse merge, a
		// rotated merge, a repeated merge, and the maximum computed directly.
		want := map[string]NodeRecord{}
		for _, r := range recs {
			if !r.Status.Valid() {
				continue
			}
			if cur, ok := want[r.Authority]; !ok || r.Supersedes(cur) {
				want[r.Authority] = normalized(r)
			}
		}
		snapA := a.Snapshot()
		if len(snapA) != len(want) {
			t.Fatalf("table holds %d records, want %d", len(snapA), len(want))
		}
		for _, r := range snapA {
			if !r.Equal(want[r.Authority]) {
				t.Fatalf("holds %+v for %s, want %+v", r, r.Authority, want[r.Authority])
			}
		}
		orders := [][]NodeRecord{slices.Clone(recs), slices.Clone(recs)}
		slices.Reverse(orders[0])
		if len(recs) > 0 {
			k := int(data[0]) % len(recs)
			orders[1] = append(slices.Clone(recs[k:]), recs[:k]...)
		}
		for _, order := range orders {
			b := newMembershipTable(tableConfig{MaxMetadataBytes: 8})
			for _, r := range order {
				_, _ = b.Merge(now, r)
			}
			if !slices.EqualFunc(snapA, b.Snapshot(), NodeRecord.Equal) || a.Hash() != b.Hash() {
				t.Fatalf("merge order changed the result:\n%+v\n%+v", snapA, b.Snapshot())
			}
		}
		version := a.Version()
		for _, r := range recs {
			if changed, _ := a.Merge(now, r); changed {
				t.Fatalf("merging %+v again changed the table", r)
			}
		}
		if a.Version() != version {
			t.Fatalf("repeated merges moved the version %d -> %d", version, a.Version())
		}

		// A bounded table never exceeds MaxMembers and refuses with
		// ErrTableFull only new authorities.
		c := newMembershipTable(tableConfig{MaxMembers: 2, MaxMetadataBytes: 8})
		for _, r := range recs {
			_, had := c.Get(r.Authority)
			_, err := c.Merge(now, r)
			if errors.Is(err, ErrTableFull) && (had || c.Len() < 2) {
				t.Fatalf("ErrTableFull for %s with %d records (held: %v)", r.Authority, c.Len(), had)
			}
			if c.Len() > 2 {
				t.Fatalf("table of MaxMembers 2 holds %d", c.Len())
			}
		}
	})
}

// normalized is r as a table stores it (empty metadata is nil).
func normalized(r NodeRecord) NodeRecord {
	if len(r.Meta) == 0 {
		r.Meta = nil
	}
	return r
}
