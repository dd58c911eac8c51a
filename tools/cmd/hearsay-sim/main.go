// Command hearsay-sim runs one of core/sim's scenarios — N hearsay
// coordinators over a simulated network in virtual time — and prints what it
// measured: convergence in gossip rounds against the epidemic bound, failure
// detection times, false positives, and traffic per member. Or it runs the
// fault explorer (-scenario explore, see sim.Explore) over a range of seeds.
//
// The run is deterministic: the same flags give the same figures (except
// wall_seconds).
//
// # Usage
//
//	go run ./tools/cmd/hearsay-sim -scenario bootstrap -nodes 1000 -seed 1 -json
//	go run ./tools/cmd/hearsay-sim -scenario crash -nodes 100
//	go run ./tools/cmd/hearsay-sim -scenario loss -nodes 50 -loss 0.2 -duration 10m
//	go run ./tools/cmd/hearsay-sim -scenario bootstrap -nodes 2000 -memprofile heap.pprof -cpuprofile cpu.pprof
//	go run ./tools/cmd/hearsay-sim -scenario crash -nodes 10000 -workers 2 -json
//	go run ./tools/cmd/hearsay-sim -scenario crash -nodes 32 -set MonitorCount=3 -set HeartbeatInterval=500ms
//
// Scenarios: bootstrap, broadcast, crash, leave, loss, meta, partition,
// pause, restart, spread (see sim.RunScenario). -set Field=value
// (repeatable) overrides a timing, count or size field of the preset
// (-config), so that a variant can be measured with one command. The exit status is 0 when every check of the scenario
// passed, 1 when one failed or the run could not start, 2 for bad flags.
//
// # The fault explorer
//
//	go run ./tools/cmd/hearsay-sim -scenario explore -nodes 20 -seeds 1000 -seed 1 -parallel 2
//	go run ./tools/cmd/hearsay-sim -scenario explore -nodes 20 -seed 17 -seeds 1
//	go run ./tools/cmd/hearsay-sim -scenario explore -nodes 20 -seed 17 -seeds 1 -keep 3,7
//
// Each of the -seeds seeds from -seed on draws a random fault schedule, runs
// it and checks the invariants (sim.Invariants). A failing seed is printed
// with its violations, its schedule (one fault per line, with times) and the
// command that replays it. With -seeds 1 the failing schedule is also shrunk
// (-shrink sets how many failing seeds to shrink) to a minimal one that still
// fails, printed with the -keep command that replays it. -trace SLOTS
// (with -seeds 1) prints what the run did about those slots from -trace-from
// on: the faults, every member event about them, the probes and accusations
// of them, the messages they send and handle:
//
//	go run ./tools/cmd/hearsay-sim -scenario explore -nodes 20 -seed 17 -seeds 1 -shrink 0 -trace 5 -trace-from 30s
//
// The exit status is 0 when no seed violated an invariant, 1 when one did, 2
// for bad flags.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is the whole command; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hearsay-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		scenario = fs.String("scenario", "bootstrap", "scenario to run: "+strings.Join(sim.Scenarios(), ", ")+", or explore (the fault explorer)")
		nodes    = fs.Int("nodes", 50, "number of nodes (>= 2)")
		seed     = fs.Uint64("seed", 1, "random seed: the same seed gives the same run")
		loss     = fs.Float64("loss", 0, "loss rate in [0, 1): for -scenario loss the lossy phase's (0 means 0.2), otherwise a background loss")
		duration = fs.Duration("duration", 0, "length of the scenario's main phase (0: its default, e.g. 10m for loss, 30s for partition)")
		preset   = fs.String("config", "lan", "configuration preset: lan, wan or local")
		asJSON   = fs.Bool("json", false, "print one JSON object instead of a summary")
		workers  = fs.Int("workers", 1, "goroutines that run the coordinators (the figures are the same whatever the number; 2 on a 2-core machine halves nearly all of the wall time of a large run)")
		set      settings
		ex       exploreFlags
		prof     profileFlags
	)
	fs.Var(&set, "set", "override a field of the preset, as Field=value (e.g. MonitorCount=3, HeartbeatInterval=500ms); repeatable")
	ex.register(fs)
	prof.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: hearsay-sim -scenario NAME -nodes N -seed S [-loss P] [-duration D] [-config lan|wan|local] [-set Field=value]... [-workers W] [-json] [-cpuprofile F] [-memprofile F]\n")
		fmt.Fprintf(fs.Output(), "       hearsay-sim -scenario explore -nodes N -seeds K [-seed S] [-parallel P] [-keep IDS] [-shrink M] [-trace SLOTS [-trace-from D]] [-config lan|wan|local] [-set Field=value]... [-v]\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hearsay-sim: "+format+"\n", a...)
		fmt.Fprintln(stderr, "run hearsay-sim -h for the flags")
		return 2
	}
	var cfg core.Config
	switch *preset {
	case "lan":
		cfg = core.DefaultLANConfig()
	case "wan":
		cfg = core.DefaultWANConfig()
	case "local":
		cfg = core.DefaultLocalConfig()
	default:
		return usage("-config %q: want lan, wan or local", *preset)
	}
	if err := set.apply(&cfg); err != nil {
		return usage("%v", err)
	}
	if *scenario == "explore" {
		keep, err := parseKeep(ex.keep)
		if err == nil {
			ex.traceSlots, err = parseSlots(ex.trace)
		}
		switch {
		case fs.NArg() > 0:
			return usage("unexpected arguments: %s", strings.Join(fs.Args(), " "))
		case misplaced(fs, true) != "":
			return usage("-%s does not apply to -scenario explore", misplaced(fs, true))
		case *nodes < 5:
			return usage("-nodes %d: the explorer wants at least 5", *nodes)
		case ex.seeds < 1:
			return usage("-seeds %d: want at least 1", ex.seeds)
		case ex.parallel < 1:
			return usage("-parallel %d: want at least 1", ex.parallel)
		case ex.budget < 1:
			return usage("-budget %d: want at least 1", ex.budget)
		case err != nil:
			return usage("%v", err)
		case keep != nil && ex.seeds != 1:
			return usage("-keep names faults of one seed's schedule: use it with -seeds 1")
		case ex.traceSlots != nil && ex.seeds != 1:
			return usage("-trace prints one run: use it with -seeds 1")
		}
		stopProfiles, err := prof.start()
		if err != nil {
			fmt.Fprintln(stderr, "hearsay-sim:", err)
			return 1
		}
		code := runExplore(ex, *nodes, *seed, *preset, cfg, keep, stdout, stderr)
		if err := stopProfiles(); err != nil {
			fmt.Fprintln(stderr, "hearsay-sim:", err)
		}
		return code
	}
	switch {
	case fs.NArg() > 0:
		return usage("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	case misplaced(fs, false) != "":
		return usage("-%s applies to -scenario explore only", misplaced(fs, false))
	case !slices.Contains(sim.Scenarios(), *scenario):
		return usage("-scenario %q: want one of %s, explore", *scenario, strings.Join(sim.Scenarios(), ", "))
	case *nodes < 2:
		return usage("-nodes %d: want at least 2", *nodes)
	case !(*loss >= 0 && *loss < 1):
		return usage("-loss %v: want a rate in [0, 1)", *loss)
	case *duration < 0:
		return usage("-duration %v: want >= 0", *duration)
	case *workers < 1:
		return usage("-workers %d: want at least 1", *workers)
	}

	stopProfiles, err := prof.start()
	if err != nil {
		fmt.Fprintln(stderr, "hearsay-sim:", err)
		return 1
	}
	start := time.Now()
	r, err := sim.RunScenario(*scenario, sim.ScenarioOptions{
		Nodes: *nodes, Seed: *seed, Loss: *loss, Duration: *duration, Config: cfg, Workers: *workers,
		RunParallel: onGoroutines,
	})
	r.WallSeconds = time.Since(start).Seconds()
	if perr := stopProfiles(); perr != nil {
		fmt.Fprintln(stderr, "hearsay-sim:", perr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "hearsay-sim:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(r); err != nil {
			fmt.Fprintln(stderr, "hearsay-sim:", err)
			return 1
		}
	} else {
		summary(stdout, &r)
	}
	if !r.OK() {
		return 1
	}
	return 0
}

