package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Report is everything one run produced; it is what -json prints.
type Report struct {
	Machine  Machine           `json:"machine"`
	Started  string            `json:"started"`
	Elapsed  float64           `json:"elapsed_seconds"`
	Command  string            `json:"command"`
	Options  Options           `json:"options"`
	Results  []Result          `json:"results"`
	Settings []LibrarySettings `json:"settings"`
}

// LibrarySettings lists what one library ran with under one setting.
type LibrarySettings struct {
	Library string   `json:"library"`
	Setting string   `json:"setting"`
	Values  []string `json:"values"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model"`
	GoVersion  string `json:"go_version"`
	OSArch     string `json:"os_arch"`
	// LoadAvg is /proc/loadavg's 1, 5 and 15 minute load when the report
	// was made: other work on the machine shares the cores.
	LoadAvg string `json:"loadavg"`
	// LoadAvgStart is the same when the run started (set by the caller).
	LoadAvgStart string `json:"loadavg_start,omitempty"`
}

// ThisMachine reads the machine's description.
func ThisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		OSArch: runtime.GOOS + "/" + runtime.GOARCH, CPUModel: "unknown"}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// NewReport wraps results with the machine, options and settings.
func NewReport(libs []Library, o Options, results []Result, started time.Time, command string) Report {
	o.fill()
	rep := Report{Machine: ThisMachine(), Started: started.UTC().Format(time.RFC3339),
		Elapsed: time.Since(started).Seconds(), Command: command, Options: o, Results: results}
	for _, s := range o.Settings {
		for _, l := range libs {
			rep.Settings = append(rep.Settings, LibrarySettings{Library: l.Name, Setting: s.Name, Values: l.New(s, -1).Settings()})
		}
	}
	return rep
}

type figure struct {
	name string
	val  func(Result) (v float64, prefix string, ok bool)
	fmt  string
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func maxOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return slices.Max(xs)
}

func timed(xs []float64, timeouts int, f func([]float64) float64) (float64, string, bool) {
	if len(xs) == 0 {
		return 0, "", false
	}
	v := f(xs)
	if timeouts > 0 && v >= maxOf(xs) {
		return v, ">", true
	}
	return v, "", true
}

// udpIPv4HeaderBytes is what IPv4 and UDP add to each datagram's payload.
const udpIPv4HeaderBytes = 28

// Rows both modes' tables share.
var (
	figJoinMedian = figure{"join convergence, median (s)", func(r Result) (float64, string, bool) {
		return timed(r.JoinSeconds, r.JoinTimeouts, median)
	}, "%.2f"}
	figJoinMax = figure{"join convergence, max (s)", func(r Result) (float64, string, bool) {
		return timed(r.JoinSeconds, r.JoinTimeouts, maxOf)
	}, "%.2f"}
	figJoinP90 = figure{"  90 % of members converged, median (s)", func(r Result) (float64, string, bool) {
		return timed(r.JoinP90Seconds, r.JoinTimeouts, median)
	}, "%.2f"}
	figCrashMedian = figure{"crash detection, median (s)", func(r Result) (float64, string, bool) {
		return timed(r.CrashSeconds, r.CrashTimeouts, median)
	}, "%.2f"}
	figCrashMax = figure{"crash detection, max (s)", func(r Result) (float64, string, bool) {
		return timed(r.CrashSeconds, r.CrashTimeouts, maxOf)
	}, "%.2f"}
	figLeave = figure{"graceful leave seen by all (s)", func(r Result) (float64, string, bool) {
		p := ""
		if r.LeaveTimeout {
			p = ">"
		}
		return r.LeaveSeconds, p, r.LeaveSeconds > 0
	}, "%.2f"}
	figUDPPayload = figure{"  UDP payload part", func(r Result) (float64, string, bool) {
		return r.UDPBytesPerMemberSec, "", r.QuietSeconds > 0
	}, "%.1f"}
	figTCPPayload = figure{"  TCP payload part", func(r Result) (float64, string, bool) {
		return r.StreamBytesPerMemberSec, "", r.QuietSeconds > 0
	}, "%.1f"}
	figFalseSuspect = figure{"false suspect (quiet window)", func(r Result) (float64, string, bool) {
		return float64(r.FalseSuspect), "", r.QuietSeconds > 0
	}, "%.0f"}
	figFalseDead = figure{"false dead (quiet window)", func(r Result) (float64, string, bool) {
		return float64(r.FalseDead), "", r.QuietSeconds > 0
	}, "%.0f"}
)

