package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"
)

// Library is one side of the comparison.
type Library struct {
	Name string
	New  Factory
}

// Options says what to run. Zero fields take the defaults of DefaultOptions.
type Options struct {
	// Sizes are the cluster sizes N.
	Sizes []int `json:"sizes"`
	// Settings are the configurations to run ("preset", "equal").
	Settings []Setting `json:"settings"`
	// Joins is how many clusters are formed per (setting, N, library) to
	// sample join convergence; the last one goes on to the other measures.
	Joins int `json:"joins"`
	// Crashes is how many members are crashed, one after another.
	Crashes int `json:"crashes"`
	// Settle is the wait between convergence and the quiet window, so that
	// the joins' own gossip has drained.
	Settle time.Duration `json:"settle"`
	// Quiet is the length of the quiet window (traffic, CPU, false suspicion).
	Quiet time.Duration `json:"quiet"`
	// Pause is the wait after each crash is detected before the next one.
	Pause time.Duration `json:"pause"`
	// Poll is how often views are read while a change propagates.
	Poll time.Duration `json:"poll"`
	// JoinTimeout bounds one join convergence; DetectTimeout one crash or
	// leave propagation. A timeout is reported as the timeout value and
	// counted.
	JoinTimeout   time.Duration `json:"join_timeout"`
	DetectTimeout time.Duration `json:"detect_timeout"`
	// Seed seeds the choice of crashed and leaving members.
	Seed uint64 `json:"seed"`
	// ProfileDir, when set, receives a CPU profile of every quiet window and
	// a heap profile taken right after it, named
	// {cpu,heap}-<library>-<setting>-n<N>.pprof; in the process mode one of
	// each per member, {cpu,heap}-<library>-<setting>-member<i>-n<N>.pprof,
	// taken from the agents' /debug/pprof/. Profiling costs some CPU, so
	// the CPU figure of such a run is not comparable with others.
	ProfileDir string `json:"profile_dir,omitempty"`
	// Procs says that every member runs as its own process (the libraries'
	// agents, from the Factories HearsayAgents and MemberlistAgents): CPU
	// and memory are then read per process from /proc, and traffic and views
	// over each agent's HTTP API. Informational: the Factories decide.
	Procs bool `json:"procs,omitempty"`
	// Agents names the agent binary of each library in the process mode.
	Agents map[string]string `json:"agents,omitempty"`
	// PollRounds is how many rounds of view reads of every member are timed
	// after the quiet window of the process mode, to measure what polling
	// costs.
	PollRounds int `json:"poll_rounds,omitempty"`
	// Progress receives one line per step; nil discards.
	Progress io.Writer `json:"-"`
}

// DefaultOptions is the full run.
func DefaultOptions() Options {
	eq := MemberlistLANTiming()
	return Options{
		Sizes:         []int{8, 32, 64},
		Settings:      []Setting{{Name: "preset"}, {Name: "equal", Timing: &eq}},
		Joins:         3,
		Crashes:       3,
		Settle:        3 * time.Second,
		Quiet:         time.Minute,
		Pause:         time.Second,
		Poll:          50 * time.Millisecond,
		JoinTimeout:   90 * time.Second,
		DetectTimeout: 60 * time.Second,
		Seed:          1,
	}
}

// ProcsOptions is the full run of the process mode: the LAN presets only
// (the agents take no timing flags), views polled every 100 ms.
func ProcsOptions() Options {
	return WithProcs(DefaultOptions())
}

// ProcsPoll is the process mode's default view polling interval: a crash
// detection figure is late by less than this, and one round of reads
// costs every agent an HTTP request.
const ProcsPoll = 100 * time.Millisecond

// QuickOptions is the short run (under two minutes).
func QuickOptions() Options {
	o := DefaultOptions()
	o.Sizes = []int{8, 32}
	o.Joins = 1
	o.Crashes = 2
	o.Settle = time.Second
	o.Quiet = 5 * time.Second
	o.Pause = 500 * time.Millisecond
	o.JoinTimeout = 30 * time.Second
	o.DetectTimeout = 30 * time.Second
	return o
}

