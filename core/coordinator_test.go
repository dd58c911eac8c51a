package core

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestThreeNodeJoin(t *testing.T) {
	net := cluster(t, 3, 1)
	for _, a := range net.live() {
		if got := len(net.nodes[a].c.Members()); got != 3 {
			t.Errorf("%s holds %d records, want 3", a, got)
		}
	}
}

func TestCrashIsDetectedAndNobodyElseSuspected(t *testing.T) {
	net := cluster(t, 20, 2)
	var falseSuspects []string
	net.observe = func(at string, ev MemberEvent) {
		if ev.Record.Authority != auth(7) && (ev.To == StatusSuspect || ev.To == StatusDead) {
			falseSuspects = append(falseSuspects, at+" saw "+ev.Record.Authority+" "+ev.To.String())
		}
	}
	net.run(5 * time.Second)
	net.nodes[auth(7)].crashed = true
	start := net.now
	if !net.runUntil(60*time.Second, func() bool { return net.allSee(auth(7), StatusDead) }) {
		t.Fatalf("crash not detected everywhere")
	}
	t.Logf("detected everywhere after %v", net.now.Sub(start))
	if len(falseSuspects) > 0 {
		t.Errorf("false suspicions: %v", falseSuspects)
	}
}

func TestGracefulLeaveIsRemovedNeverDead(t *testing.T) {
	net := cluster(t, 10, 3)
	var dead []string
	net.observe = func(at string, ev MemberEvent) {
		if ev.To == StatusDead {
			dead = append(dead, at+" saw "+ev.Record.Authority+" dead")
		}
	}
	leaver := net.nodes[auth(4)].c
	o, err := leaver.HandleLeave(net.now)
	if err != nil {
		t.Fatal(err)
	}
	net.deliver(auth(4), o)
	if !net.runUntil(10*time.Second, leaver.LeaveDone) {
		t.Fatal("leave not done")
	}
	if !net.runUntil(20*time.Second, func() bool { return net.allSee(auth(4), StatusRemoved) }) {
		t.Fatal("leave did not reach everyone as Removed")
	}
	net.run(20 * time.Second)
	if !net.allSee(auth(4), StatusRemoved) || len(dead) > 0 {
		t.Fatalf("after leave: dead events %v", dead)
	}
}

func TestBadInputIsRefused(t *testing.T) {
	net := cluster(t, 2, 4)
	c := net.nodes[auth(0)].c
	before := c.Members()
	bad := []Message{
		{Kind: 0, From: auth(9), FromID: "x"},
		{Kind: 99, From: auth(9), FromID: "x"},
		{Kind: MessageGossip, From: "", FromID: "x"},
		{Kind: MessageGossip, From: auth(9), FromID: ""},
		{Kind: MessageGossip, From: auth(9), FromID: "x", Entries: []NodeRecord{{NodeID: "", Authority: "a", Status: StatusUp}}},
		{Kind: MessageGossip, From: auth(9), FromID: "x", Entries: []NodeRecord{{NodeID: "n", Authority: "a", Status: StatusUp}, {NodeID: "n", Authority: "b", Status: 42}}},
		{Kind: MessageDigest, From: auth(9), FromID: "x", Digest: make([]uint64, 3)},
		{Kind: MessageDigestReply, From: auth(9), FromID: "x", Want: []uint32{1 << 20}},
	}
	for i, m := range bad {
		if _, err := c.HandleGossip(net.now, GossipInbound{Message: m}); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("bad message %d: err = %v, want ErrInvalidMessage", i, err)
		}
	}
	after := c.Members()
	if len(before) != len(after) {
		t.Errorf("table changed: %d → %d records", len(before), len(after))
	}
	if got := c.Stats().MessagesRejected; got < uint64(len(bad)) {
		t.Errorf("MessagesRejected = %d, want >= %d", got, len(bad))
	}
}

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

func TestBootstrapFromOneSeed(t *testing.T) {
	if testing.Short() {
		t.Skip("200 members")
	}
	net := newTestNet(t, 5)
	for i := 0; i < 200; i++ {
		net.add(nodeID(i), fmt.Sprintf("10.0.%d.%d:7946", i/250, i%250), nil)
	}
	net.join(net.order[0])
	for _, a := range net.order[1:] {
		net.join(a, net.order[0])
	}
	start := net.now
	if !net.runUntil(30*time.Second, net.converged) {
		t.Fatal("200 members joining one seed did not converge in 30 s")
	}
	t.Logf("converged after %v, %d messages", net.now.Sub(start), net.sent)
}