// figures are the rows of the in-process mode's table.
var figures = []figure{
	figJoinMedian, figJoinMax, figJoinP90, figCrashMedian, figCrashMax, figLeave,
	{"idle datagrams /member/s", func(r Result) (float64, string, bool) { return r.DatagramsPerMemberSec, "", r.QuietSeconds > 0 }, "%.2f"},
	{"idle bytes /member/s (UDP+TCP payload)", func(r Result) (float64, string, bool) { return r.BytesPerMemberSec, "", r.QuietSeconds > 0 }, "%.1f"},
	figUDPPayload, figTCPPayload,
	{"  UDP+TCP + 28 B header/datagram", func(r Result) (float64, string, bool) {
		return r.BytesPerMemberSec + udpIPv4HeaderBytes*r.DatagramsPerMemberSec, "", r.QuietSeconds > 0
	}, "%.1f"},
	{"CPU s /member/min", func(r Result) (float64, string, bool) { return r.CPUSecPerMemberMin, "", r.QuietSeconds > 0 }, "%.3f"},
	{"heap KiB /member", func(r Result) (float64, string, bool) { return r.HeapBytesPerMember / 1024, "", r.QuietSeconds > 0 }, "%.0f"},
	{"goroutines /member", func(r Result) (float64, string, bool) { return r.GoroutinesPerMember, "", r.QuietSeconds > 0 }, "%.1f"},
	figFalseSuspect, figFalseDead,
}

// tcpIPv4HeaderBytes is what IPv4 and TCP add to each segment: 20 + 20
// bytes, and the 12-byte timestamp option Linux puts on every segment of a
// connection that negotiated it (loopback connections do).
const tcpIPv4HeaderBytes = 52

// wireBytesPerMemberSec is the idle bytes per member per second with every
// header counted: payload, 28 B per UDP datagram, 52 B per TCP segment.
func wireBytesPerMemberSec(r Result) float64 {
	return r.BytesPerMemberSec + udpIPv4HeaderBytes*r.DatagramsPerMemberSec + tcpIPv4HeaderBytes*r.StreamSegmentsPerMemberSec
}

// procFigures are the rows of the process mode's table.
var procFigures = []figure{
	figJoinMedian, figJoinMax, figJoinP90, figCrashMedian, figCrashMax, figLeave,
	{"idle datagrams /member/s (UDP)", func(r Result) (float64, string, bool) { return r.DatagramsPerMemberSec, "", r.QuietSeconds > 0 }, "%.2f"},
	{"idle TCP segments /member/s", func(r Result) (float64, string, bool) { return r.StreamSegmentsPerMemberSec, "", r.QuietSeconds > 0 }, "%.2f"},
	{"idle bytes /member/s, headers included", func(r Result) (float64, string, bool) { return wireBytesPerMemberSec(r), "", r.QuietSeconds > 0 }, "%.1f"},
	figUDPPayload, figTCPPayload,
	{"  headers part (28 B/datagram, 52 B/segment)", func(r Result) (float64, string, bool) {
		return wireBytesPerMemberSec(r) - r.BytesPerMemberSec, "", r.QuietSeconds > 0
	}, "%.1f"},
	{"CPU ms /member/min", func(r Result) (float64, string, bool) { return 1000 * r.CPUSecPerMemberMin, "", r.QuietSeconds > 0 }, "%.1f"},
	{"RSS MiB /member (VmRSS)", func(r Result) (float64, string, bool) {
		return r.RSSBytesPerMember / (1 << 20), "", r.RSSBytesPerMember > 0
	}, "%.1f"},
	{"  anonymous part (RssAnon)", func(r Result) (float64, string, bool) {
		return r.AnonRSSBytesPerMember / (1 << 20), "", r.RSSBytesPerMember > 0
	}, "%.1f"},
	figFalseSuspect, figFalseDead,
	{"tick lag, mean over the quiet window (ms)", func(r Result) (float64, string, bool) {
		return 1000 * r.TickLagMeanSeconds, "", r.HasTickLag
	}, "%.2f"},
	{"tick lag, largest since start (ms)", func(r Result) (float64, string, bool) { return 1000 * r.TickLagMaxSeconds, "", r.HasTickLag }, "%.1f"},
	{"load average (1 min) after the quiet window", func(r Result) (float64, string, bool) {
		l, err := parseLoadAvg(r.LoadAvgQuiet)
		return l.One, "", err == nil
	}, "%.2f"},
	{"poll round of all members: CPU (ms)", func(r Result) (float64, string, bool) {
		return 1000 * r.PollRoundCPUSeconds, "", r.PollRoundWallSeconds > 0
	}, "%.1f"},
	{"poll round of all members: wall (ms)", func(r Result) (float64, string, bool) {
		return 1000 * r.PollRoundWallSeconds, "", r.PollRoundWallSeconds > 0
	}, "%.1f"},
}

