package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// procReport is a process-mode report with made-up figures, chosen so that
// every kind of verdict appears.
func procReport(quiet float64, hearsayFalseSuspect uint64, load string) Report {
	o := ProcsOptions()
	o.Sizes = []int{8}
	o.Quiet = 0 // not read by the report
	m := Result{Setting: "preset", N: 8, Library: "memberlist", Order: 0,
		JoinSeconds: []float64{0.40, 0.50, 0.45}, JoinP90Seconds: []float64{0.4, 0.5, 0.45},
		CrashSeconds: []float64{8, 9, 10}, LeaveSeconds: 0.40,
		QuietSeconds: quiet, DatagramsPerMemberSec: 2, UDPBytesPerMemberSec: 90, StreamBytesPerMemberSec: 20,
		BytesPerMemberSec: 110, StreamSegmentsPerMemberSec: 0.5, CPUSecPerMemberMin: 0.090,
		RSSBytesPerMember: 12 << 20, AnonRSSBytesPerMember: 3 << 20, LoadAvgQuiet: "1.00 1.00 1.00",
		PollRoundCPUSeconds: 0.004, PollRoundWallSeconds: 0.003, ConvergedAfterQuiet: true}
	h := Result{Setting: "preset", N: 8, Library: "hearsay", Order: 1,
		JoinSeconds: []float64{0.50, 0.60, 0.45}, JoinP90Seconds: []float64{0.5, 0.6, 0.45},
		CrashSeconds: []float64{3.5, 3.6, 3.7}, LeaveSeconds: 0.10,
		QuietSeconds: quiet, DatagramsPerMemberSec: 6, UDPBytesPerMemberSec: 240, BytesPerMemberSec: 240,
		CPUSecPerMemberMin: 0.060, RSSBytesPerMember: 15 << 20, AnonRSSBytesPerMember: 3 << 20,
		FalseSuspect: hearsayFalseSuspect, HasTickLag: true, TickLagMeanSeconds: 0.0012, TickLagMaxSeconds: 0.020,
		LoadAvgQuiet: load, PollRoundCPUSeconds: 0.006, PollRoundWallSeconds: 0.004, ConvergedAfterQuiet: true}
	return Report{Machine: Machine{CPUs: 2}, Options: o, Results: []Result{m, h}}
}

func TestProcTable(t *testing.T) {
	var b bytes.Buffer
	procReport(60, 0, "1.50 1.00 1.00").WriteText(&b)
	text := b.String()
	for _, want := range []string{
		"every member its own process",
		// 110 + 28×2 + 52×0.5 = 192 against 240 + 28×6 = 408.
		"idle bytes /member/s, headers included", "192.0", "408.0", "2.12",
		"  headers part (28 B/datagram, 52 B/segment)", "82.0", "168.0",
		"CPU ms /member/min", "90.0", "60.0", "0.67",
		"RSS MiB /member (VmRSS)", "12.0", "15.0", "1.25",
		"tick lag, mean over the quiet window (ms)", "1.20",
		"poll round of all members: CPU (ms)", "4.0", "6.0",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "heap KiB") || strings.Contains(text, "goroutines") {
		t.Errorf("process table shows in-process rows:\n%s", text)
	}
	// The tick lag row has no memberlist figure.
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "tick lag, mean") && !strings.Contains(line, " - ") {
			t.Errorf("tick lag row: %q, want '-' for memberlist", line)
		}
	}
}

func TestProcTargets(t *testing.T) {
	targets := func(rep Report) map[string]string {
		var b bytes.Buffer
		rep.WriteTargets(&b, "preset", true)
		out := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n")[2:] {
			cells := strings.Split(strings.Trim(line, "| "), " | ")
			if len(cells) != 3 {
				t.Fatalf("row %q", line)
			}
			out[cells[0]] = cells[2]
		}
		return out
	}
	got := targets(procReport(60, 0, "1.50 1.00 1.00"))
	want := map[string]string{
		"N=8 crash detection max ≤ 0.5 × memberlist's":                                          "met",
		"N=8 idle datagrams /member/s ≤ 1.0 × memberlist's":                                     "MISSED: 4 /s over (×3.00 of the bound)",
		"N=8 idle bytes /member/s, headers included ≤ 1.0 × memberlist's":                       "MISSED: 216 B/s over (×2.12 of the bound)",
		"N=8 CPU /member ≤ 1.0 × memberlist's":                                                  "met",
		"N=8 RSS /member ≤ 1.0 × memberlist's":                                                  "MISSED: 3 MiB over (×1.25 of the bound)",
		"N=8 zero false suspect and dead in a 60 s quiet window":                                "met",
		"N=8 join convergence (median) no slower":                                               "TIE: 0.05 s slower, less than the 0.1 s polling interval",
		"N=8 graceful leave no slower":                                                          "met",
		"N=8 the run did not starve itself (1-min load average ≤ CPUs after each quiet window)": "ok",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: verdict %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("rows: %v", got)
	}

	got = targets(procReport(5, 0, "2.50 1.00 1.00"))
	if v := got["N=8 zero false suspect and dead in a 60 s quiet window"]; v != "NOT SHOWN: the window was 5 s, the goal asks 60 s" {
		t.Errorf("5 s window: %q", v)
	}
	if v := got["N=8 the run did not starve itself (1-min load average ≤ CPUs after each quiet window)"]; !strings.HasPrefix(v, "SATURATED") {
		t.Errorf("load 2.5 on 2 CPUs: %q", v)
	}
	rep := procReport(60, 0, "1.00 1.00 1.00")
	rep.Options.Poll = 20 * time.Millisecond
	got = targets(rep)
	if v := got["N=8 join convergence (median) no slower"]; v != "MISSED: 0.05 s over (×1.11 of the bound)" {
		t.Errorf("0.05 s slower, polled every 20 ms: %q", v)
	}
	got = targets(procReport(60, 2, "1.00 1.00 1.00"))
	if v := got["N=8 zero false suspect and dead in a 60 s quiet window"]; v != "MISSED: 2 false suspicions/deaths" {
		t.Errorf("2 false suspicions: %q", v)
	}
}

// TestProcReportJSON: a report saved with -json renders the same table.
func TestProcReportJSON(t *testing.T) {
	rep := procReport(60, 0, "1.00 1.00 1.00")
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	var x, y bytes.Buffer
	rep.WriteText(&x)
	back.WriteText(&y)
	if x.String() != y.String() || !back.Options.Procs {
		t.Errorf("after a JSON round trip:\n%s\nbefore:\n%s", y.String(), x.String())
	}
}
