package core

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

var allStatuses = []NodeStatus{StatusJoining, StatusUp, StatusSuspect, StatusLeaving, StatusRemoved, StatusDead}

// TestTransitionMatrix checks every from × to pair of the six statuses, at the
// current incarnation and at a higher one, against the documented table.
func TestTransitionMatrix(t *testing.T) {
	const (
		no    = "invalid"
		ok    = "ok"
		noop  = "noop"
		raise = "needs-raise" // refused at the same incarnation, allowed above
	)
	// want[from][to] at the same incarnation; at a higher incarnation every
	// cell except "invalid" is allowed (noop becomes an incarnation bump).
	J, U, S, L, R, D := StatusJoining, StatusUp, StatusSuspect, StatusLeaving, StatusRemoved, StatusDead
	want := map[NodeStatus]map[NodeStatus]string{
		J: {J: noop, U: ok, S: ok, L: ok, R: ok, D: ok},
		U: {J: no, U: noop, S: ok, L: ok, R: no, D: ok},
		S: {J: no, U: raise, S: noop, L: ok, R: no, D: ok},
		L: {J: no, U: no, S: no, L: noop, R: ok, D: ok},
		R: {J: raise, U: raise, S: no, L: no, R: noop, D: no},
		D: {J: raise, U: raise, S: no, L: no, R: no, D: noop},
	}
	now := time.Unix(1000, 0)
	const cur = 3
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			for _, inc := range []uint64{cur - 1, cur, cur + 1} {
				name := fmt.Sprintf("%s->%s@%d", from, to, inc)
				t.Run(name, func(t *testing.T) {
					tbl := newMembershipTable(tableConfig{})
					start := NodeRecord{NodeID: "n1", Authority: "a:1", Status: from, Incarnation: cur, Meta: []byte("m")}
					if err := tbl.Add(now, start); err != nil {
						t.Fatalf("Add: %v", err)
					}
					tbl.DrainEvents()
					v0 := tbl.Version()
					got, err := tbl.Transition(now, "a:1", to, inc)

					cell := want[from][to]
					var wantErr bool
					switch {
					case inc < cur, cell == no:
						wantErr = true
					case cell == raise:
						wantErr = inc == cur
					}
					if wantErr {
						var ite *invalidTransitionError
						if !errors.As(err, &ite) || !errors.Is(err, errInvalidTransition) {
							t.Fatalf("err = %v, want *InvalidTransitionError", err)
						}
						if ite.From != from || ite.To != to || ite.Authority != "a:1" {
							t.Errorf("error fields = %+v, want from %s to %s at a:1", *ite, from, to)
						}
						if tbl.Version() != v0 || len(tbl.DrainEvents()) != 0 {
							t.Errorf("a refused transition changed the table")
						}
						return
					}
					if err != nil {
						t.Fatalf("err = %v, want nil", err)
					}
					wantRec := NodeRecord{NodeID: "n1", Authority: "a:1", Status: to, Incarnation: inc, Meta: []byte("m")}
					if !got.Equal(wantRec) {
						t.Fatalf("got %+v, want %+v", got, wantRec)
					}
					if held, _ := tbl.Get("a:1"); !held.Equal(wantRec) {
						t.Fatalf("table holds %+v, want %+v", held, wantRec)
					}
					if cell == noop && inc == cur {
						if tbl.Version() != v0 || len(tbl.DrainEvents()) != 0 {
							t.Errorf("no-op transition changed version or emitted an event")
						}
						return
					}
					if tbl.Version() != v0+1 {
						t.Errorf("version = %d, want %d", tbl.Version(), v0+1)
					}
					if evs := tbl.DrainEvents(); len(evs) != 1 {
						t.Errorf("events = %d, want 1", len(evs))
					}
					// Every allowed change wins the merge everywhere else.
					if !got.Supersedes(start) {
						t.Errorf("%+v does not supersede %+v: other members would ignore it", got, start)
					}
				})
			}
		}
	}
}

func TestTransitionUnknownAuthority(t *testing.T) {
	tbl := newMembershipTable(tableConfig{})
	_, err := tbl.Transition(time.Unix(0, 0), "nowhere:1", StatusDead, 0)
	var ua *unknownAuthorityError
	if !errors.As(err, &ua) || ua.Authority != "nowhere:1" || !errors.Is(err, errUnknownAuthority) {
		t.Fatalf("err = %v, want *UnknownAuthorityError for nowhere:1", err)
	}
}

func TestTransitionToInvalidStatus(t *testing.T) {
	tbl := newMembershipTable(tableConfig{})
	now := time.Unix(0, 0)
	if err := tbl.Add(now, NodeRecord{NodeID: "n", Authority: "a:1", Status: StatusUp}); err != nil {
		t.Fatal(err)
	}
	for _, to := range []NodeStatus{0, 7, 255} {
		if _, err := tbl.Transition(now, "a:1", to, 1); !errors.Is(err, errInvalidTransition) {
			t.Errorf("to %v: err = %v, want ErrInvalidTransition", to, err)
		}
	}
}