func (f figure) cell(r *Result) string {
	if r == nil {
		return "-"
	}
	v, p, ok := f.val(*r)
	if !ok {
		return "-"
	}
	return p + fmt.Sprintf(f.fmt, v)
}

func ratio(f figure, h, m *Result) string {
	if h == nil || m == nil {
		return "-"
	}
	hv, _, hok := f.val(*h)
	mv, _, mok := f.val(*m)
	switch {
	case !hok || !mok:
		return "-"
	case mv == 0 && hv == 0:
		return "="
	case mv == 0:
		return "inf"
	}
	return fmt.Sprintf("%.2f", hv/mv)
}

func find(rs []Result, lib, setting string, n int) *Result {
	for i := range rs {
		if rs[i].Library == lib && rs[i].Setting == setting && rs[i].N == n {
			return &rs[i]
		}
	}
	return nil
}

// WriteText prints the table: one block per setting and N.
func (rep Report) WriteText(w io.Writer) {
	rep.write(w, false)
}

// WriteMarkdown prints the same table in Markdown.
func (rep Report) WriteMarkdown(w io.Writer) {
	rep.write(w, true)
}

func (rep Report) write(w io.Writer, md bool) {
	for _, s := range rep.Options.Settings {
		for _, n := range rep.Options.Sizes {
			m := find(rep.Results, "memberlist", s.Name, n)
			h := find(rep.Results, "hearsay", s.Name, n)
			if m == nil && h == nil {
				continue
			}
			title := fmt.Sprintf("setting %q, N=%d", s.Name, n)
			if s.Timing != nil {
				t := s.Timing
				title += fmt.Sprintf(" (probe/heartbeat %v, gossip %v, fanout %d, datagram %d B)", t.Probe, t.Gossip, t.Fanout, t.Datagram)
			} else {
				title += " (each library's LAN preset)"
			}
			first := "?"
			for _, r := range []*Result{m, h} {
				if r != nil && r.Order == 0 {
					first = r.Library
				}
			}
			if m != nil && h != nil && m.Order == h.Order {
				first = "?" // one side's figures were reused from another setting
			}
			if m != nil && h != nil && m.SameAs != "" && h.SameAs != "" && m.SameAs == h.SameAs {
				// Both sides ran exactly their configuration of another setting.
				line := fmt.Sprintf("%s: both libraries' configurations are identical to their %q ones; see that table.", title, m.SameAs)
				if md {
					fmt.Fprintf(w, "#### setting %q, N=%d\n\n%s\n\n", s.Name, n, line)
				} else {
					fmt.Fprintf(w, "%s\n\n", line)
				}
				continue
			}
			if first != "?" {
				title += ", " + first + " ran first"
			}
			for _, r := range []*Result{m, h} {
				if r != nil && r.SameAs != "" {
					title += fmt.Sprintf("; %s's configuration is identical to its %q one, figures reused", r.Library, r.SameAs)
				}
			}
			figs := figures
			if rep.Options.Procs {
				figs = procFigures
				title += "; every member its own process"
			}
			if md {
				fmt.Fprintf(w, "#### %s\n\n| figure | memberlist | hearsay | hearsay/memberlist |\n|---|---:|---:|---:|\n", title)
				for _, f := range figs {
					fmt.Fprintf(w, "| %s | %s | %s | %s |\n", strings.TrimSpace(f.name), f.cell(m), f.cell(h), ratio(f, h, m))
				}
				fmt.Fprintln(w)
			} else {
				fmt.Fprintf(w, "%s\n%-46s %12s %12s %20s\n", title, "figure", "memberlist", "hearsay", "hearsay/memberlist")
				for _, f := range figs {
					fmt.Fprintf(w, "%-46s %12s %12s %20s\n", f.name, f.cell(m), f.cell(h), ratio(f, h, m))
				}
				fmt.Fprintln(w)
			}
			for _, r := range []*Result{m, h} {
				if r == nil || (len(r.Errors) == 0 && r.ConvergedAfterQuiet) {
					continue
				}
				if !r.ConvergedAfterQuiet && r.QuietSeconds > 0 {
					fmt.Fprintf(w, "note: %s did not list all %d members alive at the end of the quiet window\n", r.Library, n)
				}
				for _, e := range r.Errors {
					fmt.Fprintf(w, "note: %s: %s\n", r.Library, e)
				}
				fmt.Fprintln(w)
			}
		}
	}
}

