package core

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestStateErrors(t *testing.T) {
	c, err := NewMembershipCoordinator(testConfig("a", "a:1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.HandleJoin(epoch, []string{"b:1"}); !errors.Is(err, ErrNotStarted) {
		t.Errorf("HandleJoin stopped: %v", err)
	}
	if _, err := c.HandleGossip(epoch, GossipInbound{}); !errors.Is(err, ErrNotStarted) {
		t.Errorf("HandleGossip stopped: %v", err)
	}
	if _, err := c.StartMember(epoch); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartMember(epoch); !errors.Is(err, ErrInvalidState) {
		t.Errorf("StartMember twice: %v", err)
	}
	if _, err := c.StartClient(epoch); !errors.Is(err, ErrInvalidState) {
		t.Errorf("StartClient when member: %v", err)
	}
}

// An operator restarts a crashed process under the same node ID (as the
// agent does with the same --name): the new instance starts at incarnation
// 1, learns that the cluster holds its old life as Up, Suspect or Dead
// (quarantined), takes that record over or raises its incarnation above it,
// and is Up everywhere.
func TestRestartWithTheSameNodeID(t *testing.T) {
	for _, tc := range []struct {
		down time.Duration
		held NodeStatus // the old life, in the seed's view, at the restart
	}{{time.Second, StatusUp}, {2800 * time.Millisecond, StatusSuspect}, {20 * time.Second, StatusDead}} {
		down := tc.down
		t.Run(down.String(), func(t *testing.T) {
			net := cluster(t, 10, 12)
			victim := auth(5)
			before := net.nodes[victim].c.LocalNode().Incarnation
			net.nodes[victim].crashed = true
			net.run(down)
			if got := net.statusAt(auth(0), victim); got != tc.held {
				t.Fatalf("after %v down the seed holds the old life %s, want %s", down, got, tc.held)
			}
			fresh := net.add(nodeID(5), victim, nil)
			net.join(victim, auth(0))
			ok := net.runUntil(30*time.Second, func() bool {
				return net.converged() && net.allSee(victim, StatusUp)
			})
			if !ok {
				t.Fatalf("the restarted instance is not Up everywhere (seed sees %s)", net.statusAt(auth(0), victim))
			}
			// Within 1 s the old life was still Up at the same incarnation:
			// the new instance simply is that record. After 20 s it was
			// Dead, and only a higher incarnation gets past the tombstone.
			inc := fresh.LocalNode().Incarnation
			if inc < before || (down > 10*time.Second && inc <= before) {
				t.Fatalf("restarted instance at incarnation %d after %v down, old life at %d", inc, down, before)
			}
		})
	}
}

func TestQuarantineByOperator(t *testing.T) {
	net := cluster(t, 5, 11)
	c := net.nodes[auth(0)].c
	target, _ := c.Member(auth(2))
	o, err := c.HandleQuarantine(net.now, auth(2), target.Incarnation)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Quarantine) != 1 || o.Quarantine[0].Authority != auth(2) || o.Quarantine[0].Expired {
		t.Fatalf("quarantine events %+v", o.Quarantine)
	}
	if r, _ := c.Member(auth(2)); r.Status != StatusDead {
		t.Fatalf("quarantined member is %v, want dead", r.Status)
	}
	if _, err := c.HandleQuarantine(net.now, auth(0), 1); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("quarantining oneself: %v", err)
	}
	// The live victim learns it was declared Dead and refutes at a higher
	// incarnation, which the quarantine lets through.
	net.deliver(auth(0), o)
	if !net.runUntil(30*time.Second, net.converged) {
		t.Fatal("the refutation did not bring the member back")
	}
	if r, _ := c.Member(auth(2)); r.Incarnation <= target.Incarnation {
		t.Fatalf("member back at incarnation %d, want above %d", r.Incarnation, target.Incarnation)
	}
}

func TestTombstonesAndQuarantineExpire(t *testing.T) {
	mutate := func(cfg *Config) {
		cfg.QuarantineTTL = 20 * time.Second
		cfg.TombstoneRetention = 40 * time.Second
	}
	net := newTestNet(t, 12)
	for i := 0; i < 5; i++ {
		net.add(nodeID(i), auth(i), mutate)
	}
	net.join(auth(0))
	for i := 1; i < 5; i++ {
		net.join(auth(i), auth(0))
	}
	if !net.runUntil(20*time.Second, net.converged) {
		t.Fatal("not converged")
	}
	var expired []QuarantineEvent
	c := net.nodes[auth(0)].c
	net.observeOutcome = func(at string, o Outcome) {
		if at == auth(0) {
			for _, q := range o.Quarantine {
				if q.Expired {
					expired = append(expired, q)
				}
			}
		}
	}
	net.nodes[auth(4)].crashed = true
	if !net.runUntil(30*time.Second, func() bool { return net.allSee(auth(4), StatusDead) }) {
		t.Fatal("crash not detected")
	}
	net.run(25 * time.Second)
	if len(expired) != 1 || expired[0].Authority != auth(4) {
		t.Fatalf("expired quarantine events %+v, want one for %s", expired, auth(4))
	}
	if _, ok := c.Member(auth(4)); !ok {
		t.Fatal("tombstone dropped before TombstoneRetention")
	}
	net.run(30 * time.Second)
	if _, ok := c.Member(auth(4)); ok {
		t.Fatal("tombstone kept after TombstoneRetention")
	}
}

