package sim

// Protocol tests that used to run on core's own in-test network: one
// simulated network (this package's) now carries every multi-node test of the
// protocol. They drive the cluster with this package's API and the
// coordinators' own (Coordinator(i)), as a user testing against a simulated
// cluster would.

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// protocolOptions is the network of these tests: a 10 ms poll, a 5 ms delay
// without jitter.
func protocolOptions(nodes int, seed uint64) Options {
	return Options{Nodes: nodes, Seed: seed, Tick: 10 * time.Millisecond, Delay: 5 * time.Millisecond}
}

// settled starts o.Nodes members, all joining member 0, and runs until their
// views agree.
func settled(t *testing.T, o Options) *Cluster {
	t.Helper()
	c, err := New(o)
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

// statusAt returns the status slot i holds for slot j (0 when unknown).
func statusAt(c *Cluster, i, j int) core.NodeStatus {
	r, ok := c.Coordinator(i).Member(c.Authority(j))
	if !ok {
		return 0
	}
	return r.Status
}

// allSee reports whether every live member other than j holds j with status
// s.
func allSee(c *Cluster, j int, s core.NodeStatus) bool {
	for _, i := range c.LiveNodes() {
		if i != j && statusAt(c, i, j) != s {
			return false
		}
	}
	return true
}

// A partition of every other member for 30 s: each side declares the other
// Dead and keeps the tombstones, and once the partition heals the two sides
// are one view again within two anti-entropy intervals.
func TestPartitionOfAlternateMembersHeals(t *testing.T) {
	const n = 30
	c := settled(t, protocolOptions(n, 7))
	var even, odd []int
	for i := range n {
		if i%2 == 0 {
			even = append(even, i)
		} else {
			odd = append(odd, i)
		}
	}
	c.Partition(even, odd)
	c.Run(30 * time.Second)
	if got := statusAt(c, 0, 1); got != core.StatusDead {
		t.Fatalf("during the partition node 0 holds node 1 as %v, want dead", got)
	}
	if got := len(c.View(0)); got != n {
		t.Fatalf("tombstones were dropped too early: %d records", got)
	}
	c.Heal()
	bound := 2 * c.Config().AntiEntropyInterval
	took, ok := c.RunUntil(c.Converged, bound)
	if !ok {
		t.Fatalf("one view not restored within %v of the heal", bound)
	}
	t.Logf("healed after %v", took)
}

// A member crashes and a new instance (a new node ID) starts at its
// authority, before the crash was noticed or after it was declared Dead: the
// new instance replaces the old one everywhere at a higher incarnation, and a
// stale message of the old instance changes nothing.
func TestRestartAtSameAuthorityBeforeAndAfterDetection(t *testing.T) {
	for _, down := range []time.Duration{time.Second, 20 * time.Second} {
		t.Run(down.String(), func(t *testing.T) {
			c := settled(t, protocolOptions(10, 8))
			const victim = 5
			old := c.NodeID(victim)
			c.Crash(victim)
			c.Run(down)
			if err := c.Restart(victim, 0); err != nil {
				t.Fatal(err)
			}
			fresh := c.NodeID(victim)
			_, ok := c.RunUntil(func() bool {
				if !c.Converged() {
					return false
				}
				for _, i := range c.LiveNodes() {
					if r, _ := c.Coordinator(i).Member(c.Authority(victim)); r.NodeID != fresh {
						return false
					}
				}
				return true
			}, 30*time.Second)
			if !ok {
				t.Fatalf("the new instance did not replace the old one everywhere")
			}
			if inc := c.Coordinator(victim).LocalNode().Incarnation; inc < 2 {
				t.Fatalf("new instance at incarnation %d, want above the old one's", inc)
			}
			// A stale message of the old instance changes nothing.
			stale := core.NodeRecord{NodeID: old, Authority: c.Authority(victim), Status: core.StatusUp, Incarnation: 1}
			seed := c.Coordinator(0)
			_, err := seed.HandleGossip(c.Now(), core.GossipInbound{Message: core.Message{Kind: core.MessageGossip, From: c.Authority(victim), FromID: old, Entries: []core.NodeRecord{stale}}})
			if r, _ := seed.Member(c.Authority(victim)); r.NodeID != fresh {
				t.Fatalf("a stale message (err %v) revived the old instance: %+v", err, r)
			}
		})
	}
}

// A member leaves gracefully: its leave is done within 10 s, everyone holds it
// Removed within 20 s, and nobody ever declares it Dead.
func TestGracefulLeaveIsRemovedNeverDead(t *testing.T) {
	o := protocolOptions(10, 3)
	var dead []string
	o.OnEvent = func(at int, ev core.MemberEvent) {
		if ev.To == core.StatusDead {
			dead = append(dead, ev.Record.Authority)
		}
	}
	c := settled(t, o)
	const leaver = 4
	if err := c.Leave(leaver); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.RunUntil(func() bool { return c.HasLeft(leaver) }, 10*time.Second); !ok {
		t.Fatal("leave not done")
	}
	if _, ok := c.RunUntil(func() bool { return allSee(c, leaver, core.StatusRemoved) }, 20*time.Second); !ok {
		t.Fatal("leave did not reach everyone as Removed")
	}
	c.Run(20 * time.Second)
	if !allSee(c, leaver, core.StatusRemoved) || len(dead) > 0 {
		t.Fatalf("after leave: dead events for %v", dead)
	}
}

// Three members leave one after the other under 20% loss: each leave is done,
// every leaver ends Removed everywhere, and none is ever declared Dead.
func TestGracefulLeaveUnderLossIsNeverDead(t *testing.T) {
	o := protocolOptions(20, 16)
	var dead []string
	o.OnEvent = func(at int, ev core.MemberEvent) {
		if ev.To == core.StatusDead {
			dead = append(dead, ev.Record.Authority)
		}
	}
	c := settled(t, o)
	c.SetLoss(0.2)
	leavers := []int{3, 9, 14}
	for _, i := range leavers {
		if err := c.Leave(i); err != nil {
			t.Fatal(err)
		}
		if _, ok := c.RunUntil(func() bool { return c.HasLeft(i) }, 30*time.Second); !ok {
			t.Fatalf("leave of %s not done", c.Authority(i))
		}
	}
	c.Run(60 * time.Second)
	for _, i := range leavers {
		if !allSee(c, i, core.StatusRemoved) {
			t.Errorf("%s is not Removed everywhere", c.Authority(i))
		}
	}
	if len(dead) > 0 {
		t.Fatalf("a leaver was declared Dead: %v", dead)
	}
}

// A member stalls for 2 s (within what the LAN preset survives; see
// DefaultLANConfig): it notices its own stall (local health rises, the
// gap is forgiven), suspects nobody for it, nobody is declared Dead, its local
// health decays back to 0, and the views agree.
func TestPauseRaisesLocalHealthAndBlamesNoOne(t *testing.T) {
	o := protocolOptions(10, 10)
	const paused = 3
	var bad []string
	o.OnEvent = func(at int, ev core.MemberEvent) {
		if ev.To == core.StatusDead || (at == paused && ev.To == core.StatusSuspect) {
			bad = append(bad, ev.Record.Authority+" "+ev.To.String())
		}
	}
	c := settled(t, o)
	coord := c.Coordinator(paused)
	c.Pause(paused, 2*time.Second)
	c.Run(2*time.Second + 200*time.Millisecond)
	if coord.LocalHealth() == 0 || coord.Stats().StallsForgiven == 0 {
		t.Fatalf("a 2 s stall was not noticed: health %d, stats %+v", coord.LocalHealth(), coord.Stats())
	}
	c.Run(30 * time.Second)
	if len(bad) > 0 {
		t.Fatalf("after a pause: %v", bad)
	}
	if coord.LocalHealth() != 0 {
		t.Fatalf("local health %d did not decay", coord.LocalHealth())
	}
	if !c.Converged() {
		t.Fatal("not converged after the pause")
	}
}

// A client joins through a seed: it learns every member, no member holds a
// record of it, and it learns of a crash.
func TestClientObservesWithoutBeingAMember(t *testing.T) {
	o := protocolOptions(6, 14)
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(0); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 5; i++ {
		if err := c.Join(i, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := c.RunUntil(c.Converged, 60*time.Second); !ok {
		t.Fatal("5 members did not converge in 60 s")
	}
	const client = 5
	if err := c.StartClient(client, 0); err != nil {
		t.Fatal(err)
	}
	c.Run(5 * time.Second)
	if got := len(c.Coordinator(client).Members()); got != 5 {
		t.Fatalf("client sees %d members, want 5", got)
	}
	for i := range 5 {
		if _, ok := c.Coordinator(i).Member(c.Authority(client)); ok {
			t.Fatalf("%s holds a record of the client", c.Authority(i))
		}
	}
	c.Crash(1)
	if _, ok := c.RunUntil(func() bool { return statusAt(c, client, 1) == core.StatusDead }, 30*time.Second); !ok {
		t.Fatal("the client did not learn of the crash")
	}
}

// Forty members with 60 bytes of metadata each and 300-byte messages go
// through loss, a crash, a leave and a partition: no message any of them
// sends is over MaxMessageBytes.
func TestEveryMessageFitsInLongRuns(t *testing.T) {
	o := protocolOptions(40, 15)
	o.Config = core.DefaultLANConfig()
	o.Config.MaxMessageBytes = 300
	o.Config.Meta = []byte(strings.Repeat("m", 60))
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(0); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 40; i++ {
		if err := c.Join(i, 0); err != nil {
			t.Fatal(err)
		}
	}
	c.SetLoss(0.05)
	c.Run(20 * time.Second)
	c.Crash(5)
	if err := c.Leave(6); err != nil {
		t.Fatal(err)
	}
	var low, high []int
	for i := range 40 {
		if i < 20 {
			low = append(low, i)
		} else {
			high = append(high, i)
		}
	}
	c.Partition(low, high)
	c.Run(20 * time.Second)
	c.Heal()
	c.Run(40 * time.Second)
	st := c.Stats()
	if st.Sent == 0 {
		t.Fatal("nothing sent")
	}
	if st.Oversize != 0 || st.MaxSize > o.Config.MaxMessageBytes {
		t.Fatalf("largest message %d bytes, %d over MaxMessageBytes %d", st.MaxSize, st.Oversize, o.Config.MaxMessageBytes)
	}
}

// An instance that hears of a newer instance at its authority, after its
// claim window, stops and reports the conflict instead of fighting.
func TestOldInstanceYieldsToNewer(t *testing.T) {
	c := settled(t, protocolOptions(5, 9))
	old := c.Coordinator(3)
	c.Run(2*c.Config().AntiEntropyInterval + time.Second) // past the old instance's claim window
	newer := core.NodeRecord{NodeID: c.NodeID(3) + "-b", Authority: c.Authority(3), Status: core.StatusUp, Incarnation: old.LocalNode().Incarnation + 1}
	o, err := old.HandleGossip(c.Now(), core.GossipInbound{Message: core.Message{Kind: core.MessageGossip, From: c.Authority(0), FromID: c.NodeID(0), Entries: []core.NodeRecord{newer}}})
	if err != nil {
		t.Fatal(err)
	}
	if old.State() != core.CoordinatorStopped {
		t.Fatalf("old instance state %v, want stopped", old.State())
	}
	if len(o.Members) != 1 || !o.Members[0].Conflict {
		t.Fatalf("members events %+v, want one conflict", o.Members)
	}
}

// Malformed messages are refused whole, before they change anything, and
// counted.
func TestBadInputIsRefused(t *testing.T) {
	c := settled(t, protocolOptions(2, 4))
	coord := c.Coordinator(0)
	before := coord.Records()
	from := "10.9.9.9:7946"
	bad := []core.Message{
		{Kind: 0, From: from, FromID: "x"},
		{Kind: 99, From: from, FromID: "x"},
		{Kind: core.MessageGossip, From: "", FromID: "x"},
		{Kind: core.MessageGossip, From: from, FromID: ""},
		{Kind: core.MessageGossip, From: from, FromID: "x", Entries: []core.NodeRecord{{NodeID: "", Authority: "a", Status: core.StatusUp}}},
		{Kind: core.MessageGossip, From: from, FromID: "x", Entries: []core.NodeRecord{{NodeID: "n", Authority: "a", Status: core.StatusUp}, {NodeID: "n", Authority: "b", Status: 42}}},
		{Kind: core.MessageDigest, From: from, FromID: "x", Digest: make([]uint64, 3)},
		{Kind: core.MessageDigestReply, From: from, FromID: "x", Want: []uint32{1 << 20}},
	}
	for i, m := range bad {
		if _, err := coord.HandleGossip(c.Now(), core.GossipInbound{Message: m}); !errors.Is(err, core.ErrInvalidMessage) {
			t.Errorf("bad message %d: err = %v, want ErrInvalidMessage", i, err)
		}
	}
	if after := coord.Records(); len(before) != len(after) {
		t.Errorf("table changed: %d → %d records", len(before), len(after))
	}
	if got := coord.Stats().MessagesRejected; got < uint64(len(bad)) {
		t.Errorf("MessagesRejected = %d, want >= %d", got, len(bad))
	}
}

// Random messages, valid-looking and not, thrown at a member of a small
// cluster: nothing panics, every reply fits MaxMessageBytes, and every record
// the member holds stays valid.
func TestRandomInputNeverPanics(t *testing.T) {
	c := settled(t, protocolOptions(4, 17))
	coord := c.Coordinator(0)
	cfg := c.Config()
	rng := rand.New(rand.NewPCG(17, 17))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	str := func() string {
		return pick("", c.Authority(1), c.Authority(2), c.Authority(0), "x:1", c.NodeID(1), c.NodeID(0), "n")
	}
	now := c.Now()
	for i := 0; i < 20000; i++ {
		m := core.Message{Kind: core.MessageKind(rng.IntN(9)), From: str(), FromID: str(), Seq: rng.Uint64() % 4}
		for j := rng.IntN(4); j > 0; j-- {
			m.Entries = append(m.Entries, core.NodeRecord{NodeID: str(), Authority: str(), Status: core.NodeStatus(rng.IntN(8)), Incarnation: rng.Uint64() % 5, Meta: make([]byte, rng.IntN(3)*300)})
		}
		if rng.IntN(3) == 0 {
			m.Digest = make([]uint64, rng.IntN(3)*64+rng.IntN(2))
		}
		for j := rng.IntN(3); j > 0; j-- {
			m.Want = append(m.Want, uint32(rng.IntN(2000)))
		}
		o, _ := coord.HandleGossip(now, core.GossipInbound{Source: "fuzz", Message: m})
		for _, out := range o.Outbound {
			if core.EstimateSize(out.Message) > cfg.MaxMessageBytes {
				t.Fatalf("reply of %d bytes", core.EstimateSize(out.Message))
			}
		}
		if i%100 == 0 {
			now = now.Add(100 * time.Millisecond)
			coord.Poll(now)
		}
		if coord.State() == core.CoordinatorStopped {
			t.Logf("stopped after %d messages: it yielded its authority to a forged newer instance", i)
			break
		}
	}
	for _, r := range coord.Records() {
		if r.NodeID == "" || r.Authority == "" || !r.Status.Valid() || len(r.Meta) > cfg.MaxMetadataBytes {
			t.Fatalf("table holds an invalid record: %+v", r)
		}
	}
}

// A member alone in its cluster has no one to tell that it leaves: the leave
// is done as soon as it is asked for.
func TestLoneMemberLeaveIsDoneAtOnce(t *testing.T) {
	c, err := New(protocolOptions(1, 11))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(0); err != nil {
		t.Fatal(err)
	}
	c.Run(time.Second)
	coord := c.Coordinator(0)
	if err := c.Leave(0); err != nil {
		t.Fatal(err)
	}
	if !coord.LeaveDone() || !c.HasLeft(0) {
		t.Fatalf("a lone member's leave is not done at once (state %s)", coord.State())
	}
	if got := coord.LocalNode().Status; got != core.StatusLeaving {
		t.Errorf("LocalNode().Status = %s, want leaving", got)
	}
}

// PeerStateEntries counts the coordinator's bookkeeping about other nodes:
// it stays put while the membership is steady, and falls back once the
// crashed members' tombstones, quarantine entries and reconnect probes are
// gone.
func TestPeerStateEntriesFollowTheMembers(t *testing.T) {
	c := settled(t, protocolOptions(12, 21))
	coord := c.Coordinator(0)
	cfg := c.Config()
	c.Run(2 * cfg.AntiEntropyInterval)
	steady := coord.PeerStateEntries()
	c.Run(2 * cfg.AntiEntropyInterval)
	if got := coord.PeerStateEntries(); got != steady {
		t.Errorf("steady cluster of 12: %d entries, then %d", steady, got)
	}
	for i := 6; i < 12; i++ {
		c.Crash(i)
	}
	c.Run(cfg.SuspicionMaxTimeout + 10*time.Second)
	dead := coord.PeerStateEntries()
	c.Run(cfg.TombstoneRetention + 2*cfg.AntiEntropyInterval)
	after := coord.PeerStateEntries()
	t.Logf("12 members: %d entries; 6 just crashed: %d; tombstones pruned: %d", steady, dead, after)
	if steady < 12 || after >= steady || after >= dead {
		t.Errorf("entries: %d with 12 members, %d with 6 Dead, %d after the prune: want fewer after the prune than before", steady, dead, after)
	}
}

// An operator restarts a crashed process under the same node ID (as the
// agent does with the same --name): the new instance starts at incarnation
// 1, learns that the cluster holds its old life as Up, Suspect or Dead
// (quarantined), takes that record over or raises its incarnation above it,
// and is Up everywhere.
func TestRestartWithTheSameNodeID(t *testing.T) {
	for _, tc := range []struct {
		down time.Duration   // how long the node stays down, or at most until the seed holds it as held
		held core.NodeStatus // the old life, in the seed's view, at the restart
	}{{time.Second, core.StatusUp}, {10 * time.Second, core.StatusSuspect}, {20 * time.Second, core.StatusDead}} {
		down := tc.down
		t.Run(tc.held.String(), func(t *testing.T) {
			c := settled(t, protocolOptions(10, 12))
			const victim = 5
			before := c.Coordinator(victim).LocalNode().Incarnation
			c.Crash(victim)
			if tc.held == core.StatusSuspect {
				c.RunUntil(func() bool { return statusAt(c, 0, victim) == core.StatusSuspect }, down)
			} else {
				c.Run(down)
			}
			if got := statusAt(c, 0, victim); got != tc.held {
				t.Fatalf("after %v down the seed holds the old life %s, want %s", down, got, tc.held)
			}
			if err := c.RestartSameID(victim, 0); err != nil {
				t.Fatal(err)
			}
			fresh := c.Coordinator(victim)
			if _, ok := c.RunUntil(func() bool { return c.Converged() && allSee(c, victim, core.StatusUp) }, 30*time.Second); !ok {
				t.Fatalf("the restarted instance is not Up everywhere (seed sees %s)", statusAt(c, 0, victim))
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

// An operator quarantines a live member: it is Dead and quarantined in the
// operator's node at once (and a node cannot quarantine itself); the live
// member learns it was declared Dead and refutes at a higher incarnation,
// which the quarantine lets through.
func TestQuarantineByOperator(t *testing.T) {
	o := protocolOptions(5, 11)
	var events []core.QuarantineEvent
	o.OnOutcome = func(at int, out core.Outcome) {
		if at == 0 {
			events = append(events, out.Quarantine...)
		}
	}
	c := settled(t, o)
	coord := c.Coordinator(0)
	target, _ := coord.Member(c.Authority(2))
	events = nil
	if err := c.Quarantine(0, c.Authority(2), target.Incarnation); err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Authority != c.Authority(2) || events[0].Expired {
		t.Fatalf("quarantine events %+v", events)
	}
	if r, _ := coord.Member(c.Authority(2)); r.Status != core.StatusDead {
		t.Fatalf("quarantined member is %v, want dead", r.Status)
	}
	if _, err := coord.HandleQuarantine(c.Now(), c.Authority(0), 1); !errors.Is(err, core.ErrInvalidState) {
		t.Fatalf("quarantining oneself: %v", err)
	}
	if _, ok := c.RunUntil(c.Converged, 30*time.Second); !ok {
		t.Fatal("the refutation did not bring the member back")
	}
	if r, _ := coord.Member(c.Authority(2)); r.Incarnation <= target.Incarnation {
		t.Fatalf("member back at incarnation %d, want above %d", r.Incarnation, target.Incarnation)
	}
}

// A crashed member's quarantine ends after QuarantineTTL (reported once,
// with Expired set), and its tombstone is dropped after TombstoneRetention,
// not before.
func TestTombstonesAndQuarantineExpire(t *testing.T) {
	o := protocolOptions(5, 12)
	o.Config = core.DefaultLANConfig()
	o.Config.QuarantineTTL = 20 * time.Second
	o.Config.TombstoneRetention = 40 * time.Second
	var expired []core.QuarantineEvent
	o.OnOutcome = func(at int, out core.Outcome) {
		for _, q := range out.Quarantine {
			if at == 0 && q.Expired {
				expired = append(expired, q)
			}
		}
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(0); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 5; i++ {
		if err := c.Join(i, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := c.RunUntil(c.Converged, 20*time.Second); !ok {
		t.Fatal("not converged")
	}
	coord := c.Coordinator(0)
	c.Crash(4)
	if _, ok := c.RunUntil(func() bool { return allSee(c, 4, core.StatusDead) }, 30*time.Second); !ok {
		t.Fatal("crash not detected")
	}
	c.Run(25 * time.Second)
	if len(expired) != 1 || expired[0].Authority != c.Authority(4) {
		t.Fatalf("expired quarantine events %+v, want one for %s", expired, c.Authority(4))
	}
	if _, ok := coord.Member(c.Authority(4)); !ok {
		t.Fatal("tombstone dropped before TombstoneRetention")
	}
	c.Run(30 * time.Second)
	if _, ok := coord.Member(c.Authority(4)); ok {
		t.Fatal("tombstone kept after TombstoneRetention")
	}
}

// heartbeatEpoch is the origin of heartbeat numbers: a member's first
// heartbeat is numbered at least the heartbeat intervals from it to the
// member's start (see core.MessageHeartbeat).
var heartbeatEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// A captured heartbeat replayed to a monitor after the sender crashed is
// not an arrival: the monitor's detector still loses the member, which is
// declared Dead as if nothing had been replayed.
func TestReplayedHeartbeatDoesNotFeedTheDetector(t *testing.T) {
	o := protocolOptions(2, 12)
	const a, b = 0, 1
	var captured []core.GossipInbound
	var authB, authA string
	o.OnOutcome = func(at int, out core.Outcome) {
		for _, m := range out.Outbound {
			if at == b && m.Target == authA && m.Message.Kind == core.MessageHeartbeat {
				captured = append(captured, core.GossipInbound{Source: authB, Message: m.Message})
			}
		}
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	authA, authB = c.Authority(a), c.Authority(b)
	start := c.Now()
	if err := c.Start(a); err != nil {
		t.Fatal(err)
	}
	if err := c.Join(b, a); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.RunUntil(c.Converged, 60*time.Second); !ok {
		t.Fatal("2 members did not converge in 60 s")
	}
	c.Run(5 * time.Second)
	if len(captured) < 3 {
		t.Fatalf("captured %d heartbeats of %s, want at least 3", len(captured), authB)
	}
	if first, last := captured[0].Message.Seq, captured[len(captured)-1].Message.Seq; last <= first {
		t.Fatalf("heartbeat Seq went from %d to %d, want increasing", first, last)
	}
	hb := c.Config().HeartbeatInterval
	if min := uint64(start.Sub(heartbeatEpoch) / hb); captured[0].Message.Seq < min {
		t.Errorf("heartbeat Seq %d does not start from the heartbeat intervals since 2020-01-01 at the start, %d", captured[0].Message.Seq, min)
	}
	c.Crash(b)
	crashed := c.Now()
	monitor := c.Coordinator(a)
	replays := 0
	_, dead := c.RunUntil(func() bool {
		if c.Now().Sub(crashed) >= time.Duration(replays+1)*300*time.Millisecond {
			out, err := monitor.HandleGossip(c.Now(), captured[replays%len(captured)])
			if err != nil {
				t.Fatalf("replay %d refused: %v", replays, err)
			}
			c.process(c.nodes[a], out)
			replays++
		}
		return statusAt(c, a, b) == core.StatusDead
	}, 60*time.Second)
	if !dead {
		t.Fatalf("%s not declared Dead while its heartbeats were replayed (status %s)", authB, statusAt(c, a, b))
	}
	// The detector's loss, then at most SuspicionMaxTimeout without
	// confirmations, with room.
	if took := c.Now().Sub(crashed); took > 12*time.Second {
		t.Errorf("Dead after %v with replays, want within 12 s", took)
	}
	if got := monitor.Stats().HeartbeatsStale; got == 0 || int(got) > replays {
		t.Errorf("HeartbeatsStale = %d after %d replays, want between 1 and %d", got, replays, replays)
	}
}
