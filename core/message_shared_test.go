package core

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// packShared hands each message the shared copies of its records
// (Message.shared), a record too large to send skipped, and a table takes a shared copy only for the record it is a copy of: an
// entry changed after the message was built is stored as the entry says.
func TestMessageSharedCopies(t *testing.T) {
	var records []sharedRecord
	for i := range 100 {
		r := NodeRecord{NodeID: fmt.Sprintf("id%03d", i), Authority: fmt.Sprintf("10.0.0.%d:7946", i), Status: StatusUp, Incarnation: 1}
		if i == 40 {
			r.Meta = []byte(strings.Repeat("x", 2000)) // fits in no message: skipped
		}
		records = append(records, shareRecord(r))
	}
	base := Message{Kind: MessageGossip, From: "10.9.9.9:7946", FromID: "sender"}
	msgs := packShared(base, records, 1300, false)
	if len(msgs) < 3 {
		t.Fatalf("%d messages, want several", len(msgs))
	}
	sent := 0
	for k, m := range msgs {
		sent += len(m.Entries)
		if len(m.shared) != len(m.Entries) {
			t.Fatalf("message %d: %d shared copies for %d entries", k, len(m.shared), len(m.Entries))
		}
		for i, r := range m.Entries {
			if v := m.shared[i].Value(); !v.equal(r) {
				t.Fatalf("message %d, entry %d: shared copy %+v of %+v", k, i, v.record(), r)
			}
		}
	}
	if sent != len(records)-1 {
		t.Errorf("%d records sent, want %d (all but the one too large)", sent, len(records)-1)
	}

	m := msgs[0]
	m.Entries = slices.Clone(m.Entries)
	m.Entries[1].Status, m.Entries[1].Incarnation = StatusDead, 2 // changed after it was built
	table := newMembershipTable(tableConfig{})
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, r := range m.Entries {
		table.hint = m.sharedAt(i)
		if _, err := table.Merge(now, r); err != nil {
			t.Fatal(err)
		}
	}
	table.hint = sharedRecord{}
	if s, _ := table.lookup(m.Entries[0].Authority); table.slots[s] != m.shared[0] {
		t.Errorf("the first record was not stored as its shared copy")
	}
	if got, _ := table.Get(m.Entries[1].Authority); !got.Equal(m.Entries[1]) {
		t.Errorf("a changed entry was stored as %+v, want %+v", got, m.Entries[1])
	}
	if s, _ := table.lookup(m.Entries[1].Authority); table.slots[s] != shareRecord(m.Entries[1]) {
		t.Errorf("a changed entry's record is not the shared copy of what it says")
	}
}
