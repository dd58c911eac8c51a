package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/tools/internal/bench"
)

// TestTinyRun runs both libraries at N=3 with short windows and checks that
// every figure of the report is filled. Deadlines are generous: a loaded
// two-core machine (or -race) slows the members, not the protocol timers.
func TestTinyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real clusters for about 30 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()
	var out bytes.Buffer
	args := []string{"-n", "3", "-settings", "preset", "-joins", "1", "-crashes", "1",
		"-settle", "200ms", "-quiet", "2s", "-pause", "100ms",
		"-join-timeout", "10s", "-detect-timeout", "15s", "-json", "-q"}
	if err := run(ctx, args, &out, io.Discard); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	var rep bench.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out.String())
	}
	if rep.Machine.CPUs == 0 || rep.Machine.GoVersion == "" || rep.Started == "" {
		t.Errorf("machine/date not filled: %+v started=%q", rep.Machine, rep.Started)
	}
	for _, lib := range []string{"memberlist", "hearsay"} {
		r := resultOf(rep, lib)
		if r == nil {
			t.Errorf("%s: no result", lib)
			continue
		}
		if r.N != 3 || r.Setting != "preset" {
			t.Errorf("%s: got N=%d setting=%q, want 3, preset", lib, r.N, r.Setting)
		}
		if len(r.JoinSeconds) != 1 || r.JoinSeconds[0] <= 0 || r.JoinTimeouts != 0 {
			t.Errorf("%s: join %v (timeouts %d), want one positive sample", lib, r.JoinSeconds, r.JoinTimeouts)
		}
		if len(r.JoinP90Seconds) != 1 || r.JoinP90Seconds[0] <= 0 || r.JoinP90Seconds[0] > r.JoinSeconds[0] {
			t.Errorf("%s: join p90 %v, want one sample in (0, %v]", lib, r.JoinP90Seconds, r.JoinSeconds)
		}
		if len(r.CrashSeconds) != 1 || r.CrashSeconds[0] <= 0 || r.CrashTimeouts != 0 {
			t.Errorf("%s: crash %v (timeouts %d), want one positive sample", lib, r.CrashSeconds, r.CrashTimeouts)
		}
		if r.LeaveSeconds <= 0 || r.LeaveTimeout {
			t.Errorf("%s: leave %v (timeout %v), want a positive figure", lib, r.LeaveSeconds, r.LeaveTimeout)
		}
		if r.QuietSeconds < 2 || r.Idle.Datagrams == 0 || r.Idle.Bytes == 0 ||
			r.DatagramsPerMemberSec <= 0 || r.BytesPerMemberSec <= 0 {
			t.Errorf("%s: quiet window not measured: %+v", lib, r)
		}
		if r.CPUSecPerMemberMin < 0 || r.GoroutinesPerMember <= 0 || r.HeapBytesPerMember == 0 {
			t.Errorf("%s: cpu %v goroutines %v heap %v", lib, r.CPUSecPerMemberMin, r.GoroutinesPerMember, r.HeapBytesPerMember)
		}
		if len(r.Errors) > 0 {
			t.Logf("%s: errors: %v", lib, r.Errors)
		}
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	if !bytes.Contains(text.Bytes(), []byte("hearsay/memberlist")) {
		t.Errorf("table has no ratio column:\n%s", text.String())
	}
}

