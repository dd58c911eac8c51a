package bench

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// quietProcs measures the quiet window of a cluster of agent processes.
//
// Order matters for CPU: the agents' counters are read over HTTP before the
// window's first /proc reading and after its last, and the benchmark's idle
// connections to them are closed first, so that no request the benchmark
// makes is served inside the CPU window, except, when ProfileDir asks for
// profiles, one CPU profile of every member over the window (files
// cpu-<library>-<setting>-member<i>-n<N>.pprof) and a heap profile of every
// member after it.
func quietProcs(ctx context.Context, pc processCluster, r *Result, o Options, fail func(string, ...any)) {
	n := r.N
	sleep(ctx, o.Settle)
	pc.CloseIdle()
	s0, err := pc.Sample(ctx)
	if err != nil {
		fail("counters before the quiet window: %v", err)
	}
	pids := pc.PIDs()
	cpu0 := readCPUs(pids, fail)
	t0 := time.Now()
	var profiling sync.WaitGroup
	if o.ProfileDir != "" {
		// Every member at once: an idle agent gives few samples a minute,
		// and go tool pprof merges the files.
		secs := max(1, int(o.Quiet/time.Second))
		for i := range pids {
			profiling.Add(1)
			go func() { // ends when the agent has sent the profile
				defer profiling.Done()
				path := o.profilePath("cpu", r.Library, fmt.Sprintf("%s-member%d", r.Setting, i), n)
				if err := pc.Profile(ctx, i, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), path); err != nil {
					fail("cpu profile of member %d: %v", i, err)
				}
			}()
		}
	}
	sleep(ctx, o.Quiet)
	t1 := time.Now()
	cpu1 := readCPUs(pids, fail)
	s1, err := pc.Sample(ctx)
	if err != nil {
		fail("counters after the quiet window: %v", err)
	}
	profiling.Wait()
	if load, err := ReadLoadAvg(); err == nil {
		r.LoadAvgQuiet = load.String()
	}

	win := t1.Sub(t0).Seconds()
	r.QuietSeconds = win
	if s0.members != n || s1.members != n {
		fail("quiet window: %d members answered before it, %d after, want %d", s0.members, s1.members, n)
	}
	r.Idle = s1.traffic.sub(s0.traffic)
	per := float64(n) * win
	r.DatagramsPerMemberSec = float64(r.Idle.Datagrams) / per
	r.UDPBytesPerMemberSec = float64(r.Idle.Bytes) / per
	r.StreamBytesPerMemberSec = float64(r.Idle.StreamBytes) / per
	r.StreamSegmentsPerMemberSec = float64(r.Idle.StreamSegments) / per
	r.BytesPerMemberSec = float64(r.Idle.Bytes+r.Idle.StreamBytes) / per
	var cpu time.Duration
	for pid, c1 := range cpu1 {
		if c0, ok := cpu0[pid]; ok {
			cpu += c1 - c0
		}
	}
	if len(cpu0) != n || len(cpu1) != n {
		fail("quiet window: CPU read for %d members before it, %d after, want %d", len(cpu0), len(cpu1), n)
	}
	r.CPUSecPerMemberMin = cpu.Seconds() / float64(n) / (win / 60)
	tt := s1.transitions.sub(s0.transitions)
	r.FalseSuspect, r.FalseDead = tt.Suspect, tt.Dead
	if s1.hasTicks {
		r.HasTickLag = true
		if ticks := s1.ticks - s0.ticks; ticks > 0 {
			r.TickLagMeanSeconds = (s1.tickLag - s0.tickLag).Seconds() / float64(ticks)
		}
		r.TickLagMaxSeconds = s1.tickLagMax.Seconds()
	}

	var rss, anon float64
	k := 0
	for _, pid := range pids {
		p, err := ReadProc(pid)
		if err != nil {
			fail("memory: %v", err)
			continue
		}
		rss += float64(p.RSS)
		anon += float64(p.AnonRSS)
		k++
	}
	if k > 0 {
		r.RSSBytesPerMember, r.AnonRSSBytesPerMember = rss/float64(k), anon/float64(k)
	}

	all := seq(0, n)
	pc.Refresh(ctx, all)
	r.ConvergedAfterQuiet = true
	for _, i := range all {
		if pc.ActiveCount(i) != n {
			r.ConvergedAfterQuiet = false
		}
	}
	if o.ProfileDir != "" {
		for i := range pids {
			path := o.profilePath("heap", r.Library, fmt.Sprintf("%s-member%d", r.Setting, i), n)
			if err := pc.Profile(ctx, i, "/debug/pprof/heap", path); err != nil {
				fail("heap profile of member %d: %v", i, err)
			}
		}
	}

	idle := cpu.Seconds() / win // the members' CPU seconds per second, idle
	r.PollRoundCPUSeconds, r.PollRoundWallSeconds = measurePoll(ctx, pc, o.PollRounds, idle, fail)

	o.logf("%s %s N=%d: quiet %.0fs: %.2f dgram/member/s, %.1f B/member/s, %.1f cpu-ms/member/min, RSS %.1f MiB/member, suspect %d dead %d, load %s; a poll round costs %.1f ms CPU, takes %.1f ms",
		r.Library, r.Setting, n, win, r.DatagramsPerMemberSec, r.BytesPerMemberSec, 1000*r.CPUSecPerMemberMin,
		r.RSSBytesPerMember/(1<<20), r.FalseSuspect, r.FalseDead, r.LoadAvgQuiet, 1000*r.PollRoundCPUSeconds, 1000*r.PollRoundWallSeconds)
}

// readCPUs reads the CPU time of every process: pid -> utime + stime.
func readCPUs(pids map[int]int, fail func(string, ...any)) map[int]time.Duration {
	out := make(map[int]time.Duration, len(pids))
	for _, pid := range pids {
		c, err := ReadProcCPU(pid)
		if err != nil {
			fail("cpu: %v", err)
			continue
		}
		out[pid] = c
	}
	return out
}

// measurePoll times rounds of view reads of every running member, back to
// back, and returns the CPU one round costs (the members' and the
// benchmark's, less idle × the time it took: what the members would have
// spent anyway) and how long a round takes, in seconds.
func measurePoll(ctx context.Context, pc processCluster, rounds int, idle float64, fail func(string, ...any)) (cpuPerRound, wallPerRound float64) {
	if rounds <= 0 {
		return 0, 0
	}
	pids := pc.PIDs()
	members := slices.Sorted(maps.Keys(pids))
	total := func(cpus map[int]time.Duration) time.Duration {
		var t time.Duration
		for _, c := range cpus {
			t += c
		}
		return t + cpuTime()
	}
	c0, t0 := total(readCPUs(pids, fail)), time.Now()
	for range rounds {
		pc.Refresh(ctx, members)
	}
	wall := time.Since(t0)
	c1 := total(readCPUs(pids, fail))
	cpu := (c1 - c0).Seconds() - idle*wall.Seconds()
	return max(0, cpu) / float64(rounds), wall.Seconds() / float64(rounds)
}