// Result holds every figure of one library at one setting and one N.
type Result struct {
	Setting string `json:"setting"`
	N       int    `json:"n"`
	Library string `json:"library"`
	// Order is 0 when this library ran first for this (setting, N).
	Order int `json:"order"`
	// SameAs names the setting whose run is reused, when this library's
	// configuration is identical under both settings.
	SameAs string `json:"same_as,omitempty"`

	// JoinSeconds: start of the N-1 joiners → every member lists N alive.
	JoinSeconds  []float64 `json:"join_seconds"`
	JoinTimeouts int       `json:"join_timeouts"`
	// JoinP90Seconds: per sample, when 90 % of the members (rounded up) had
	// converged; shows whether the last members lag behind the rest.
	JoinP90Seconds []float64 `json:"join_p90_seconds"`
	// CrashSeconds: hard stop of one member → every live member shows it
	// dead (or no longer lists it).
	CrashSeconds  []float64 `json:"crash_seconds"`
	CrashTimeouts int       `json:"crash_timeouts"`
	// LeaveSeconds: start of a graceful leave → every other member shows it
	// left (or no longer lists it).
	LeaveSeconds float64 `json:"leave_seconds"`
	LeaveTimeout bool    `json:"leave_timeout"`

	// Quiet window figures.
	QuietSeconds float64 `json:"quiet_seconds"`
	Idle         Traffic `json:"idle_traffic"`
	// Per member per second over the quiet window.
	DatagramsPerMemberSec   float64 `json:"datagrams_per_member_sec"`
	BytesPerMemberSec       float64 `json:"bytes_per_member_sec"`
	UDPBytesPerMemberSec    float64 `json:"udp_bytes_per_member_sec"`
	StreamBytesPerMemberSec float64 `json:"stream_bytes_per_member_sec"`
	// CPUSecPerMemberMin is process CPU (user+sys, getrusage) over the quiet
	// window / N / window minutes.
	CPUSecPerMemberMin float64 `json:"cpu_sec_per_member_min"`
	// HeapBytesPerMember is the live heap the cluster adds, per member:
	// (HeapAlloc right after a GC with the cluster running − the same before
	// it started) / N.
	HeapBytesPerMember float64 `json:"heap_bytes_per_member"`
	// GoroutinesPerMember is the goroutine count added by the cluster / N,
	// without the harness's own (one per member on both sides).
	GoroutinesPerMember float64 `json:"goroutines_per_member"`
	// FalseSuspect and FalseDead count, over the quiet window, every time a
	// member marked another (healthy) member suspect or dead.
	FalseSuspect uint64 `json:"false_suspect"`
	FalseDead    uint64 `json:"false_dead"`
	// ConvergedAfterQuiet: every member still listed N alive after the window.
	ConvergedAfterQuiet bool `json:"converged_after_quiet"`

	// Process mode only.
	//
	// StreamSegmentsPerMemberSec is the TCP segments sent per member per
	// second over the quiet window.
	StreamSegmentsPerMemberSec float64 `json:"stream_segments_per_member_sec,omitempty"`
	// RSSBytesPerMember and AnonRSSBytesPerMember are the mean VmRSS and
	// RssAnon of the members' processes right after the quiet window.
	RSSBytesPerMember     float64 `json:"rss_bytes_per_member,omitempty"`
	AnonRSSBytesPerMember float64 `json:"anon_rss_bytes_per_member,omitempty"`
	// HasTickLag: the agents export their gossip loop's tick lag (hearsay).
	// TickLagMeanSeconds is the mean lag per tick over the quiet window,
	// all members; TickLagMaxSeconds the largest single lag any member had
	// since it started, read after the window.
	HasTickLag         bool    `json:"has_tick_lag,omitempty"`
	TickLagMeanSeconds float64 `json:"tick_lag_mean_seconds,omitempty"`
	TickLagMaxSeconds  float64 `json:"tick_lag_max_seconds,omitempty"`
	// LoadAvgQuiet is /proc/loadavg at the end of the quiet window.
	LoadAvgQuiet string `json:"loadavg_quiet,omitempty"`
	// PollRoundCPUSeconds is the CPU time one round of view reads of every
	// running member costs (the members' and the benchmark's, less what the
	// members spend idle in the same time); PollRoundWallSeconds is how long
	// a round takes.
	PollRoundCPUSeconds  float64 `json:"poll_round_cpu_seconds,omitempty"`
	PollRoundWallSeconds float64 `json:"poll_round_wall_seconds,omitempty"`

	Errors []string `json:"errors,omitempty"`
}