// TestProcsTinyRun runs the process mode at N=3 with short windows: it
// builds both agents, runs each member as its own process, and checks that
// every figure is present and sane. It takes about 25 s.
func TestProcsTinyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the agents and runs real clusters for about 25 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	var out, progress bytes.Buffer
	args := []string{"-procs", "-n", "3", "-joins", "1", "-crashes", "1",
		"-settle", "200ms", "-quiet", "3s", "-pause", "100ms",
		"-join-timeout", "20s", "-detect-timeout", "20s", "-json"}
	if err := run(ctx, args, &out, &progress); err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, progress.String(), out.String())
	}
	var rep bench.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out.String())
	}
	if !rep.Options.Procs || len(rep.Options.Settings) != 1 || rep.Options.Settings[0].Name != "preset" ||
		rep.Options.Agents["hearsay"] == "" || rep.Options.Agents["memberlist"] == "" {
		t.Errorf("options: %+v", rep.Options)
	}
	maxCPU := 60 * float64(rep.Machine.CPUs) // a member cannot use more than every CPU
	for _, lib := range []string{"memberlist", "hearsay"} {
		r := resultOf(rep, lib)
		if r == nil {
			t.Errorf("%s: no result", lib)
			continue
		}
		if len(r.Errors) > 0 {
			t.Errorf("%s: errors: %v\n%s", lib, r.Errors, progress.String())
		}
		if len(r.JoinSeconds) != 1 || r.JoinSeconds[0] <= 0 || r.JoinTimeouts != 0 {
			t.Errorf("%s: join %v (timeouts %d), want one positive sample", lib, r.JoinSeconds, r.JoinTimeouts)
		}
		// Neither library can tell a SIGKILL from silence before a member
		// has missed its first heartbeat or probe (500 ms for hearsay's LAN
		// preset, 1 s for memberlist's): a faster figure means the view
		// was misread.
		if len(r.CrashSeconds) != 1 || r.CrashSeconds[0] < 0.5 || r.CrashTimeouts != 0 {
			t.Errorf("%s: crash %v (timeouts %d), want one sample of at least 0.5 s", lib, r.CrashSeconds, r.CrashTimeouts)
		}
		if r.LeaveSeconds <= 0 || r.LeaveTimeout {
			t.Errorf("%s: leave %v (timeout %v), want a positive figure", lib, r.LeaveSeconds, r.LeaveTimeout)
		}
		// Idle, every member probes or heartbeats at least every second and
		// no datagram is larger than 1400 bytes.
		if r.QuietSeconds < 3 || r.DatagramsPerMemberSec < 0.5 || r.DatagramsPerMemberSec > 100 ||
			r.UDPBytesPerMemberSec < r.DatagramsPerMemberSec || r.UDPBytesPerMemberSec > 1400*r.DatagramsPerMemberSec {
			t.Errorf("%s: idle traffic: %.1f s, %.2f datagrams, %.1f B per member per second", lib,
				r.QuietSeconds, r.DatagramsPerMemberSec, r.UDPBytesPerMemberSec)
		}
		if r.CPUSecPerMemberMin < 0 || r.CPUSecPerMemberMin > maxCPU {
			t.Errorf("%s: CPU %.3f s/member/min, want within [0, %.0f]", lib, r.CPUSecPerMemberMin, maxCPU)
		}
		// A Go agent process holds a few MiB at least, and not a GiB.
		if r.RSSBytesPerMember < 2<<20 || r.RSSBytesPerMember > 1<<30 ||
			r.AnonRSSBytesPerMember <= 0 || r.AnonRSSBytesPerMember > r.RSSBytesPerMember {
			t.Errorf("%s: RSS %.0f B, anonymous %.0f B per member", lib, r.RSSBytesPerMember, r.AnonRSSBytesPerMember)
		}
		if !r.ConvergedAfterQuiet {
			t.Errorf("%s: not every member listed 3 alive after the quiet window", lib)
		}
		if r.LoadAvgQuiet == "" || r.PollRoundWallSeconds <= 0 || r.PollRoundCPUSeconds < 0 {
			t.Errorf("%s: load %q, poll round %v s wall, %v s CPU", lib, r.LoadAvgQuiet, r.PollRoundWallSeconds, r.PollRoundCPUSeconds)
		}
		if got, want := r.HasTickLag, lib == "hearsay"; got != want {
			t.Errorf("%s: has tick lag %v, want %v", lib, got, want)
		}
		if r.HasTickLag && (r.TickLagMeanSeconds <= 0 || r.TickLagMeanSeconds > 1 || r.TickLagMaxSeconds < r.TickLagMeanSeconds) {
			t.Errorf("%s: tick lag mean %v s, max %v s", lib, r.TickLagMeanSeconds, r.TickLagMaxSeconds)
		}
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	if !bytes.Contains(text.Bytes(), []byte("RSS MiB /member")) || !bytes.Contains(text.Bytes(), []byte("every member its own process")) {
		t.Errorf("table is not the process mode's:\n%s", text.String())
	}
}

// resultOf returns lib's first result in rep, or nil.
func resultOf(rep bench.Report, lib string) *bench.Result {
	for i := range rep.Results {
		if rep.Results[i].Library == lib {
			return &rep.Results[i]
		}
	}
	return nil
}
