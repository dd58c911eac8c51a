package sim

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// eventReplay follows one coordinator's member events and rebuilds its view
// from them alone: a record per authority, as a subscriber would keep it.
type eventReplay struct {
	view map[string]core.NodeRecord
	errs []string
	seen *replayCounts
}

// replayCounts counts the kinds of events a run produced, so that the test
// shows it met each of them.
type replayCounts struct {
	events, updates, replaced, backFromTombstone int
}

// apply checks that ev follows from the view so far (From is the status
// held for the same instance, or 0 for an instance new at its authority,
// which may only replace a tombstone) and applies it.
func (r *eventReplay) apply(ev core.MemberEvent) {
	if ev.Conflict {
		return // a conflict changes nothing in the table
	}
	rec := ev.Record
	prev, had := r.view[rec.Authority]
	r.seen.events++
	switch {
	case ev.Replaced:
		r.seen.replaced++
	case ev.From == ev.To:
		r.seen.updates++
	case ev.From.IsTombstone() && ev.To.IsActive():
		r.seen.backFromTombstone++
	}
	switch {
	case ev.To != rec.Status:
		r.errs = append(r.errs, fmt.Sprintf("%v: To is not the record's status", ev))
	case had && prev.NodeID == rec.NodeID && ev.From != prev.Status:
		r.errs = append(r.errs, fmt.Sprintf("%v: From should be %s, the status held for that instance", ev, prev.Status))
	case (!had || prev.NodeID != rec.NodeID) && ev.From != 0:
		r.errs = append(r.errs, fmt.Sprintf("%v: From should be 0 for an instance new at %s", ev, rec.Authority))
	case had && prev.NodeID != rec.NodeID && prev.Status.IsActive():
		r.errs = append(r.errs, fmt.Sprintf("%v: replaces instance %s, still %s, with no event saying it is gone", ev, prev.NodeID, prev.Status))
	case had && prev.NodeID == rec.NodeID && ev.From == ev.To && bytes.Equal(prev.Meta, rec.Meta):
		r.errs = append(r.errs, fmt.Sprintf("%v: an update event that changes nothing", ev))
	}
	r.view[rec.Authority] = rec
}

// compare returns how the replayed view differs from the table: every
// record held must be there with the same instance, status and metadata;
// a replayed record missing from the table must be a pruned tombstone,
// which the replay then forgets as well (pruning emits no event).
func (r *eventReplay) compare(table []core.NodeRecord) []string {
	var out []string
	held := map[string]bool{}
	for _, t := range table {
		held[t.Authority] = true
		got, ok := r.view[t.Authority]
		if !ok || got.NodeID != t.NodeID || got.Status != t.Status || !bytes.Equal(got.Meta, t.Meta) {
			out = append(out, fmt.Sprintf("table holds %s %s %s meta %q; replay gives %s %s meta %q (found %v)",
				t.Authority, t.NodeID, t.Status, t.Meta, got.NodeID, got.Status, got.Meta, ok))
		}
	}
	for a, got := range r.view {
		switch {
		case held[a]:
		case got.Status.IsTombstone():
			delete(r.view, a)
		default:
			out = append(out, fmt.Sprintf("replay holds %s %s %s, which the table does not hold", a, got.NodeID, got.Status))
		}
	}
	return out
}

// Every change of who is in the cluster is exactly one member event with the
// right From and To: under a random sequence of joins, crashes, restarts
// (under a new node ID and under the same one), leaves, metadata changes,
// partitions, pauses and loss, replaying each node's events rebuilds its
// table at every step.
func TestReplayingEventsRebuildsEachView(t *testing.T) {
	var seen replayCounts
	for _, seed := range []uint64{1, 2, 3, 4} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { replayRun(t, seed, &seen) })
	}
	t.Logf("%+v", seen)
	if seen.updates == 0 || seen.replaced == 0 || seen.backFromTombstone == 0 {
		t.Errorf("the runs did not produce every kind of event: %+v", seen)
	}
}

func replayRun(t *testing.T, seed uint64, seen *replayCounts) {
	const slots = 12
	replays := map[*core.MembershipCoordinator]*eventReplay{}
	var c *Cluster
	o := Options{Nodes: slots, Seed: seed, Config: core.DefaultLocalConfig()}
	o.Config.TombstoneRetention = 10 * time.Second // prune within the run
	o.Config.QuarantineTTL = 5 * time.Second
	// After every call to a coordinator, its events so far must rebuild its
	// table.
	o.OnOutcome = func(node int, out core.Outcome) {
		coord := c.Coordinator(node)
		r := replays[coord]
		if r == nil {
			r = &eventReplay{view: map[string]core.NodeRecord{}, seen: seen}
			replays[coord] = r
		}
		for _, ev := range out.Members {
			r.apply(ev)
		}
		r.errs = append(r.errs, r.compare(coord.Records())...)
	}
	var err error
	c, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.Bootstrap(0, time.Second, time.Minute); err != nil || !ok {
		t.Fatalf("bootstrap: converged %v, %v", ok, err)
	}
	rng := c.Rand()
	live := func() []int { return c.LiveNodes() }
	var did []string
	check := func() {
		t.Helper()
		for i := range slots {
			coord := c.Coordinator(i)
			if coord == nil || !c.IsRunning(i) {
				continue
			}
			r := replays[coord]
			if r == nil {
				t.Fatalf("slot %d emitted no event at all", i)
			}
			if len(r.errs) > 0 {
				t.Fatalf("slot %d's events do not rebuild its table after %v:\n%s", i, did, r.errs[0])
			}
		}
	}
	for step := range 60 {
		l := live()
		pick := l[rng.IntN(len(l))]
		var down []int
		for i := range slots {
			if !c.IsRunning(i) {
				down = append(down, i)
			}
		}
		switch k := rng.IntN(9); {
		case k == 0 && len(l) > 4:
			c.Crash(pick)
			did = append(did, fmt.Sprintf("crash %d", pick))
		case k == 1 && len(down) > 0:
			d := down[rng.IntN(len(down))]
			if err := c.Restart(d, l[0]); err == nil {
				did = append(did, fmt.Sprintf("restart %d", d))
			}
		case k == 2 && len(down) > 0:
			d := down[rng.IntN(len(down))]
			if err := c.RestartSameID(d, l[0]); err == nil {
				did = append(did, fmt.Sprintf("restart %d same id", d))
			}
		case k == 3 && len(l) > 4:
			if err := c.Leave(pick); err == nil {
				did = append(did, fmt.Sprintf("leave %d", pick))
			}
		case k == 4 || k == 5:
			if err := c.SetMeta(pick, []byte(fmt.Sprintf("v%d", step))); err == nil {
				did = append(did, fmt.Sprintf("meta %d", pick))
			}
		case k == 6:
			c.Partition(l[:len(l)/2])
			c.After(time.Duration(1+rng.IntN(4))*time.Second, c.Heal)
			did = append(did, "partition")
		case k == 7:
			c.Pause(pick, time.Duration(500+rng.IntN(2500))*time.Millisecond)
			did = append(did, fmt.Sprintf("pause %d", pick))
		case k == 8:
			c.SetLoss(0.2)
			c.After(2*time.Second, func() { c.SetLoss(0) })
			did = append(did, "loss")
		}
		for range 1 + rng.IntN(10) {
			c.Run(time.Duration(50+rng.IntN(200)) * time.Millisecond)
			check()
		}
	}
	c.Heal()
	c.SetLoss(0)
	c.Run(30 * time.Second)
	check()
	if len(replays) < slots {
		t.Errorf("only %d coordinators emitted events", len(replays))
	}
}