// Run runs every library for every N and setting, alternating which library
// goes first, and returns the results in run order.
func Run(ctx context.Context, libs []Library, o Options) ([]Result, error) {
	o.fill()
	var results []Result
	formation := 0
	// Warm up: a two-member cluster of each library, so that one-time
	// allocations (package-level caches, the metrics sink) are made before any
	// baseline is taken and are not charged to the first N measured.
	for _, lib := range libs {
		warmUp(ctx, lib, o.Settings[0], &formation)
	}
	k := 0
	for _, n := range o.Sizes {
		for _, s := range o.Settings {
			// Pairs where every library reuses earlier figures run nothing
			// and do not count in the alternation.
			reused := map[string]Result{}
			for _, lib := range libs {
				if prev, ok := reusable(results, lib, s, n, o); ok {
					reused[lib.Name] = prev
				}
			}
			order := slices.Clone(libs)
			if k%2 == 1 {
				slices.Reverse(order)
			}
			if len(reused) < len(libs) {
				k++
			}
			for pos, lib := range order {
				if err := ctx.Err(); err != nil {
					return results, err
				}
				if prev, ok := reused[lib.Name]; ok {
					prev.Setting, prev.SameAs = s.Name, prev.Setting
					o.logf("%s %s N=%d: configuration identical to %s, reusing it", lib.Name, s.Name, n, prev.SameAs)
					results = append(results, prev)
					continue
				}
				r := runOne(ctx, lib, s, n, o, &formation)
				r.Order = pos
				results = append(results, r)
			}
		}
	}
	return results, nil
}

// reusable finds an earlier result of lib at N under another setting whose
// configuration is identical to s's.
func reusable(results []Result, lib Library, s Setting, n int, o Options) (Result, bool) {
	want := lib.New(s, -1).Settings()
	for _, r := range results {
		if r.Library != lib.Name || r.N != n || r.SameAs != "" || r.Setting == s.Name {
			continue
		}
		for _, os := range o.Settings {
			if os.Name == r.Setting && slices.Equal(lib.New(os, -1).Settings(), want) {
				r.JoinSeconds = slices.Clone(r.JoinSeconds)
				r.JoinP90Seconds = slices.Clone(r.JoinP90Seconds)
				r.CrashSeconds = slices.Clone(r.CrashSeconds)
				r.Errors = slices.Clone(r.Errors)
				return r, true
			}
		}
	}
	return Result{}, false
}

func (o *Options) fill() {
	d := DefaultOptions()
	if len(o.Sizes) == 0 {
		o.Sizes = d.Sizes
	}
	if len(o.Settings) == 0 {
		o.Settings = d.Settings
	}
	if o.Joins <= 0 {
		o.Joins = 1
	}
	if o.Poll <= 0 {
		o.Poll = d.Poll
	}
	if o.JoinTimeout <= 0 {
		o.JoinTimeout = d.JoinTimeout
	}
	if o.DetectTimeout <= 0 {
		o.DetectTimeout = d.DetectTimeout
	}
}

func (o *Options) logf(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "%s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
	}
}