func TestNoFalseDeadUnderLoss(t *testing.T) {
	net := cluster(t, 30, 6)
	var dead []string
	net.observe = func(at string, ev MemberEvent) {
		if ev.To == StatusDead {
			dead = append(dead, fmt.Sprintf("%v: %s saw %s dead", net.now.Sub(epoch), at, ev.Record.Authority))
		}
	}
	net.loss = 0.2
	d := 3 * time.Minute
	if testing.Short() {
		d = 30 * time.Second
	}
	net.run(d)
	net.loss = 0
	if len(dead) > 0 {
		t.Fatalf("false Dead under 20%% loss: %v", dead)
	}
	if !net.runUntil(30*time.Second, net.converged) {
		t.Fatal("not converged after the loss ended")
	}
}

func TestPartitionHeals(t *testing.T) {
	net := cluster(t, 30, 7)
	side := map[string]int{}
	for i, a := range net.order {
		side[a] = i % 2
	}
	net.cut = func(from, to string) bool { return side[from] != side[to] }
	net.run(30 * time.Second)
	c0 := net.nodes[net.order[0]].c
	if got := net.statusAt(net.order[0], net.order[1]); got != StatusDead {
		t.Fatalf("during the partition %s holds %s as %v, want dead", net.order[0], net.order[1], got)
	}
	if len(c0.Members()) != 30 {
		t.Fatalf("tombstones were dropped too early: %d records", len(c0.Members()))
	}
	net.cut = nil
	start := net.now
	bound := 2 * c0.cfg.AntiEntropyInterval
	if !net.runUntil(bound, net.converged) {
		t.Fatalf("one view not restored within %v of the heal", bound)
	}
	t.Logf("healed after %v", net.now.Sub(start))
}