// summary prints r for a reader.
func summary(w io.Writer, r *sim.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, a...)...) }
	p("scenario", "%s: %d nodes, seed %d, loss %.0f%%, fanout %d, round %v",
		r.Scenario, r.Nodes, r.Seed, 100*r.Loss, r.Fanout, time.Duration(r.GossipIntervalSeconds*float64(time.Second)))
	p("bootstrap", "converged in %.2f s, settled %.2f s later", r.BootstrapSeconds, r.SettleSeconds)
	p("converge", "%.1f rounds after the scenario's event (converged: %v); epidemic bound %.2f rounds", r.ConvergeRounds, r.Converged, r.EpidemicBoundRounds)
	if r.Scenario == "broadcast" {
		p("broadcast", "%d of %d reached every member; mean coverage %.2f%%; rounds to all: p50 %.2f, max %.2f; duplicates %d",
			r.BroadcastsReachedAll, r.Broadcasts, 100*r.BroadcastCoverage, r.BroadcastRoundsP50, r.BroadcastRoundsMax, r.BroadcastDuplicates)
	}
	if r.Scenario == "spread" || r.Scenario == "meta" {
		p("spread", "%.2f rounds to reach every member (1.5 x bound = %.2f)", r.SpreadRounds, 1.5*r.EpidemicBoundRounds)
	}
	if r.Scenario == "crash" {
		p("detect", "p50 %.2f s, every live view %.2f s", r.DetectSecondsP50, r.DetectSecondsMax)
	}
	p("false", "%d dead, %d suspect", r.FalseDead, r.FalseSuspect)
	p("traffic", "%.2f msgs/node/s, %.0f bytes/node/s; largest message %d of %d bytes, %d oversize",
		r.MsgsPerNodePerSec, r.BytesPerNodePerSec, r.LargestMessageBytes, r.MaxMessageBytes, r.Oversize)
	p("time", "%.1f virtual s in %.2f wall s", r.VirtualSeconds, r.WallSeconds)
	tw.Flush()
	fmt.Fprintln(w, "checks:")
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s  %s: %s\n", mark, c.Name, c.Detail)
	}
}

// onGoroutines is the simulator's RunParallel: each function but the first
// on a goroutine of its own, the first on the caller's (the simulator starts
// no goroutine itself).
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