func runOne(ctx context.Context, lib Library, s Setting, n int, o Options, formation *int) Result {
	r := Result{Setting: s.Name, N: n, Library: lib.Name}
	fail := func(format string, args ...any) {
		err := fmt.Sprintf(format, args...)
		r.Errors = append(r.Errors, err)
		o.logf("%s %s N=%d: %s", lib.Name, s.Name, n, err)
	}
	collect := func(c Cluster) {
		for _, err := range c.Errors() {
			if len(r.Errors) < 20 {
				r.Errors = append(r.Errors, err.Error())
			}
		}
	}
	rng := rand.New(rand.NewPCG(o.Seed, uint64(n)))

	_, procs := lib.New(s, -1).(processCluster)
	var heap0 uint64
	var g0 int
	if !procs {
		heap0, g0 = settledBaseline()
	}

	// Join convergence, sampled over o.Joins fresh clusters.
	var c Cluster
	for j := range o.Joins {
		if c != nil {
			collect(c)
			_ = c.Close()
			if !procs {
				settledBaseline()
			}
		}
		c = lib.New(s, *formation)
		*formation++
		if err := c.Seed(ctx); err != nil {
			fail("seed: %v", err)
			_ = c.Close()
			return r
		}
		start := time.Now()
		c.Grow(ctx, n)
		all := seq(0, n)
		var doneAt []float64 // when each member converged, in seconds
		converged := func(i int) bool {
			if c.ActiveCount(i) != n {
				return false
			}
			doneAt = append(doneAt, time.Since(start).Seconds())
			return true
		}
		d, ok := waitAll(ctx, c, start, o.JoinTimeout, o.Poll, all, converged,
			func(d time.Duration, pending []int) {
				var lag []string
				for _, i := range pending {
					lag = append(lag, fmt.Sprintf("%d lists %d", i, c.ActiveCount(i)))
				}
				o.logf("%s %s N=%d: join %d after %.0fs: %d members not converged: %v", lib.Name, s.Name, n, j, d.Seconds(), len(pending), lag)
			})
		r.JoinSeconds = append(r.JoinSeconds, d.Seconds())
		slices.Sort(doneAt)
		p90 := o.JoinTimeout.Seconds()
		if k := (9*n+9)/10 - 1; k < len(doneAt) { // ceil(0.9 n)-th member
			p90 = doneAt[k]
		}
		r.JoinP90Seconds = append(r.JoinP90Seconds, p90)
		if !ok {
			r.JoinTimeouts++
			fail("join %d: not converged after %v", j, o.JoinTimeout)
		}
		o.logf("%s %s N=%d: join %d converged in %.2fs", lib.Name, s.Name, n, j, d.Seconds())
	}
	defer func() { _ = c.Close() }()

	// Quiet window.
	if pc, ok := c.(processCluster); ok {
		quietProcs(ctx, pc, &r, o, fail)
	} else {
		quietInProcess(ctx, c, &r, o, heap0, g0, fail)
	}

	// Crashes, one after another.
	for range o.Crashes {
		v, others := pick(c, n, rng)
		if v < 0 {
			break
		}
		start := time.Now()
		if err := c.Crash(v); err != nil {
			fail("crash %d: %v", v, err)
		}
		d, ok := waitAll(ctx, c, start, o.DetectTimeout, o.Poll, others, func(i int) bool { return c.Gone(i, v) }, nil)
		r.CrashSeconds = append(r.CrashSeconds, d.Seconds())
		if !ok {
			r.CrashTimeouts++
			fail("crash of %d: not seen dead by all after %v", v, o.DetectTimeout)
		}
		o.logf("%s %s N=%d: crash of %d seen by all %d live in %.2fs", lib.Name, s.Name, n, v, len(others), d.Seconds())
		sleep(ctx, o.Pause)
	}

	// Graceful leave.
	if v, others := pick(c, n, rng); v >= 0 {
		start := time.Now()
		left := make(chan error, 1)
		go func() { left <- c.Leave(ctx, v) }()
		d, ok := waitAll(ctx, c, start, o.DetectTimeout, o.Poll, others, func(i int) bool { return c.Gone(i, v) }, nil)
		r.LeaveSeconds, r.LeaveTimeout = d.Seconds(), !ok
		if !ok {
			fail("leave of %d: not seen by all after %v", v, o.DetectTimeout)
		}
		if err := <-left; err != nil {
			fail("leave %d: %v", v, err)
		}
		o.logf("%s %s N=%d: leave of %d seen by all %d in %.2fs", lib.Name, s.Name, n, v, len(others), d.Seconds())
	}
	collect(c)
	return r
}

// quietInProcess measures the quiet window of a cluster in this process:
// traffic from the members' transports, CPU from getrusage, the heap and
// goroutines the cluster adds.
func quietInProcess(ctx context.Context, c Cluster, r *Result, o Options, heap0 uint64, g0 int, fail func(string, ...any)) {
	n := r.N
	sleep(ctx, o.Settle)
	stopProfile := o.startCPUProfile(r.Library, r.Setting, r.N, fail)
	tr0, cpu0, tt0, t0 := c.Traffic(), cpuTime(), c.Transitions(), time.Now()
	sleep(ctx, o.Quiet)
	tr1, cpu1, tt1, t1 := c.Traffic(), cpuTime(), c.Transitions(), time.Now()
	stopProfile()
	win := t1.Sub(t0).Seconds()
	r.QuietSeconds = win
	r.Idle = tr1.sub(tr0)
	per := float64(n) * win
	r.DatagramsPerMemberSec = float64(r.Idle.Datagrams) / per
	r.UDPBytesPerMemberSec = float64(r.Idle.Bytes) / per
	r.StreamBytesPerMemberSec = float64(r.Idle.StreamBytes) / per
	r.BytesPerMemberSec = float64(r.Idle.Bytes+r.Idle.StreamBytes) / per
	r.CPUSecPerMemberMin = (cpu1 - cpu0).Seconds() / float64(n) / (win / 60)
	tt := tt1.sub(tt0)
	r.FalseSuspect, r.FalseDead = tt.Suspect, tt.Dead
	r.ConvergedAfterQuiet = true
	for i := range n {
		if c.ActiveCount(i) != n {
			r.ConvergedAfterQuiet = false
		}
	}
	heap1, g1 := gcHeap()
	o.writeHeapProfile(r.Library, r.Setting, r.N, fail)
	r.HeapBytesPerMember = (float64(heap1) - float64(heap0)) / float64(n)
	r.GoroutinesPerMember = float64(g1-g0)/float64(n) - harnessGoroutinesPerMember
	o.logf("%s %s N=%d: quiet %.0fs: %.2f dgram/member/s, %.1f B/member/s, %.3f cpu-s/member/min, suspect %d dead %d",
		r.Library, r.Setting, r.N, win, r.DatagramsPerMemberSec, r.BytesPerMemberSec, r.CPUSecPerMemberMin, r.FalseSuspect, r.FalseDead)

}