func TestTopologyUpdates(t *testing.T) {
	net := newTestNet(t, 13)
	var updates []*TopologyUpdate
	net.observeOutcome = func(at string, o Outcome) {
		if at == auth(0) && o.Topology != nil {
			updates = append(updates, o.Topology)
		}
	}
	for i := 0; i < 4; i++ {
		net.add(nodeID(i), auth(i), nil)
	}
	net.join(auth(0))
	for i := 1; i < 4; i++ {
		net.join(auth(i), auth(0))
	}
	net.run(10 * time.Second)
	net.nodes[auth(2)].crashed = true
	net.run(20 * time.Second)
	o, _ := net.nodes[auth(3)].c.HandleLeave(net.now)
	net.deliver(auth(3), o)
	net.run(10 * time.Second)
	var joined, dead, left []string
	interval := net.nodes[auth(0)].c.cfg.TopologyEmitInterval
	for i, u := range updates {
		if i > 0 && u.ObservedAt.Sub(updates[i-1].ObservedAt) < interval {
			t.Errorf("updates %d and %d are %v apart, under %v", i-1, i, u.ObservedAt.Sub(updates[i-1].ObservedAt), interval)
		}
		if u.Hash != topologyHash(u.Members) {
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
	if want := []string{auth(0), auth(1), auth(2), auth(3)}; !slices.Equal(joined, want) {
		t.Errorf("joined %v, want %v", joined, want)
	}
	if !slices.Equal(dead, []string{auth(2)}) || !slices.Equal(left, []string{auth(3)}) {
		t.Errorf("dead %v left %v, want [%s] [%s]", dead, left, auth(2), auth(3))
	}
	last := updates[len(updates)-1]
	if len(last.Members) != 2 {
		t.Errorf("last update has %d members, want 2", len(last.Members))
	}
}

// A captured heartbeat replayed to a monitor after the sender crashed is
// not an arrival: the monitor's detector still loses the member, which is
// declared Dead as if nothing had been replayed.
func TestReplayedHeartbeatDoesNotFeedTheDetector(t *testing.T) {
	net := cluster(t, 2, 12)
	a, b := auth(0), auth(1)
	var captured []GossipInbound
	net.observeOutcome = func(at string, o Outcome) {
		for _, out := range o.Outbound {
			if at == b && out.Target == a && out.Message.Kind == MessageHeartbeat {
				captured = append(captured, GossipInbound{Source: b, Message: out.Message})
			}
		}
	}
	net.run(5 * time.Second)
	if len(captured) < 3 {
		t.Fatalf("captured %d heartbeats of %s, want at least 3", len(captured), b)
	}
	if first, last := captured[0].Message.Seq, captured[len(captured)-1].Message.Seq; last <= first {
		t.Fatalf("heartbeat Seq went from %d to %d, want increasing", first, last)
	}
	hb := net.nodes[b].c.cfg.HeartbeatInterval
	if min := uint64(epoch.Sub(heartbeatEpoch) / hb); captured[0].Message.Seq < min {
		t.Errorf("heartbeat Seq %d does not start from the heartbeat intervals since heartbeatEpoch at the start, %d", captured[0].Message.Seq, min)
	}
	net.nodes[b].crashed = true
	crashed := net.now
	monitor := net.nodes[a].c
	replays := 0
	dead := net.runUntil(60*time.Second, func() bool {
		if net.now.Sub(crashed) >= time.Duration(replays+1)*300*time.Millisecond {
			o, err := monitor.HandleGossip(net.now, captured[replays%len(captured)])
			if err != nil {
				t.Fatalf("replay %d refused: %v", replays, err)
			}
			net.deliver(a, o)
			replays++
		}
		return net.statusAt(a, b) == StatusDead
	})
	if !dead {
		t.Fatalf("%s not declared Dead while its heartbeats were replayed (status %s)", b, net.statusAt(a, b))
	}
	if took := net.now.Sub(crashed); took > 12*time.Second { // detector ~2.6 s (LAN) + at most the unconfirmed timeout 6 s, with room
		t.Errorf("Dead after %v with replays, want within 12 s", took)
	}
	if got := monitor.Stats().HeartbeatsStale; got == 0 || int(got) > replays {
		t.Errorf("HeartbeatsStale = %d after %d replays, want between 1 and %d", got, replays, replays)
	}
}

// Periodic anti-entropy is jittered per exchange, within ±25% of the
// interval, so that members whose timers were aligned (they joined together)
// do not all send their digests in the same second, period after period.
func TestAntiEntropyIntervalIsJittered(t *testing.T) {
	c, err := NewMembershipCoordinator(testConfig(nodeID(0), auth(0), 13))
	if err != nil {
		t.Fatal(err)
	}
	d := c.cfg.AntiEntropyInterval
	lo, hi := d*3/4, d*5/4
	var sum, smallest, largest time.Duration
	smallest = hi
	const draws = 2000
	for range draws {
		got := c.nextAntiEntropy(epoch).Sub(epoch)
		if got < lo || got > hi {
			t.Fatalf("next exchange after %v, want within [%v, %v]", got, lo, hi)
		}
		sum += got
		smallest, largest = min(smallest, got), max(largest, got)
	}
	if mean := sum / draws; mean < d*95/100 || mean > d*105/100 {
		t.Errorf("mean interval %v, want %v ± 5%%", mean, d)
	}
	if largest-smallest < d/4 {
		t.Errorf("intervals span only [%v, %v]: not jittered", smallest, largest)
	}
}

// NextDeadline tells a driver when to poll next: a Poll before it has nothing
// to do, and driving a cluster only at the deadlines (and on delivery) gives
// the same protocol as polling every tick.
func TestNextDeadline(t *testing.T) {
	stopped, err := NewMembershipCoordinator(testConfig(nodeID(9), auth(9), 3))
	if err != nil {
		t.Fatal(err)
	}
	if d := stopped.NextDeadline(); !d.IsZero() {
		t.Errorf("a Stopped coordinator's NextDeadline = %v, want the zero Time", d)
	}
	net := cluster(t, 5, 14)
	c := net.nodes[auth(2)].c
	smallest := min(c.cfg.HeartbeatInterval, c.cfg.GossipInterval)
	polls := 0
	for range 2000 {
		net.step()
		d := c.NextDeadline()
		if !d.After(net.now) {
			t.Fatalf("after a Poll at %v, NextDeadline %v is not in the future", net.now, d)
		}
		if d.Sub(net.now) > smallest {
			t.Fatalf("NextDeadline %v after the last call, want at most %v", d.Sub(net.now), smallest)
		}
		// Every Poll strictly before the deadline is empty.
		for at := net.now.Add(net.tick / 2); at.Before(d); at = at.Add(net.tick / 2) {
			polls++
			if o := c.Poll(at); len(o.Outbound) > 0 || len(o.Members) > 0 || o.Topology != nil {
				t.Fatalf("Poll at %v, before NextDeadline %v, did work: %d messages", at, d, len(o.Outbound))
			}
			break
		}
	}
	if polls == 0 {
		t.Fatal("NextDeadline was never beyond the next half tick")
	}
	if !net.converged() {
		t.Error("the cluster is no longer converged")
	}
}

// The digest's bucket count follows the table as the cluster grows and
// shrinks, and the incrementally kept bucket sums always equal a digest
// computed afresh over the same count.
func TestDigestBucketsFollowTheTable(t *testing.T) {
	net := cluster(t, 40, 11)
	cfg := net.nodes[auth(0)].c.cfg
	net.run(3 * cfg.AntiEntropyInterval)
	// consistent checks the count against the table's size: at least what
	// bucketsFor asks, and under four times that (the shrink hysteresis).
	consistent := func() {
		t.Helper()
		for _, a := range net.live() {
			c := net.nodes[a].c
			want := bucketsFor(c.table.Len(), c.ae.maxBuckets)
			if c.ae.nbuckets < want || c.ae.nbuckets >= 4*want {
				t.Fatalf("%s digests over %d buckets with %d records, want %d to %d", a, c.ae.nbuckets, c.table.Len(), want, 4*want-1)
			}
			if got := digestOf(c.table.Snapshot(), c.ae.nbuckets); !slices.Equal(got, c.ae.buckets) {
				t.Fatalf("%s: incremental bucket sums %v differ from the digest %v", a, c.ae.buckets, got)
			}
		}
	}
	consistent()
	if c := net.nodes[auth(0)].c; c.ae.nbuckets != 8 {
		t.Fatalf("40 members digest over %d buckets, want 8", c.ae.nbuckets)
	}
	// 35 crash; once their tombstones are pruned the table holds 5 records
	// and the digest shrinks.
	for i := 5; i < 40; i++ {
		net.nodes[auth(i)].crashed = true
	}
	net.run(cfg.TombstoneRetention + cfg.SuspicionMaxTimeout + 30*time.Second + 3*cfg.AntiEntropyInterval)
	consistent()
	if c := net.nodes[auth(0)].c; c.table.Len() != 5 || c.ae.nbuckets > 2 {
		t.Fatalf("after the prune: %d records over %d buckets, want 5 over at most 2", c.table.Len(), c.ae.nbuckets)
	}
}