func TestRestartAtSameAuthority(t *testing.T) {
	for _, down := range []time.Duration{time.Second, 20 * time.Second} {
		t.Run(down.String(), func(t *testing.T) {
			net := cluster(t, 10, 8)
			victim := auth(5)
			net.nodes[victim].crashed = true
			net.run(down)
			fresh := net.add("node-005-b", victim, nil)
			net.join(victim, auth(0))
			ok := net.runUntil(30*time.Second, func() bool {
				if !net.converged() {
					return false
				}
				for _, a := range net.live() {
					if r, _ := net.nodes[a].c.Member(victim); r.NodeID != "node-005-b" {
						return false
					}
				}
				return true
			})
			if !ok {
				t.Fatalf("the new instance did not replace the old one everywhere")
			}
			if inc := fresh.LocalNode().Incarnation; inc < 2 {
				t.Fatalf("new instance at incarnation %d, want above the old one's", inc)
			}
			// A stale message of the old instance changes nothing.
			old := NodeRecord{NodeID: nodeID(5), Authority: victim, Status: StatusUp, Incarnation: 1}
			c := net.nodes[auth(0)].c
			_, err := c.HandleGossip(net.now, GossipInbound{Message: Message{Kind: MessageGossip, From: victim, FromID: nodeID(5), Entries: []NodeRecord{old}}})
			if r, _ := c.Member(victim); r.NodeID != "node-005-b" {
				t.Fatalf("a stale message (err %v) revived the old instance: %+v", err, r)
			}
		})
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

func TestOldInstanceYieldsToNewer(t *testing.T) {
	net := cluster(t, 5, 9)
	old := net.nodes[auth(3)].c
	net.run(30 * time.Second) // past the old instance's claim window
	// A second instance appears at the same authority (the old one was
	// presumed gone); the old one hears of it and must stop, not fight.
	newer := NodeRecord{NodeID: "node-003-b", Authority: auth(3), Status: StatusUp, Incarnation: old.LocalNode().Incarnation + 1}
	o, err := old.HandleGossip(net.now, GossipInbound{Message: Message{Kind: MessageGossip, From: auth(0), FromID: nodeID(0), Entries: []NodeRecord{newer}}})
	if err != nil {
		t.Fatal(err)
	}
	if old.State() != CoordinatorStopped {
		t.Fatalf("old instance state %v, want stopped", old.State())
	}
	if len(o.Members) != 1 || !o.Members[0].Conflict {
		t.Fatalf("members events %+v, want one conflict", o.Members)
	}
}

func TestPauseDoesNotBlameOthers(t *testing.T) {
	net := cluster(t, 10, 10)
	var bad []string
	net.observe = func(at string, ev MemberEvent) {
		if ev.To == StatusDead || (at == auth(3) && ev.To == StatusSuspect) {
			bad = append(bad, at+" saw "+ev.Record.Authority+" "+ev.To.String())
		}
	}
	c := net.nodes[auth(3)].c
	net.nodes[auth(3)].paused = net.now.Add(3 * time.Second)
	net.run(4 * time.Second)
	if c.LocalHealth() == 0 || c.Stats().StallsForgiven == 0 {
		t.Fatalf("a 3 s stall was not noticed: health %d, stats %+v", c.LocalHealth(), c.Stats())
	}
	net.run(30 * time.Second)
	if len(bad) > 0 {
		t.Fatalf("after a pause: %v", bad)
	}
	if c.LocalHealth() != 0 {
		t.Fatalf("local health %d did not decay", c.LocalHealth())
	}
	if !net.converged() {
		t.Fatal("not converged after the pause")
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

func TestClientObservesWithoutBeingAMember(t *testing.T) {
	net := cluster(t, 5, 14)
	cfg := testConfig("observer", "10.9.9.9:7946", 99)
	client, err := NewMembershipCoordinator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	net.nodes[cfg.Authority] = &testNode{c: client}
	net.order = append(net.order, cfg.Authority)
	o, err := client.StartClient(net.now)
	if err != nil {
		t.Fatal(err)
	}
	net.deliver(cfg.Authority, o)
	net.join(cfg.Authority, auth(0))
	net.run(5 * time.Second)
	if got := len(client.Members()); got != 5 {
		t.Fatalf("client sees %d members, want 5", got)
	}
	for _, a := range net.order[:5] {
		if _, ok := net.nodes[a].c.Member(cfg.Authority); ok {
			t.Fatalf("%s holds a record of the client", a)
		}
	}
	net.nodes[auth(1)].crashed = true
	if !net.runUntil(30*time.Second, func() bool { return net.statusAt(cfg.Authority, auth(1)) == StatusDead }) {
		t.Fatal("the client did not learn of the crash")
	}
}

func TestEveryMessageFitsInLongRuns(t *testing.T) {
	mutate := func(cfg *Config) {
		cfg.MaxMessageBytes = 300
		cfg.Meta = []byte(fmt.Sprintf("%-60s", cfg.NodeID))
	}
	net := newTestNet(t, 15)
	for i := 0; i < 40; i++ {
		net.add(nodeID(i), auth(i), mutate)
	}
	net.join(auth(0))
	for i := 1; i < 40; i++ {
		net.join(auth(i), auth(0))
	}
	net.loss = 0.05
	net.run(20 * time.Second)
	net.nodes[auth(5)].crashed = true
	o, _ := net.nodes[auth(6)].c.HandleLeave(net.now)
	net.deliver(auth(6), o)
	side := func(a string) bool { return a < auth(20) }
	net.cut = func(from, to string) bool { return side(from) != side(to) }
	net.run(20 * time.Second)
	net.cut = nil
	net.run(40 * time.Second) // testNet fails on any message over MaxMessageBytes
	if net.sent == 0 {
		t.Fatal("nothing sent")
	}
}

func TestGracefulLeaveUnderLossIsNeverDead(t *testing.T) {
	net := cluster(t, 20, 16)
	var dead []string
	net.observe = func(at string, ev MemberEvent) {
		if ev.To == StatusDead {
			dead = append(dead, at+" saw "+ev.Record.Authority+" dead")
		}
	}
	net.loss = 0.2
	for _, i := range []int{3, 9, 14} {
		leaver := net.nodes[auth(i)].c
		o, err := leaver.HandleLeave(net.now)
		if err != nil {
			t.Fatal(err)
		}
		net.deliver(auth(i), o)
		if !net.runUntil(30*time.Second, leaver.LeaveDone) {
			t.Fatalf("leave of %s not done", auth(i))
		}
	}
	net.run(60 * time.Second)
	for _, i := range []int{3, 9, 14} {
		if !net.allSee(auth(i), StatusRemoved) {
			t.Errorf("%s is not Removed everywhere", auth(i))
		}
	}
	if len(dead) > 0 {
		t.Fatalf("a leaver was declared Dead: %v", dead)
	}
}

// TestRandomInputNeverPanics throws random messages — valid-looking and not —
// at a member of a small cluster; nothing panics, and every record it holds
// stays valid.
func TestRandomInputNeverPanics(t *testing.T) {
	net := cluster(t, 4, 17)
	c := net.nodes[auth(0)].c
	rng := rand.New(rand.NewPCG(17, 17))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	str := func() string { return pick("", auth(1), auth(2), auth(0), "x:1", nodeID(1), nodeID(0), "n") }
	for i := 0; i < 20000; i++ {
		m := Message{Kind: MessageKind(rng.IntN(9)), From: str(), FromID: str(), Seq: rng.Uint64() % 4}
		for j := rng.IntN(4); j > 0; j-- {
			m.Entries = append(m.Entries, NodeRecord{NodeID: str(), Authority: str(), Status: NodeStatus(rng.IntN(8)), Incarnation: rng.Uint64() % 5, Meta: make([]byte, rng.IntN(3)*300)})
		}
		if rng.IntN(3) == 0 {
			m.Digest = make([]uint64, rng.IntN(3)*64+rng.IntN(2))
		}
		for j := rng.IntN(3); j > 0; j-- {
			m.Want = append(m.Want, uint32(rng.IntN(2000)))
		}
		o, _ := c.HandleGossip(net.now, GossipInbound{Source: "fuzz", Message: m})
		for _, out := range o.Outbound {
			if EstimateSize(out.Message) > c.cfg.MaxMessageBytes {
				t.Fatalf("reply of %d bytes", EstimateSize(out.Message))
			}
		}
		if i%100 == 0 {
			net.now = net.now.Add(100 * time.Millisecond)
			c.Poll(net.now)
		}
		if c.State() == CoordinatorStopped {
			t.Logf("stopped after %d messages: it yielded its authority to a forged newer instance", i)
			break
		}
	}
	for _, r := range c.Members() {
		if err := c.validateRecord(r); err != nil {
			t.Fatalf("table holds an invalid record: %v", err)
		}
	}
}

// A member alone in its cluster has no one to tell that it leaves: the leave
// is done as soon as it is asked for.
func TestLoneMemberLeaveIsDoneAtOnce(t *testing.T) {
	net := newTestNet(t, 11)
	c := net.add(nodeID(0), auth(0), nil)
	net.join(auth(0))
	net.run(time.Second)
	o, err := c.HandleLeave(net.now)
	if err != nil {
		t.Fatal(err)
	}
	if !c.LeaveDone() {
		t.Fatalf("a lone member's leave is not done at once (state %s, %d messages)", c.State(), len(o.Outbound))
	}
	if got := c.LocalNode().Status; got != StatusLeaving {
		t.Errorf("LocalNode().Status = %s, want leaving", got)
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

// PeerStateEntries counts the coordinator's bookkeeping about other nodes:
// it grows with the members, stays put while the membership is steady, and
// falls back once the crashed members' tombstones, quarantine entries and
// reconnect probes are gone.
func TestPeerStateEntriesFollowTheMembers(t *testing.T) {
	net := cluster(t, 12, 21)
	c := net.nodes[auth(0)].c
	cfg := c.cfg
	net.run(2 * cfg.AntiEntropyInterval)
	steady := c.PeerStateEntries()
	net.run(2 * cfg.AntiEntropyInterval)
	if got := c.PeerStateEntries(); got != steady {
		t.Errorf("steady cluster of 12: %d entries, then %d", steady, got)
	}
	for i := 6; i < 12; i++ {
		net.nodes[auth(i)].crashed = true
	}
	net.run(cfg.SuspicionMaxTimeout + 10*time.Second)
	dead := c.PeerStateEntries()
	net.run(cfg.TombstoneRetention + 2*cfg.AntiEntropyInterval)
	after := c.PeerStateEntries()
	t.Logf("12 members: %d entries; 6 just crashed: %d; tombstones pruned: %d", steady, dead, after)
	if steady < 12 || after >= steady || after >= dead {
		t.Errorf("entries: %d with 12 members, %d with 6 Dead, %d after the prune: want fewer after the prune than before", steady, dead, after)
	}
}