// WriteSettings prints what each library ran with.
func (rep Report) WriteSettings(w io.Writer, md bool) {
	for _, s := range rep.Settings {
		if md {
			fmt.Fprintf(w, "- **%s, %s**: %s\n", s.Library, s.Setting, strings.Join(s.Values, ", "))
		} else {
			fmt.Fprintf(w, "%s, %s: %s\n", s.Library, s.Setting, strings.Join(s.Values, ", "))
		}
	}
}

// WriteTargets checks the targets of the benchmark issue against the
// results of one setting and prints, for each, met or missed and by how much.
// "p99" of join convergence is the largest of the samples taken.
func (rep Report) WriteTargets(w io.Writer, setting string, md bool) {
	if rep.Options.Procs {
		rep.writeProcTargets(w, setting, md)
		return
	}
	if same := rep.reusedBoth(setting); same != "" {
		fmt.Fprintf(w, "Setting %q ran both libraries exactly as %q: same verdicts.\n", setting, same)
		return
	}
	type row = targetRow
	var rows []row
	var hsBytes []float64
	var ns []int
	for _, n := range rep.Options.Sizes {
		m := find(rep.Results, "memberlist", setting, n)
		h := find(rep.Results, "hearsay", setting, n)
		if m == nil || h == nil {
			continue
		}
		if len(m.CrashSeconds) > 0 && len(h.CrashSeconds) > 0 {
			hm, mm := maxOf(h.CrashSeconds), maxOf(m.CrashSeconds)
			falses := h.FalseSuspect + h.FalseDead
			rows = append(rows, row{fmt.Sprintf("N=%d crash detection max ≤ 0.5 × memberlist's, no false suspect/dead", n),
				fmt.Sprintf("%.2f s vs %.2f s (×%.2f); false suspect %d, dead %d", hm, mm, hm/mm, h.FalseSuspect, h.FalseDead),
				verdict(hm <= 0.5*mm && falses == 0 && h.CrashTimeouts == 0, missBy(hm, 0.5*mm, "s", falses))})
		}
		if len(m.JoinSeconds) > 0 && len(h.JoinSeconds) > 0 {
			hp, mmed := maxOf(h.JoinSeconds), median(m.JoinSeconds)
			ok := hp <= mmed && h.JoinTimeouts == 0
			fig := fmt.Sprintf("hearsay max %.2f s over %d joins; memberlist median %.2f s", hp, len(h.JoinSeconds), mmed)
			target := fmt.Sprintf("N=%d join convergence p99 ≤ memberlist's median", n)
			miss := missBy(hp, mmed, "s", 0)
			if n == 64 {
				target = "N=64 join convergence p99 ≤ 1.5 s and ≤ memberlist's median"
				ok = ok && hp <= 1.5
				miss = missBy(hp, min(1.5, mmed), "s", 0)
			}
			rows = append(rows, row{target, fig, verdict(ok, miss)})
		}
		if m.LeaveSeconds > 0 && h.LeaveSeconds > 0 {
			rows = append(rows, row{fmt.Sprintf("N=%d graceful leave ≤ memberlist's", n),
				fmt.Sprintf("%.2f s vs %.2f s", h.LeaveSeconds, m.LeaveSeconds),
				verdict(h.LeaveSeconds <= m.LeaveSeconds && !h.LeaveTimeout, missBy(h.LeaveSeconds, m.LeaveSeconds, "s", 0))})
		}
		if m.QuietSeconds > 0 && h.QuietSeconds > 0 {
			rows = append(rows, row{fmt.Sprintf("N=%d idle bytes/member/s ≤ 3 × memberlist's", n),
				fmt.Sprintf("%.1f vs %.1f B/s (×%.2f)", h.BytesPerMemberSec, m.BytesPerMemberSec, h.BytesPerMemberSec/m.BytesPerMemberSec),
				verdict(h.BytesPerMemberSec <= 3*m.BytesPerMemberSec, missBy(h.BytesPerMemberSec, 3*m.BytesPerMemberSec, "B/s", 0))})
			rows = append(rows, row{fmt.Sprintf("N=%d CPU per member ≤ memberlist's", n),
				fmt.Sprintf("%.3f vs %.3f CPU s/member/min (×%.2f)", h.CPUSecPerMemberMin, m.CPUSecPerMemberMin, h.CPUSecPerMemberMin/m.CPUSecPerMemberMin),
				verdict(h.CPUSecPerMemberMin <= m.CPUSecPerMemberMin, missBy(h.CPUSecPerMemberMin, m.CPUSecPerMemberMin, "CPU s/member/min", 0))})
			hsBytes = append(hsBytes, h.BytesPerMemberSec)
			ns = append(ns, n)
		}
	}
	if len(hsBytes) >= 2 {
		growth := hsBytes[len(hsBytes)-1] / hsBytes[0]
		rows = append(rows, row{fmt.Sprintf("idle bytes/member/s flat as N grows (N=%d → N=%d, within ±25%%)", ns[0], ns[len(ns)-1]),
			fmt.Sprintf("%.1f → %.1f B/s (×%.2f)", hsBytes[0], hsBytes[len(hsBytes)-1], growth),
			verdict(growth <= 1.25 && growth >= 0.75, fmt.Sprintf("×%.2f", growth))})
	}
	writeTargetRows(w, fmt.Sprintf("target (setting %q)", setting), rows, md, 70, 60)
}

