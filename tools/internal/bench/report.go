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
}

// ThisMachine reads the machine's description.
func ThisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		OSArch: runtime.GOOS + "/" + runtime.GOARCH, CPUModel: "unknown"}
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

var figures = []figure{
	{"join convergence, median (s)", func(r Result) (float64, string, bool) { return timed(r.JoinSeconds, r.JoinTimeouts, median) }, "%.2f"},
	{"join convergence, max (s)", func(r Result) (float64, string, bool) { return timed(r.JoinSeconds, r.JoinTimeouts, maxOf) }, "%.2f"},
	{"crash detection, median (s)", func(r Result) (float64, string, bool) { return timed(r.CrashSeconds, r.CrashTimeouts, median) }, "%.2f"},
	{"crash detection, max (s)", func(r Result) (float64, string, bool) { return timed(r.CrashSeconds, r.CrashTimeouts, maxOf) }, "%.2f"},
	{"graceful leave seen by all (s)", func(r Result) (float64, string, bool) {
		p := ""
		if r.LeaveTimeout {
			p = ">"
		}
		return r.LeaveSeconds, p, r.LeaveSeconds > 0
	}, "%.2f"},
	{"idle datagrams /member/s", func(r Result) (float64, string, bool) { return r.DatagramsPerMemberSec, "", r.QuietSeconds > 0 }, "%.2f"},
	{"idle bytes /member/s (UDP+TCP)", func(r Result) (float64, string, bool) { return r.BytesPerMemberSec, "", r.QuietSeconds > 0 }, "%.1f"},
	{"  of which UDP", func(r Result) (float64, string, bool) { return r.UDPBytesPerMemberSec, "", r.QuietSeconds > 0 }, "%.1f"},
	{"  of which TCP", func(r Result) (float64, string, bool) { return r.StreamBytesPerMemberSec, "", r.QuietSeconds > 0 }, "%.1f"},
	{"CPU s /member/min", func(r Result) (float64, string, bool) { return r.CPUSecPerMemberMin, "", r.QuietSeconds > 0 }, "%.3f"},
	{"heap KiB /member", func(r Result) (float64, string, bool) { return r.HeapBytesPerMember / 1024, "", r.QuietSeconds > 0 }, "%.0f"},
	{"goroutines /member", func(r Result) (float64, string, bool) { return r.GoroutinesPerMember, "", r.QuietSeconds > 0 }, "%.1f"},
	{"false suspect (quiet window)", func(r Result) (float64, string, bool) { return float64(r.FalseSuspect), "", r.QuietSeconds > 0 }, "%.0f"},
	{"false dead (quiet window)", func(r Result) (float64, string, bool) { return float64(r.FalseDead), "", r.QuietSeconds > 0 }, "%.0f"},
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
			title += ", " + first + " ran first"
			for _, r := range []*Result{m, h} {
				if r != nil && r.SameAs != "" {
					title += fmt.Sprintf("; %s's configuration is identical to its %q one, figures reused", r.Library, r.SameAs)
				}
			}
			if md {
				fmt.Fprintf(w, "#### %s\n\n| figure | memberlist | hearsay | hearsay/memberlist |\n|---|---:|---:|---:|\n", title)
				for _, f := range figures {
					fmt.Fprintf(w, "| %s | %s | %s | %s |\n", strings.TrimSpace(f.name), f.cell(m), f.cell(h), ratio(f, h, m))
				}
				fmt.Fprintln(w)
			} else {
				fmt.Fprintf(w, "%s\n%-32s %12s %12s %20s\n", title, "figure", "memberlist", "hearsay", "hearsay/memberlist")
				for _, f := range figures {
					fmt.Fprintf(w, "%-32s %12s %12s %20s\n", f.name, f.cell(m), f.cell(h), ratio(f, h, m))
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
