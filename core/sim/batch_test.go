package sim

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// runResult is what TestWorkersDoNotChangeTheRun compares of two runs.
type runResult struct {
	stats  NetStats
	nodes  []NodeStats
	events [][]core.MemberEvent
	views  [][]core.NodeRecord
}

// A run on several workers is the run on one, event for event: the same
// member events at every node, the same traffic, the same views, through
// joins, loss, a crash, a leave, a pause, a partition and a restart; also
// when the coordinators reuse their events' array
// (Config.ReuseMemberEvents), which the workers copy what they keep of.
func TestWorkersDoNotChangeTheRun(t *testing.T) {
	run := func(workers int, reuse bool) (runResult, uint64) {
		cfg := core.DefaultLANConfig()
		cfg.ReuseMemberEvents = reuse // the events must be read before the node's next call
		c, err := New(Options{Nodes: 24, Seed: 11, Loss: 0.05, Config: cfg, RecordEvents: true, Workers: workers, RunParallel: onGoroutines})
		if err != nil {
			t.Fatal(err)
		}
		c.minWindow = 1 // every window on the workers, however few its events
		if _, ok, err := c.Bootstrap(0, time.Second, time.Minute); err != nil || !ok {
			t.Fatalf("workers %d: bootstrap: converged %v, %v", workers, ok, err)
		}
		c.After(time.Second, func() { c.Crash(3) })
		c.After(2*time.Second, func() {
			if err := c.Leave(5); err != nil {
				t.Error(err)
			}
		})
		c.After(3*time.Second, func() { c.Pause(7, 2*time.Second) })
		c.After(4*time.Second, func() { c.Partition([]int{0, 1, 2, 4, 6, 8, 10}) })
		c.After(9*time.Second, func() { c.Heal() })
		c.After(10*time.Second, func() {
			if err := c.Restart(3, 0); err != nil {
				t.Error(err)
			}
		})
		c.Run(30 * time.Second)
		r := runResult{stats: c.Stats()}
		for i := range c.Len() {
			r.nodes = append(r.nodes, c.NodeStats(i))
			r.events = append(r.events, c.Events(i))
			r.views = append(r.views, c.View(i))
		}
		return r, c.windows
	}
	one, _ := run(1, false)
	for _, reuse := range []bool{false, true} {
		three, windows := run(3, reuse)
		if windows == 0 {
			t.Fatal("no window ran on the workers")
		}
		compareRuns(t, one, three)
	}
}

func compareRuns(t *testing.T, one, three runResult) {
	t.Helper()
	if !reflect.DeepEqual(one.stats, three.stats) {
		t.Errorf("traffic differs:\n1 worker:  %+v\n3 workers: %+v", one.stats, three.stats)
	}
	for i := range one.nodes {
		if !reflect.DeepEqual(one.nodes[i], three.nodes[i]) {
			t.Errorf("slot %d: traffic differs: %+v, %+v", i, one.nodes[i], three.nodes[i])
		}
		if !reflect.DeepEqual(one.events[i], three.events[i]) {
			t.Errorf("slot %d: member events differ (%d and %d events)", i, len(one.events[i]), len(three.events[i]))
		}
		if !reflect.DeepEqual(one.views[i], three.views[i]) {
			t.Errorf("slot %d: views differ", i)
		}
	}
}

// A scenario reports the same figures on two workers as on one.
func TestScenarioWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a scenario twice")
	}
	one, err := RunScenario("crash", ScenarioOptions{Nodes: 60, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	two, err := RunScenario("crash", ScenarioOptions{Nodes: 60, Seed: 2, Workers: 2, RunParallel: onGoroutines})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one, two) {
		t.Errorf("reports differ:\n1 worker:  %+v\n2 workers: %+v", one, two)
	}
}

// onGoroutines is a RunParallel that runs each function but the first on a
// goroutine of its own and the first on the caller's.
func onGoroutines(fns ...func()) {
	var wg sync.WaitGroup
	for _, fn := range fns[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn()
		}()
	}
	fns[0]()
	wg.Wait()
}

// Several workers without a RunParallel to run them on is a clear error,
// not a run on goroutines the simulator would have to start itself.
func TestWorkersNeedRunParallel(t *testing.T) {
	if _, err := New(Options{Nodes: 3, Seed: 1, Workers: 2}); err == nil {
		t.Fatal("New accepted Workers 2 without RunParallel")
	}
	if _, err := New(Options{Nodes: 3, Seed: 1, Workers: 2, RunParallel: onGoroutines}); err != nil {
		t.Fatalf("New refused Workers 2 with RunParallel: %v", err)
	}
}
