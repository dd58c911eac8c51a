package sim

import (
	"reflect"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// The queue pops events in time order, and events due at the same time in the
// order they were pushed.
func TestEventQueueOrder(t *testing.T) {
	var q eventQueue
	ats := []int64{50, 10, 30, 10, 40, 20, 10, 30}
	for i, at := range ats {
		q.push(event{at: at, ref: int32(i)})
	}
	var got []int32
	for q.len() > 0 {
		got = append(got, q.pop().ref)
	}
	want := []int32{1, 3, 6, 5, 2, 7, 4, 0}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pop order: got %v, want %v", got, want)
	}
}

func newStarted(t *testing.T, opts Options) *Cluster {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(0); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < c.Len(); i++ {
		if err := c.Join(i, 0); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// Two runs from the same seed are identical, to the message.
func TestSameSeedSameRun(t *testing.T) {
	run := func(seed uint64) (NetStats, [][]core.NodeRecord) {
		c := newStarted(t, Options{Nodes: 20, Seed: seed, Loss: 0.1})
		c.Run(10 * time.Second)
		var views [][]core.NodeRecord
		for i := range c.Len() {
			views = append(views, c.View(i))
		}
		return c.Stats(), views
	}
	s1, v1 := run(7)
	s2, v2 := run(7)
	if !reflect.DeepEqual(s1, s2) {
		t.Errorf("same seed, different traffic:\n%+v\n%+v", s1, s2)
	}
	if !reflect.DeepEqual(v1, v2) {
		t.Errorf("same seed, different views")
	}
	if s1.Sent == 0 {
		t.Errorf("nothing was sent in 10 s")
	}
	s3, _ := run(8)
	if reflect.DeepEqual(s1, s3) {
		t.Errorf("seeds 7 and 8 gave identical traffic: the seed is not used")
	}
}

// The loss rate drops about that fraction of the messages.
func TestLossRate(t *testing.T) {
	c := newStarted(t, Options{Nodes: 20, Seed: 1, Loss: 0.3})
	c.Run(20 * time.Second)
	st := c.Stats()
	frac := float64(st.Lost) / float64(st.Sent)
	if st.Sent < 1000 || frac < 0.27 || frac > 0.33 {
		t.Fatalf("lost %d of %d messages (%.3f), want about 0.3", st.Lost, st.Sent, frac)
	}
	if st.Delivered+st.Lost+st.ToDown+st.Unroutable+st.Partitioned+uint64(c.inFlight()) != st.Sent {
		t.Fatalf("messages unaccounted for: %+v, in flight %d", st, c.inFlight())
	}
}

// A link loss of 1 cuts one direction of one link only.
func TestLinkLoss(t *testing.T) {
	c := newStarted(t, Options{Nodes: 4, Seed: 1})
	c.SetLinkLoss(1, 2, 1)
	var oneToTwo, twoToOne int
	c.onDeliver = func(from, to int32, _ *inflight) {
		switch {
		case from == 1 && to == 2:
			oneToTwo++
		case from == 2 && to == 1:
			twoToOne++
		}
	}
	c.Run(20 * time.Second)
	if oneToTwo != 0 || twoToOne == 0 {
		t.Fatalf("delivered 1→2: %d (want 0), 2→1: %d (want > 0)", oneToTwo, twoToOne)
	}
}

// No message crosses a partition; after Heal they do again.
func TestPartitionCutsTraffic(t *testing.T) {
	c := newStarted(t, Options{Nodes: 8, Seed: 1})
	if _, ok := c.RunUntil(c.Converged, time.Minute); !ok {
		t.Fatal("8 nodes did not converge")
	}
	side := func(i int32) bool { return i < 4 }
	crossed := 0
	c.onDeliver = func(from, to int32, _ *inflight) {
		if side(from) != side(to) {
			crossed++
		}
	}
	c.Partition([]int{0, 1, 2, 3})
	c.Run(10 * time.Second)
	if crossed != 0 {
		t.Fatalf("%d messages crossed the partition", crossed)
	}
	if c.Stats().Partitioned == 0 {
		t.Fatal("nothing was dropped by the partition: the sides never tried to talk")
	}
	c.Heal()
	c.Run(30 * time.Second)
	if crossed == 0 {
		t.Fatal("no message crossed after Heal")
	}
}

// A crashed node neither sends nor handles anything, while a paused node
// handles, on resume, what arrived during the pause.
func TestCrashAndPause(t *testing.T) {
	c := newStarted(t, Options{Nodes: 10, Seed: 1})
	if _, ok := c.RunUntil(c.Converged, time.Minute); !ok {
		t.Fatal("10 nodes did not converge")
	}
	c.Crash(2)
	c.Pause(3, 2*time.Second)
	crashed, paused := c.NodeStats(2), c.NodeStats(3)
	c.Run(1900 * time.Millisecond)
	if got := c.NodeStats(2); got != crashed {
		t.Errorf("crashed node's counters moved: %+v → %+v", crashed, got)
	}
	if got := c.NodeStats(3); got.MsgsSent != paused.MsgsSent || got.MsgsRecv != paused.MsgsRecv {
		t.Errorf("paused node sent or handled during its pause: %+v → %+v", paused, got)
	}
	queued := len(c.nodes[3].pending)
	if queued == 0 {
		t.Fatal("no message queued up for the paused node")
	}
	c.Run(200 * time.Millisecond)
	if got := c.NodeStats(3); got.MsgsRecv < paused.MsgsRecv+uint64(queued) {
		t.Errorf("after resume the paused node handled %d messages, want >= the %d queued", got.MsgsRecv-paused.MsgsRecv, queued)
	}
	if c.IsPaused(3) || !c.IsLive(3) || c.IsLive(2) {
		t.Errorf("states: paused(3)=%v live(3)=%v live(2)=%v", c.IsPaused(3), c.IsLive(3), c.IsLive(2))
	}
	if c.Stats().ToDown == 0 {
		t.Error("no message to the crashed node was dropped")
	}
}

// Messages over the MTU are dropped and counted, never delivered.
func TestMTU(t *testing.T) {
	c := newStarted(t, Options{Nodes: 30, Seed: 1, MTU: 256})
	biggest := int32(0)
	c.onDeliver = func(_, _ int32, f *inflight) { biggest = max(biggest, f.size) }
	c.Run(5 * time.Second)
	if st := c.Stats(); st.Oversize == 0 || st.MaxSize <= 256 {
		t.Fatalf("a 30-node view in 256-byte datagrams: oversize %d, largest %d; want some refused", st.Oversize, st.MaxSize)
	}
	if biggest > 256 {
		t.Fatalf("a %d-byte message was delivered over a 256-byte MTU", biggest)
	}
}

// Restart puts a new instance, with a new NodeID, at the same authority.
func TestRestartNewIdentity(t *testing.T) {
	c := newStarted(t, Options{Nodes: 3, Seed: 1})
	c.Run(time.Second)
	old := c.NodeID(1)
	if err := c.Restart(1, 0); err == nil {
		t.Fatal("restart of a running node: no error")
	}
	c.Crash(1)
	if err := c.Restart(1, 0); err != nil {
		t.Fatal(err)
	}
	if c.NodeID(1) == old || c.Authority(1) != "10.0.0.2:7946" || !c.IsLive(1) {
		t.Fatalf("after restart: id %q (old %q), authority %q, live %v", c.NodeID(1), old, c.Authority(1), c.IsLive(1))
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	bad := []Options{
		{Nodes: -1},
		{Nodes: 2, Loss: 1.5},
		{Nodes: 2, Tick: -time.Second},
		{Nodes: 2, Config: func() core.Config { c := core.DefaultLANConfig(); c.GossipNodes = 0; return c }()},
		{Nodes: 2, Authority: func(int) string { return "same:1" }},
	}
	for i, o := range bad {
		if _, err := New(o); err == nil {
			t.Errorf("case %d: New(%+v) gave no error", i, o)
		}
	}
}

func TestEpidemicBound(t *testing.T) {
	for _, tc := range []struct {
		n, k int
		want float64
	}{
		{1000, 3, 7.2858},
		{100, 3, 4.8570},
		{1, 3, 0},
	} {
		if got := EpidemicBound(tc.n, tc.k); got < tc.want-0.001 || got > tc.want+0.001 {
			t.Errorf("EpidemicBound(%d, %d) = %.4f, want %.4f", tc.n, tc.k, got, tc.want)
		}
	}
}

// With RecordEvents every member event is kept per node, and OnEvent sees the
// same events as they happen.
func TestEventLogAndHook(t *testing.T) {
	hooked := map[int]int{}
	c, err := New(Options{Nodes: 4, Seed: 1, RecordEvents: true,
		OnEvent: func(node int, ev core.MemberEvent) { hooked[node]++ }})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.Bootstrap(0, time.Second, time.Minute); err != nil || !ok {
		t.Fatalf("bootstrap: converged %v, %v", ok, err)
	}
	for i := range 4 {
		evs := c.Events(i)
		if len(evs) == 0 || len(evs) != hooked[i] {
			t.Errorf("node %d: %d events logged, %d hooked", i, len(evs), hooked[i])
		}
		ups := 0
		for _, ev := range evs {
			if ev.At.Before(c.start) || ev.At.After(c.Now()) {
				t.Errorf("node %d: event at %v outside the run [%v, %v]", i, ev.At, c.start, c.Now())
			}
			if ev.To == core.StatusUp && ev.Record.NodeID != c.NodeID(i) {
				ups++
			}
		}
		if ups < 3 || c.EventsTo(i, core.StatusUp) < ups {
			t.Errorf("node %d: %d Up events about the 3 others (EventsTo says %d)", i, ups, c.EventsTo(i, core.StatusUp))
		}
	}
	for j := range 4 {
		if got := c.Marked(c.NodeID(j), core.StatusUp); got < 3 {
			t.Errorf("node %d marked Up by %d nodes, want >= 3", j, got)
		}
	}
}
