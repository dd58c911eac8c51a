// Command hearsay-bench runs hearsay and hashicorp/memberlist side by side
// and prints one table with both and the ratio hearsay/memberlist per figure.
//
// By default both libraries run in this one process, every member on
// 127.0.0.1, one library after the other with the same N, alternating which
// goes first.
// In-process for both, because then both share the same Go scheduler, the same
// loopback and the same two cores, and the process's CPU time during each
// library's quiet window is that library's alone.
//
// # Usage
//
//	go run ./tools/cmd/hearsay-bench            # full run: N=8,32,64, both settings
//	go run ./tools/cmd/hearsay-bench -quick     # under two minutes
//	go run ./tools/cmd/hearsay-bench -n 16 -quiet 30s -json
//	go run ./tools/cmd/hearsay-bench -procs     # every member its own process
//
// With -procs every member is an agent process instead: the hearsay agent
// (tools/cmd/hearsay) against tools/cmd/memberlist-agent, both on their LAN
// presets, built from this checkout with go build unless -hearsay-bin and
// -memberlist-bin name the binaries. CPU and memory are then read per
// process from /proc, and views and counters over each agent's HTTP API.
//
// See BENCHMARKS.md at the repository root for what each figure means and the
// settings both sides run with.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hearsay-go/hearsay/tools/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "hearsay-bench:", err)
		}
		os.Exit(1)
	}
}

