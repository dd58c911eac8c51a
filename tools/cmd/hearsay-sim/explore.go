package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

// exploreFlags are the flags of -scenario explore.
type exploreFlags struct {
	seeds    int
	parallel int
	keep     string
	shrink   int
	budget   int
	verbose  bool
	trace    string
	from     time.Duration

	traceSlots []int // -trace parsed
}

func (f *exploreFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.seeds, "seeds", 1, "explore: how many seeds to run, from -seed on")
	fs.IntVar(&f.parallel, "parallel", 1, "explore: how many seeds run at once (goroutines, each its own simulation)")
	fs.StringVar(&f.keep, "keep", "", "explore: run only these faults of the seed's schedule (IDs, comma-separated, or none): replays a shrunk schedule; needs -seeds 1")
	fs.IntVar(&f.shrink, "shrink", -1, "explore: shrink the schedules of up to this many failing seeds, once for each invariant they violate (default: 1 with -seeds 1, else 0)")
	fs.IntVar(&f.budget, "budget", 300, "explore: the most replays one shrink may make")
	fs.BoolVar(&f.verbose, "v", false, "explore: print every seed, not only the failing ones")
	fs.StringVar(&f.trace, "trace", "", "explore: print what the run does about these slots (comma-separated): faults, member events about them, messages they send or handle, records, accusations and probes about them; needs -seeds 1")
	fs.DurationVar(&f.from, "trace-from", 0, "explore: with -trace, print from this virtual time on (since the run began, as violations print it)")
}

