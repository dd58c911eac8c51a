package core

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// A quiet tracker (Config.NoTopologyUpdates) decides from the slots touched
// since the last update alone exactly the updates a loud one makes by
// walking the table: the same due times, through joins, status changes,
// restarts under new node IDs, deaths, leaves and pruned tombstones, this
// node's own record included.
func TestQuietTopologyDecidesAsTheWalk(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			table := newMembershipTable(tableConfig{})
			loud := newTopologyTracker(time.Second, "a0", false)
			quiet := newTopologyTracker(time.Second, "a0", true)
			now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			// Mostly active: a member that dies is often back (refuted, or
			// restarted) before the next update, which then says nothing.
			statuses := []NodeStatus{StatusUp, StatusUp, StatusUp, StatusJoining, StatusSuspect, StatusLeaving, StatusDead, StatusRemoved}
			updates, checks := 0, 0
			merge := func(r NodeRecord) {
				if _, err := table.Merge(now, r); err != nil {
					t.Fatal(err)
				}
				for _, ev := range table.DrainEvents() {
					if ev.Kind != tableConflict {
						loud.follow(ev)
						quiet.follow(ev)
					}
				}
			}
			for step := range 3000 {
				a := fmt.Sprintf("a%d", rng.IntN(24))
				r := NodeRecord{NodeID: a + "-1", Authority: a, Status: statuses[rng.IntN(len(statuses))]}
				held, ok := table.Get(a)
				if ok {
					r.NodeID, r.Incarnation = held.NodeID, held.Incarnation+1
				}
				switch k := rng.IntN(8); {
				case ok && k == 0: // a restart
					r.NodeID = fmt.Sprintf("%s-%d", a, step)
					merge(r)
				case ok && k <= 4 && held.Status.IsActive():
					// A blip: declared Dead and refuted, or restarted and
					// back under its old node ID, before the next update.
					r.Status = StatusDead
					if k == 4 {
						r.Status, r.NodeID = StatusUp, fmt.Sprintf("%s-%d", a, step)
					}
					merge(r)
					merge(NodeRecord{NodeID: held.NodeID, Authority: a, Status: StatusUp, Incarnation: r.Incarnation + 1})
				case k <= 5:
					merge(r)
				}
				if rng.IntN(4) == 0 {
					table.pruneTombstones(now, 100*time.Millisecond, func(slot int32, authority string) {
						loud.free(slot, authority)
						quiet.free(slot, authority)
					})
				}
				now = now.Add(time.Duration(rng.IntN(400)) * time.Millisecond)
				if loud.due(now) != quiet.due(now) {
					t.Fatalf("step %d: due %v loud, %v quiet", step, loud.due(now), quiet.due(now))
				}
				if !loud.due(now) {
					continue
				}
				u := loud.emit(now, table)
				if quiet.emit(now, table) != nil {
					t.Fatalf("step %d: a quiet tracker emitted an update", step)
				}
				checks++
				if u != nil {
					updates++
				}
				if loud.nextEmit != quiet.nextEmit || loud.dirty != quiet.dirty {
					t.Fatalf("step %d: update %v; next %v loud, %v quiet", step, u != nil, loud.nextEmit, quiet.nextEmit)
				}
			}
			if updates < 50 || checks-updates < 50 {
				t.Errorf("%d decisions, %d of them updates: want at least 50 of each", checks, updates)
			}
		})
	}
}