// libraries are the two sides, memberlist first in the list: in this
// process, or, with agents, as agent processes.
func libraries(agents *agentBinaries) []bench.Library {
	if agents != nil {
		return []bench.Library{
			{Name: "memberlist", New: bench.MemberlistAgents(agents.memberlist, agents.pprof)},
			{Name: "hearsay", New: bench.HearsayAgents(agents.hearsay, agents.pprof)},
		}
	}
	return []bench.Library{
		{Name: "memberlist", New: bench.NewMemberlist},
		{Name: "hearsay", New: bench.NewHearsay},
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hearsay-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := bench.DefaultOptions()
	eq := bench.MemberlistLANTiming()
	var (
		quick    = fs.Bool("quick", false, "short run (under two minutes): N=8,32, 1 join, 2 crashes, 5s quiet window")
		asJSON   = fs.Bool("json", false, "print the report as JSON")
		asMD     = fs.Bool("md", false, "print the table as Markdown")
		quietLog = fs.Bool("q", false, "no progress lines on stderr")
		sizes    = fs.String("n", "8,32,64", "comma-separated cluster sizes")
		settings = fs.String("settings", "preset,equal", "settings to run: preset (each library's LAN preset), equal (same timing for both)")
		libs     = fs.String("libs", "memberlist,hearsay", "libraries to run")
		joins    = fs.Int("joins", d.Joins, "clusters formed per (setting, N, library) to sample join convergence")
		crashes  = fs.Int("crashes", d.Crashes, "members crashed one after another")
		quiet    = fs.Duration("quiet", d.Quiet, "quiet window: idle traffic, CPU, false suspicion")
		settle   = fs.Duration("settle", d.Settle, "wait after convergence before the quiet window")
		pause    = fs.Duration("pause", d.Pause, "wait after each detected crash")
		poll     = fs.Duration("poll", d.Poll, "view polling interval while a change propagates")
		joinTO   = fs.Duration("join-timeout", d.JoinTimeout, "bound on one join convergence")
		detectTO = fs.Duration("detect-timeout", d.DetectTimeout, "bound on one crash or leave propagation")
		seed     = fs.Uint64("seed", d.Seed, "seed for the choice of crashed and leaving members")
		eqProbe  = fs.Duration("eq-probe", eq.Probe, "equal timing: memberlist ProbeInterval = hearsay HeartbeatInterval")
		eqGossip = fs.Duration("eq-gossip", eq.Gossip, "equal timing: GossipInterval of both")
		eqFanout = fs.Int("eq-fanout", eq.Fanout, "equal timing: GossipNodes of both")
		eqDgram  = fs.Int("eq-datagram", eq.Datagram, "equal timing: largest UDP payload (memberlist UDPBufferSize, hearsay datagram budget)")
		render   = fs.String("render", "", "print a report saved with -json (as text, or -md) instead of running")
		profDir  = fs.String("profile-dir", "", "write a CPU profile of every quiet window and a heap profile after it into this directory (go tool pprof); skews the CPU figure")
		procs    = fs.Bool("procs", false, "every member its own process: the hearsay agent against tools/cmd/memberlist-agent, LAN presets only")
		hsBin    = fs.String("hearsay-bin", "", "-procs: the hearsay agent's binary (default: go build it from this checkout)")
		mlBin    = fs.String("memberlist-bin", "", "-procs: memberlist-agent's binary (default: go build it from this checkout)")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *render != "" {
		b, err := os.ReadFile(*render)
		if err != nil {
			return err
		}
		var rep bench.Report
		if err := json.Unmarshal(b, &rep); err != nil {
			return fmt.Errorf("%s: %w", *render, err)
		}
		return printReport(stdout, rep, *asJSON, *asMD)
	}
	o := d
	if *quick {
		o = bench.QuickOptions()
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *procs {
		o = bench.WithProcs(o)
		if !set["settings"] {
			*settings = "preset"
		}
	} else if set["hearsay-bin"] || set["memberlist-bin"] {
		return errors.New("-hearsay-bin and -memberlist-bin go with -procs")
	}
	if set["n"] || !*quick {
		ns, err := parseSizes(*sizes)
		if err != nil {
			return err
		}
		o.Sizes = ns
	}
	override := func(name string, apply func()) {
		if set[name] {
			apply()
		}
	}
	override("joins", func() { o.Joins = *joins })
	override("crashes", func() { o.Crashes = *crashes })
	override("quiet", func() { o.Quiet = *quiet })
	override("settle", func() { o.Settle = *settle })
	override("pause", func() { o.Pause = *pause })
	override("poll", func() { o.Poll = *poll })
	override("join-timeout", func() { o.JoinTimeout = *joinTO })
	override("detect-timeout", func() { o.DetectTimeout = *detectTO })
	override("seed", func() { o.Seed = *seed })
	if *profDir != "" {
		if err := os.MkdirAll(*profDir, 0o755); err != nil {
			return err
		}
		o.ProfileDir = *profDir
		runtime.MemProfileRate = 4096 // finer heap profiles than the 512 KiB default
	}
	eq = bench.Timing{Probe: *eqProbe, Gossip: *eqGossip, Fanout: *eqFanout, Datagram: *eqDgram}
	o.Settings = nil
	for _, s := range strings.Split(*settings, ",") {
		switch strings.TrimSpace(s) {
		case "preset":
			o.Settings = append(o.Settings, bench.Setting{Name: "preset"})
		case "equal":
			if *procs {
				return errors.New("-procs runs the LAN presets only (-settings preset): the agents take no timing flags")
			}
			o.Settings = append(o.Settings, bench.Setting{Name: "equal", Timing: &eq})
		default:
			return fmt.Errorf("unknown setting %q (want preset, equal)", s)
		}
	}
	var agents *agentBinaries
	if *procs {
		var err error
		agents, err = findAgents(ctx, *hsBin, *mlBin, stderr)
		if err != nil {
			return err
		}
		defer agents.cleanup()
		agents.pprof = o.ProfileDir != ""
		o.Agents = map[string]string{"hearsay": agents.hearsay, "memberlist": agents.memberlist}
	}
	var chosen []bench.Library
	for _, name := range strings.Split(*libs, ",") {
		found := false
		for _, l := range libraries(agents) {
			if l.Name == strings.TrimSpace(name) {
				chosen, found = append(chosen, l), true
			}
		}
		if !found {
			return fmt.Errorf("unknown library %q", name)
		}
	}
	if !*quietLog {
		o.Progress = stderr
	}

	started, load0 := time.Now(), bench.ThisMachine().LoadAvg
	results, err := bench.Run(ctx, chosen, o)
	rep := bench.NewReport(chosen, o, results, started, "hearsay-bench "+strings.Join(args, " "))
	rep.Machine.LoadAvgStart = load0
	if perr := printReport(stdout, rep, *asJSON, *asMD); perr != nil {
		return errors.Join(err, perr)
	}
	return err
}

func printReport(stdout io.Writer, rep bench.Report, asJSON, asMD bool) error {
	switch {
	case asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case asMD:
		rep.WriteMarkdown(stdout)
		fmt.Fprintln(stdout, "<!-- targets -->")
		for _, s := range rep.Options.Settings {
			rep.WriteTargets(stdout, s.Name, true)
			fmt.Fprintln(stdout)
		}
		fmt.Fprintln(stdout, "<!-- settings -->")
		rep.WriteSettings(stdout, true)
	default:
		m := rep.Machine
		mode := "every member in this process"
		if rep.Options.Procs {
			mode = "every member its own process"
		}
		fmt.Fprintf(stdout, "hearsay-bench %s: %s; %d CPUs (%s), %s, %s, load average %s at the start, %s at the end, took %.0fs\n\n",
			rep.Started, mode, m.CPUs, m.CPUModel, m.GoVersion, m.OSArch, m.LoadAvgStart, m.LoadAvg, rep.Elapsed)
		rep.WriteText(stdout)
		heading := "targets of the benchmark issue"
		if rep.Options.Procs {
			heading = "goals of the process mode"
		}
		for _, s := range rep.Options.Settings {
			fmt.Fprintf(stdout, "%s, setting %q:\n", heading, s.Name)
			rep.WriteTargets(stdout, s.Name, false)
			fmt.Fprintln(stdout)
		}
		fmt.Fprintln(stdout, "settings:")
		rep.WriteSettings(stdout, false)
	}
	return nil
}

func parseSizes(s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			return nil, fmt.Errorf("bad -n %q: want sizes >= 2", f)
		}
		ns = append(ns, n)
	}
	return ns, nil
}