// parseKeep parses -keep: "" (all faults, nil), "none" (no fault) or IDs.
func parseKeep(s string) ([]int, error) {
	switch strings.TrimSpace(s) {
	case "":
		return nil, nil
	case "none":
		return []int{}, nil
	}
	var ids []int
	for _, part := range strings.Split(s, ",") {
		id, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || id < 1 {
			return nil, fmt.Errorf("-keep %q: want fault IDs (1, 2, ...) separated by commas, or none", s)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// parseSlots parses -trace: slots separated by commas.
func parseSlots(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var slots []int
	for _, part := range strings.Split(s, ",") {
		i, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || i < 0 {
			return nil, fmt.Errorf("-trace %q: want node slots (0, 1, ...) separated by commas", s)
		}
		slots = append(slots, i)
	}
	return slots, nil
}

// replayCommand is the command line that replays one run.
func replayCommand(nodes int, seed uint64, preset string, keep []int) string {
	cmd := fmt.Sprintf("hearsay-sim -scenario explore -nodes %d -seed %d -seeds 1", nodes, seed)
	if preset != "lan" {
		cmd += " -config " + preset
	}
	if keep != nil {
		ids := make([]string, len(keep))
		for i, id := range keep {
			ids[i] = strconv.Itoa(id)
		}
		k := strings.Join(ids, ",")
		if k == "" {
			k = "none"
		}
		cmd += " -keep " + k
	}
	return cmd
}

// runExplore runs -scenario explore and returns the exit status: 0 when no
// seed violated an invariant, 1 when one did or a run could not start.
func runExplore(f exploreFlags, nodes int, first uint64, preset string, cfg core.Config, keep []int, stdout, stderr io.Writer) int {
	if f.parallel < 1 {
		f.parallel = runtime.GOMAXPROCS(0)
	}
	shrink := f.shrink
	if shrink < 0 {
		shrink = 0
		if f.seeds == 1 {
			shrink = 1
		}
	}
	type outcome struct {
		r   sim.ExploreResult
		err error
	}
	results := make([]outcome, f.seeds)
	done := make([]bool, f.seeds)
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	next := 0
	start := time.Now()
	var wg sync.WaitGroup
	for range min(f.parallel, f.seeds) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				k := next
				next++
				mu.Unlock()
				if k >= f.seeds {
					return
				}
				o := sim.ExploreOptions{Nodes: nodes, Seed: first + uint64(k), Config: cfg, Keep: keep}
				if f.traceSlots != nil {
					o.Trace, o.TraceSlots, o.TraceFrom = stdout, f.traceSlots, f.from
				}
				r, err := sim.Explore(o)
				mu.Lock()
				results[k], done[k] = outcome{r, err}, true
				cond.Broadcast()
				mu.Unlock()
			}
		}()
	}
	// Print in seed order as results come in.
	var failed []int
	byInv := map[sim.Invariant]int{}
	var virtual time.Duration
	errors := 0
	for k := range f.seeds {
		mu.Lock()
		for !done[k] {
			cond.Wait()
		}
		o := results[k]
		mu.Unlock()
		seed := first + uint64(k)
		if o.err != nil {
			fmt.Fprintf(stderr, "hearsay-sim: seed %d: %v\n", seed, o.err)
			errors++
			continue
		}
		virtual += o.r.Virtual
		if o.r.OK() {
			if f.verbose {
				fmt.Fprint(stdout, o.r.String())
			}
			continue
		}
		failed = append(failed, k)
		for _, inv := range sim.Invariants() {
			if o.r.Violated(inv) {
				byInv[inv]++
			}
		}
		fmt.Fprint(stdout, o.r.String())
		fmt.Fprintf(stdout, "  replay: %s\n\n", replayCommand(nodes, seed, preset, keep))
	}
	wg.Wait()
	wall := time.Since(start)

	for _, k := range failed[:min(shrink, len(failed))] {
		o := results[k]
		seed := first + uint64(k)
		for _, inv := range sim.Invariants() {
			if !o.r.Violated(inv) {
				continue
			}
			t0 := time.Now()
			r, runs, err := sim.Shrink(sim.ExploreOptions{Nodes: nodes, Seed: seed, Config: cfg, Keep: keep}, inv, f.budget)
			if err != nil {
				fmt.Fprintf(stderr, "hearsay-sim: shrinking seed %d for %s: %v\n", seed, inv, err)
				errors++
				continue
			}
			fmt.Fprintf(stdout, "seed %d shrunk for %s: %d of %d faults left after %d replays (%.1f s):\n",
				seed, inv, len(r.Schedule.Faults), len(o.r.Schedule.Faults), runs, time.Since(t0).Seconds())
			fmt.Fprint(stdout, indent(r.String()))
			fmt.Fprintf(stdout, "  replay: %s\n\n", replayCommand(nodes, seed, preset, r.Schedule.IDs()))
		}
	}

	var parts []string
	for _, inv := range sim.Invariants() {
		if n := byInv[inv]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", inv, n))
		}
	}
	verdict := "no violation"
	if len(failed) > 0 {
		verdict = fmt.Sprintf("%d failed (%s)", len(failed), strings.Join(parts, ", "))
	}
	fmt.Fprintf(stdout, "explore: %d seeds from %d, %d nodes, %s config: %s; %.1f s wall (%.3f s per seed, %d at once), %.0f s virtual\n",
		f.seeds, first, nodes, preset, verdict, wall.Seconds(), wall.Seconds()/float64(f.seeds)*float64(min(f.parallel, f.seeds)), min(f.parallel, f.seeds), virtual.Seconds())
	if len(failed) > 0 || errors > 0 {
		return 1
	}
	return 0
}

// indent prefixes every line of s with two spaces.
func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// exploreOnly lists the flags that only -scenario explore takes, and
// scenarioOnly those it refuses.
var (
	exploreOnly  = []string{"seeds", "parallel", "keep", "shrink", "budget", "v", "trace", "trace-from"}
	scenarioOnly = []string{"loss", "duration", "json", "workers"}
)

// misplaced returns the first flag set on the command line that the
// scenario does not take, or "".
func misplaced(fs *flag.FlagSet, explore bool) string {
	bad := ""
	fs.Visit(func(fl *flag.Flag) {
		if bad != "" {
			return
		}
		if explore && slices.Contains(scenarioOnly, fl.Name) || !explore && slices.Contains(exploreOnly, fl.Name) {
			bad = fl.Name
		}
	})
	return bad
}
