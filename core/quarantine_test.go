package core

import (
	"fmt"
	"testing"
	"time"
)

func TestQuarantineContains(t *testing.T) {
	base := time.Unix(0, 0)
	q := newQuarantineTable()
	q.Quarantine("a:1", 3, base.Add(time.Minute))
	tests := []struct {
		authority string
		inc       uint64
		want      bool
	}{
		{"a:1", 0, true},  // an older instance
		{"a:1", 3, true},  // the dead instance
		{"a:1", 4, false}, // restarted or refuting: a new instance
		{"b:1", 0, false}, // never quarantined
	}
	for _, tt := range tests {
		if got := q.Contains(tt.authority, tt.inc); got != tt.want {
			t.Errorf("Contains(%s, %d) = %v, want %v", tt.authority, tt.inc, got, tt.want)
		}
	}
}

func TestQuarantineKeepsMaxIncarnationAndLatestExpiry(t *testing.T) {
	base := time.Unix(0, 0)
	tests := []struct {
		name      string
		calls     []quarantineEntry
		wantInc   uint64
		wantUntil time.Duration
	}{
		{"one", []quarantineEntry{{"a:1", 2, base.Add(10 * time.Second)}}, 2, 10 * time.Second},
		{"higher incarnation, earlier expiry", []quarantineEntry{{"a:1", 2, base.Add(10 * time.Second)}, {"a:1", 5, base.Add(5 * time.Second)}}, 5, 10 * time.Second},
		{"lower incarnation, later expiry", []quarantineEntry{{"a:1", 5, base.Add(10 * time.Second)}, {"a:1", 1, base.Add(20 * time.Second)}}, 5, 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQuarantineTable()
			for _, c := range tt.calls {
				q.Quarantine(c.Authority, c.Incarnation, c.Until)
			}
			e, ok := q.Lookup("a:1")
			if !ok || e.Incarnation != tt.wantInc || !e.Until.Equal(base.Add(tt.wantUntil)) || q.Len() != 1 {
				t.Errorf("entry %+v (ok %v, len %d), want incarnation %d until +%v", e, ok, q.Len(), tt.wantInc, tt.wantUntil)
			}
		})
	}
}

func TestQuarantinePollExpired(t *testing.T) {
	base := time.Unix(0, 0)
	q := newQuarantineTable()
	q.Quarantine("c:1", 1, base.Add(10*time.Second))
	q.Quarantine("a:1", 2, base.Add(10*time.Second))
	q.Quarantine("b:1", 3, base.Add(20*time.Second))
	if _, ok := q.Lookup("zz"); ok {
		t.Errorf("Lookup of an unknown authority reported an entry")
	}
	if got, want := fmt.Sprint(q.Entries()), fmt.Sprint([]quarantineEntry{
		{"a:1", 2, base.Add(10 * time.Second)}, {"b:1", 3, base.Add(20 * time.Second)}, {"c:1", 1, base.Add(10 * time.Second)}}); got != want {
		t.Errorf("Entries = %s, want %s", got, want)
	}
	tests := []struct {
		at      time.Duration
		want    string
		wantLen int
	}{
		{9 * time.Second, "", 3},
		{10 * time.Second, "a:1 c:1", 1}, // expiry is inclusive, sorted by authority
		{15 * time.Second, "", 1},
		{time.Hour, "b:1", 0},
	}
	for _, tt := range tests {
		got := q.PollExpired(base.Add(tt.at))
		var names string
		for i, e := range got {
			if i > 0 {
				names += " "
			}
			names += e.Authority
		}
		if got == nil || names != tt.want || q.Len() != tt.wantLen {
			t.Errorf("PollExpired(+%v) = %q (len now %d), want %q (len %d)", tt.at, names, q.Len(), tt.want, tt.wantLen)
		}
	}
	if q.Contains("a:1", 0) || q.Contains("b:1", 0) {
		t.Errorf("expired entries still quarantine")
	}
}
