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
		var r *bench.Result
		for i := range rep.Results {
			if rep.Results[i].Library == lib {
				r = &rep.Results[i]
			}
		}
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