// targetRow is one line of a verdict table.
type targetRow struct{ target, figures, verdict string }

// verdict is "met", or "MISSED: " and by how much.
func verdict(ok bool, miss string) string {
	if ok {
		return "met"
	}
	return "MISSED: " + miss
}

// writeTargetRows prints rows as a Markdown table under heading, or as
// text columns of the given widths.
func writeTargetRows(w io.Writer, heading string, rows []targetRow, md bool, targetWidth, figuresWidth int) {
	if md && len(rows) > 0 {
		fmt.Fprintf(w, "| %s | hearsay vs memberlist | verdict |\n|---|---|---|\n", heading)
	}
	for _, r := range rows {
		if md {
			fmt.Fprintf(w, "| %s | %s | %s |\n", r.target, r.figures, r.verdict)
		} else {
			fmt.Fprintf(w, "%-*s %-*s %s\n", targetWidth, r.target, figuresWidth, r.figures, r.verdict)
		}
	}
}

// missBy says how far got is over want.
func missBy(got, want float64, unit string, falses uint64) string {
	s := ""
	if got > want {
		s = fmt.Sprintf("%.3g %s over (×%.2f of the bound)", got-want, unit, got/want)
	}
	if falses > 0 {
		if s != "" {
			s += "; "
		}
		s += fmt.Sprintf("%d false suspicions/deaths", falses)
	}
	return s
}

// reusedBoth returns the setting whose figures both libraries reused for
// every N of setting, or "".
func (rep Report) reusedBoth(setting string) string {
	same := ""
	for _, r := range rep.Results {
		if r.Setting != setting {
			continue
		}
		if r.SameAs == "" || (same != "" && r.SameAs != same) {
			return ""
		}
		same = r.SameAs
	}
	return same
}
