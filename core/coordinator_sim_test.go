package core_test

// Tests of the coordinator's internals in a running cluster, on core/sim's
// simulated network (export_test.go gives them the internals).

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

// settled starts o.Nodes members, all joining member 0, on a 10 ms poll and
// a 5 ms delay, and runs until their views agree.
func settled(t *testing.T, o sim.Options) *sim.Cluster {
	t.Helper()
	o.Tick, o.Delay = 10*time.Millisecond, 5*time.Millisecond
	c, err := sim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(0); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < o.Nodes; i++ {
		if err := c.Join(i, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := c.RunUntil(c.Converged, 60*time.Second); !ok {
		t.Fatalf("%d members did not converge in 60 s", o.Nodes)
	}
	return c
}

// NextDeadline tells a driver when to poll next: it is after the last call
// and at most twice the smaller of HeartbeatInterval and GossipInterval after it,
// and a Poll before it has nothing to do.
func TestNextDeadline(t *testing.T) {
	cfg := core.DefaultLANConfig()
	cfg.NodeID, cfg.Authority, cfg.Rand = "stopped", "10.9.9.9:7946", rand.New(rand.NewPCG(3, 7))
	stopped, err := core.NewMembershipCoordinator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d := stopped.NextDeadline(); !d.IsZero() {
		t.Errorf("a Stopped coordinator's NextDeadline = %v, want the zero Time", d)
	}
	c := settled(t, sim.Options{Nodes: 5, Seed: 14})
	coord := c.Coordinator(2)
	smallest := 2 * min(c.Config().HeartbeatInterval, c.Config().GossipInterval) // the idle wake
	polls := 0
	for range 2000 {
		c.Run(c.Tick())
		last, d := coord.LastCall(), coord.NextDeadline()
		if !d.After(last) {
			t.Fatalf("after a call at %v, NextDeadline %v is not in the future", last, d)
		}
		if d.Sub(last) > smallest {
			t.Fatalf("NextDeadline %v after the last call, want at most %v", d.Sub(last), smallest)
		}
		// A Poll strictly before the deadline is empty.
		if at := c.Now(); at.Before(d) {
			polls++
			if o := coord.Poll(at); len(o.Outbound) > 0 || len(o.Members) > 0 || o.Topology != nil {
				t.Fatalf("Poll at %v, before NextDeadline %v, did work: %d messages", at, d, len(o.Outbound))
			}
		}
	}
	if polls == 0 {
		t.Fatal("NextDeadline was never beyond the end of a tick")
	}
	if !c.Converged() {
		t.Error("the cluster is no longer converged")
	}
}

// The digest's bucket count follows the table as the cluster grows and
// shrinks, and the incrementally kept bucket sums always equal a digest
// computed afresh over the same count.
func TestDigestBucketsFollowTheTable(t *testing.T) {
	c := settled(t, sim.Options{Nodes: 40, Seed: 11})
	cfg := c.Config()
	c.Run(3 * cfg.AntiEntropyInterval)
	// consistent checks the count against the table's size: at least what
	// bucketsFor asks, and under four times that (the shrink hysteresis).
	consistent := func() {
		t.Helper()
		for _, i := range c.LiveNodes() {
			coord := c.Coordinator(i)
			n, sums, limit := coord.DigestBuckets()
			records := coord.Records()
			want := core.BucketsFor(len(records), limit)
			if n < want || n >= 4*want {
				t.Fatalf("%s digests over %d buckets with %d records, want %d to %d", c.Authority(i), n, len(records), want, 4*want-1)
			}
			if got := core.DigestOf(records, n); !slices.Equal(got, sums) {
				t.Fatalf("%s: incremental bucket sums %v differ from the digest %v", c.Authority(i), sums, got)
			}
		}
	}
	consistent()
	if n, _, _ := c.Coordinator(0).DigestBuckets(); n != 8 {
		t.Fatalf("40 members digest over %d buckets, want 8", n)
	}
	// 35 crash; once their tombstones are pruned the table holds 5 records
	// and the digest shrinks.
	for i := 5; i < 40; i++ {
		c.Crash(i)
	}
	// With one monitor per member, members that follow one another on the
	// ring are found one after the other: wait until all are Dead.
	allDead := func() bool {
		dead := 0
		for _, r := range c.Coordinator(0).Records() {
			if r.Status == core.StatusDead {
				dead++
			}
		}
		return dead == 35
	}
	if _, ok := c.RunUntil(allDead, 15*time.Minute); !ok {
		t.Fatal("35 crashed members not all Dead within 15 min")
	}
	c.Run(cfg.TombstoneRetention + 30*time.Second + 3*cfg.AntiEntropyInterval)
	consistent()
	if n, _, _ := c.Coordinator(0).DigestBuckets(); len(c.Coordinator(0).Records()) != 5 || n > 2 {
		t.Fatalf("after the prune: %d records over %d buckets, want 5 over at most 2", len(c.Coordinator(0).Records()), n)
	}
}

// Topology updates come at most once per TopologyEmitInterval, each with a
// hash of its members and disjoint, sorted joined, left and dead sets; over
// a run with a crash and a leave they name every change exactly once.
func TestTopologyUpdates(t *testing.T) {
	var updates []*core.TopologyUpdate
	o := sim.Options{Nodes: 4, Seed: 13, Tick: 10 * time.Millisecond, Delay: 5 * time.Millisecond}
	o.OnOutcome = func(at int, out core.Outcome) {
		if at == 0 && out.Topology != nil {
			updates = append(updates, out.Topology)
		}
	}
	c, err := sim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(0); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 4; i++ {
		if err := c.Join(i, 0); err != nil {
			t.Fatal(err)
		}
	}
	c.Run(10 * time.Second)
	c.Crash(2)
	c.Run(20 * time.Second)
	if err := c.Leave(3); err != nil {
		t.Fatal(err)
	}
	c.Run(10 * time.Second)
	var joined, dead, left []string
	interval := c.Config().TopologyEmitInterval
	for i, u := range updates {
		if i > 0 && u.ObservedAt.Sub(updates[i-1].ObservedAt) < interval {
			t.Errorf("updates %d and %d are %v apart, under %v", i-1, i, u.ObservedAt.Sub(updates[i-1].ObservedAt), interval)
		}
		if u.Hash != core.TopologyHash(u.Members) {
			t.Errorf("update %d: hash does not match its members", i)
		}
		seen := map[string]bool{}
		for _, set := range [][]string{u.Joined, u.Left, u.Dead} {
			if !slices.IsSorted(set) {
				t.Errorf("update %d: set %v not sorted", i, set)
			}
			for _, a := range set {
				if seen[a] {
					t.Errorf("update %d: %s in two sets", i, a)
				}
				seen[a] = true
			}
		}
		joined = append(joined, u.Joined...)
		dead = append(dead, u.Dead...)
		left = append(left, u.Left...)
	}
	slices.Sort(joined)
	if want := []string{c.Authority(1), c.Authority(2), c.Authority(3)}; !slices.Equal(joined, want) {
		t.Errorf("joined %v, want %v", joined, want)
	}
	if !slices.Equal(dead, []string{c.Authority(2)}) || !slices.Equal(left, []string{c.Authority(3)}) {
		t.Errorf("dead %v left %v, want [%s] [%s]", dead, left, c.Authority(2), c.Authority(3))
	}
	last := updates[len(updates)-1]
	if len(last.Members) != 2 {
		t.Errorf("last update has %d members, want 2", len(last.Members))
	}
}

// While a member leaves, NextDeadline stays a real future time after each
// Poll: a driver that sleeps until it is woken when the next gossip round
// carries the leave, not at once after every call, and the leave still
// completes and reaches every other member.
func TestNextDeadlineWhileLeaving(t *testing.T) {
	cfg := core.DefaultLANConfig()
	cfg.RetransmitMult = 16 // the leave takes several gossip rounds, not the sends of HandleLeave alone
	c := settled(t, sim.Options{Nodes: 8, Seed: 15, Config: cfg})
	coord := c.Coordinator(2)
	smallest := 2 * min(c.Config().HeartbeatInterval, c.Config().GossipInterval) // the idle wake
	c.Run(5 * time.Second)
	if err := c.Leave(2); err != nil {
		t.Fatal(err)
	}
	// Deaf, the leaver's every call from now on is a Poll by the cluster;
	// what it sends still goes out.
	c.SetDeaf(2, true)
	ticks, idle := 0, 0
	for {
		c.Run(c.Tick())
		if coord.LeaveDone() {
			break
		}
		if ticks++; ticks > 2000 {
			t.Fatalf("the leave is not done after %d ticks", ticks)
		}
		last, d := coord.LastCall(), coord.NextDeadline()
		if !d.After(last) {
			t.Fatalf("leaving, after a Poll at %v: NextDeadline %v is not in the future", last, d)
		}
		if d.Sub(last) > smallest {
			t.Fatalf("leaving: NextDeadline %v after the last Poll, want at most %v", d.Sub(last), smallest)
		}
		if at := c.Now(); at.Before(d) {
			idle++
			if o := coord.Poll(at); len(o.Outbound) > 0 || len(o.Members) > 0 {
				t.Fatalf("leaving: Poll at %v, before NextDeadline %v, did work: %d messages", at, d, len(o.Outbound))
			}
		}
	}
	if idle == 0 {
		t.Fatalf("NextDeadline was never beyond the end of a tick in the %d ticks of the leave", ticks)
	}
	if _, ok := c.RunUntil(func() bool { return c.AllLiveMarked(c.NodeID(2), core.StatusRemoved) }, 30*time.Second); !ok {
		t.Errorf("the leave did not reach every member")
	}
}

// Each topology update names exactly what changed since the node's previous
// one: Joined the members active now that were not, or held another
// instance; Left and Dead those no longer active; and an update comes only
// when the members changed. Checked at every node through crashes, a
// restart with a new node ID, a leave and a restart with the same one.
func TestTopologyUpdatesAreTheDifferences(t *testing.T) {
	last := map[*core.MembershipCoordinator]map[string]string{} // by coordinator: authority -> node ID in its last update
	var c *sim.Cluster
	checked := 0
	o := sim.Options{Nodes: 12, Seed: 5}
	o.OnOutcome = func(at int, out core.Outcome) {
		u := out.Topology
		if u == nil {
			return
		}
		self := c.Authority(at)
		prev := last[c.Coordinator(at)]
		now := map[string]string{}
		for _, r := range u.Members {
			now[r.Authority] = r.NodeID
		}
		var joined, gone []string
		for a, id := range now {
			if was, ok := prev[a]; a != self && (!ok || was != id) {
				joined = append(joined, a)
			}
		}
		for a := range prev {
			if _, ok := now[a]; !ok && a != self {
				gone = append(gone, a)
			}
		}
		slices.Sort(joined)
		slices.Sort(gone)
		got := slices.Concat(u.Left, u.Dead)
		slices.Sort(got)
		if !slices.Equal(u.Joined, joined) || !slices.Equal(got, gone) {
			t.Errorf("slot %d at %v: joined %v, left %v, dead %v; the members changed by joined %v, gone %v",
				at, c.Elapsed(), u.Joined, u.Left, u.Dead, joined, gone)
		}
		if len(joined) == 0 && len(gone) == 0 && prev != nil && len(prev) == len(now) {
			t.Errorf("slot %d at %v: an update with no change", at, c.Elapsed())
		}
		last[c.Coordinator(at)] = now
		checked++
	}
	var err error
	c, err = sim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.Bootstrap(0, time.Second, time.Minute); err != nil || !ok {
		t.Fatalf("bootstrap: converged %v, %v", ok, err)
	}
	c.Crash(4)
	c.Run(10 * time.Second)
	if err := c.Restart(4, 0); err != nil {
		t.Fatal(err)
	}
	c.Crash(6)
	c.Run(500 * time.Millisecond)
	if err := c.Restart(6, 0); err != nil { // back before most noticed: another instance at once
		t.Fatal(err)
	}
	c.Run(10 * time.Second)
	if err := c.Leave(7); err != nil {
		t.Fatal(err)
	}
	c.Run(10 * time.Second)
	if err := c.RestartSameID(7, 0); err != nil {
		t.Fatal(err)
	}
	c.Run(10 * time.Second)
	if checked < 50 {
		t.Errorf("only %d updates checked", checked)
	}
}

// Config.NoTopologyUpdates takes the updates away and nothing else: the
// same messages, member events and views at every node, through crashes,
// restarts, a partition and a leave.
func TestNoTopologyUpdatesChangesNothingElse(t *testing.T) {
	type result struct {
		stats  sim.NetStats
		events [][]core.MemberEvent
		views  [][]core.NodeRecord
	}
	run := func(quiet bool) (result, int) {
		cfg := core.DefaultLANConfig()
		cfg.NoTopologyUpdates = quiet
		updates := 0
		o := sim.Options{Nodes: 30, Seed: 9, Loss: 0.05, Config: cfg, RecordEvents: true}
		o.OnOutcome = func(_ int, out core.Outcome) {
			if out.Topology != nil {
				updates++
			}
		}
		c, err := sim.New(o)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := c.Bootstrap(0, time.Second, time.Minute); err != nil || !ok {
			t.Fatalf("bootstrap: converged %v, %v", ok, err)
		}
		c.Crash(4)
		c.Run(10 * time.Second)
		if err := c.Restart(4, 0); err != nil {
			t.Fatal(err)
		}
		c.Crash(6)
		c.Run(500 * time.Millisecond)
		if err := c.Restart(6, 0); err != nil {
			t.Fatal(err)
		}
		c.Partition([]int{1, 2, 3, 5, 7, 9})
		c.Run(10 * time.Second)
		c.Heal()
		if err := c.Leave(7); err != nil {
			t.Fatal(err)
		}
		c.Run(20 * time.Second)
		r := result{stats: c.Stats()}
		for i := range c.Len() {
			r.events = append(r.events, c.Events(i))
			r.views = append(r.views, c.View(i))
		}
		return r, updates
	}
	loud, n := run(false)
	quiet, m := run(true)
	if n == 0 || m != 0 {
		t.Fatalf("%d updates with them, %d without: want some, then none", n, m)
	}
	if !reflect.DeepEqual(loud.stats, quiet.stats) {
		t.Errorf("traffic differs:\n%+v\n%+v", loud.stats, quiet.stats)
	}
	for i := range loud.events {
		if !reflect.DeepEqual(loud.events[i], quiet.events[i]) {
			t.Errorf("slot %d: member events differ", i)
		}
		if !reflect.DeepEqual(loud.views[i], quiet.views[i]) {
			t.Errorf("slot %d: views differ", i)
		}
	}
}