func warmUp(ctx context.Context, lib Library, s Setting, formation *int) {
	c := lib.New(s, *formation)
	*formation++
	defer func() { _ = c.Close() }()
	if c.Seed(ctx) != nil {
		return
	}
	c.Grow(ctx, 2)
	waitAll(ctx, c, time.Now(), 10*time.Second, 50*time.Millisecond, []int{0, 1}, func(i int) bool { return c.ActiveCount(i) == 2 }, nil)
}

// harnessGoroutinesPerMember is the goroutines the harness itself adds per
// member, on both sides: memberlist's stream-counting forwarder, hearsay's
// event counter. They are not counted in GoroutinesPerMember.
const harnessGoroutinesPerMember = 1

// pick chooses a running member other than the seed, and lists the other
// running members.
func pick(c Cluster, n int, rng *rand.Rand) (int, []int) {
	var live []int
	for i := range n {
		if c.Live(i) {
			live = append(live, i)
		}
	}
	cands := slices.DeleteFunc(slices.Clone(live), func(i int) bool { return i == 0 })
	if len(cands) == 0 || len(live) < 2 {
		return -1, nil
	}
	v := cands[rng.IntN(len(cands))]
	return v, slices.DeleteFunc(live, func(i int) bool { return i == v })
}

// waitAll polls cond for every member until each has held once, and returns
// the time from start to the last, or the timeout and false. When c's
// members are processes, each round first reads the views of the members
// still pending over their APIs.
//
// report, when not nil, is called every 5 s with the members still pending.
func waitAll(ctx context.Context, c Cluster, start time.Time, timeout, poll time.Duration, members []int, cond func(i int) bool, report func(time.Duration, []int)) (time.Duration, bool) {
	pending := slices.Clone(members)
	tick := time.NewTicker(poll)
	defer tick.Stop()
	deadline := start.Add(timeout)
	nextReport := start.Add(5 * time.Second)
	pc, procs := c.(processCluster)
	for {
		if procs {
			pc.Refresh(ctx, pending)
		}
		pending = slices.DeleteFunc(pending, cond)
		now := time.Now()
		if len(pending) == 0 {
			return now.Sub(start), true
		}
		if now.After(deadline) || ctx.Err() != nil {
			return timeout, false
		}
		if report != nil && now.After(nextReport) {
			report(now.Sub(start), pending)
			nextReport = now.Add(5 * time.Second)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
}

func seq(from, to int) []int {
	s := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func gcHeap() (liveHeap uint64, goroutines int) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, runtime.NumGoroutine()
}

// settledBaseline waits (up to 10 s) for the goroutines of a closed cluster to
// exit, then returns the heap and goroutine count after GC.
var baseGoroutines = -1

func settledBaseline() (uint64, int) {
	if baseGoroutines < 0 {
		baseGoroutines = runtime.NumGoroutine()
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseGoroutines && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	return gcHeap()
}

func (o *Options) profilePath(kind, lib, setting string, n int) string {
	return filepath.Join(o.ProfileDir, fmt.Sprintf("%s-%s-%s-n%d.pprof", kind, lib, setting, n))
}

// startCPUProfile starts a CPU profile when ProfileDir is set and returns
// the function that stops it.
func (o *Options) startCPUProfile(lib, setting string, n int, fail func(string, ...any)) func() {
	if o.ProfileDir == "" {
		return func() {}
	}
	f, err := os.Create(o.profilePath("cpu", lib, setting, n))
	if err != nil {
		fail("cpu profile: %v", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fail("cpu profile: %v", err)
		_ = f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fail("cpu profile: %v", err)
		}
	}
}

func (o *Options) writeHeapProfile(lib, setting string, n int, fail func(string, ...any)) {
	if o.ProfileDir == "" {
		return
	}
	f, err := os.Create(o.profilePath("heap", lib, setting, n))
	if err != nil {
		fail("heap profile: %v", err)
		return
	}
	err = pprof.Lookup("heap").WriteTo(f, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fail("heap profile: %v", err)
	}
}

// WithProcs turns o into the process mode's options: the LAN presets only,
// views polled every ProcsPoll, the polling cost measured over 20 rounds.
func WithProcs(o Options) Options {
	o.Settings = []Setting{{Name: "preset"}}
	o.Procs = true
	o.Poll = ProcsPoll
	o.PollRounds = 20
	return o
}
