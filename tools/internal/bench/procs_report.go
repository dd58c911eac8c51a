package bench

import (
	"fmt"
	"io"
)

// goalQuietWindow is the quiet window over which issue 14 asks for zero
// false suspicions and deaths.
const goalQuietWindow = 60

// writeProcTargets checks the goals of the process mode (the LAN presets,
// every member its own process) and prints, for each, met or missed and by
// how much:
//   - crash detection max ≤ 0.5 × memberlist's;
//   - idle datagrams and bytes (headers included) per member per second
//     ≤ 1.0 × memberlist's;
//   - CPU and RSS per member ≤ 1.0 × memberlist's;
//   - zero false suspect and false dead in a quiet window of 60 s;
//   - join (median) and leave no slower than memberlist's.
//
// A last row per N says whether the run starved itself: the load average
// at the end of each quiet window against the CPUs.
func (rep Report) writeProcTargets(w io.Writer, setting string, md bool) {
	type row = targetRow
	var rows []row
	atMost := func(n int, what string, h, m, bound float64, unit, format string) row {
		return row{fmt.Sprintf("N=%d %s ≤ %.1f × memberlist's", n, what, bound),
			fmt.Sprintf(format+" vs "+format+" %s (×%.2f)", h, m, unit, h/m),
			verdict(h <= bound*m, missBy(h, bound*m, unit, 0))}
	}
	for _, n := range rep.Options.Sizes {
		m := find(rep.Results, "memberlist", setting, n)
		h := find(rep.Results, "hearsay", setting, n)
		if m == nil || h == nil {
			continue
		}
		if len(m.CrashSeconds) > 0 && len(h.CrashSeconds) > 0 {
			hm, mm := maxOf(h.CrashSeconds), maxOf(m.CrashSeconds)
			r := atMost(n, "crash detection max", hm, mm, 0.5, "s", "%.2f")
			if h.CrashTimeouts > 0 {
				r.verdict = fmt.Sprintf("MISSED: %d of %d crashes not seen dead by all within the timeout", h.CrashTimeouts, len(h.CrashSeconds))
			}
			rows = append(rows, r)
		}
		if m.QuietSeconds > 0 && h.QuietSeconds > 0 {
			rows = append(rows,
				atMost(n, "idle datagrams /member/s", h.DatagramsPerMemberSec, m.DatagramsPerMemberSec, 1, "/s", "%.2f"),
				atMost(n, "idle bytes /member/s, headers included", wireBytesPerMemberSec(*h), wireBytesPerMemberSec(*m), 1, "B/s", "%.1f"),
				atMost(n, "CPU /member", 1000*h.CPUSecPerMemberMin, 1000*m.CPUSecPerMemberMin, 1, "ms/min", "%.1f"))
			if h.RSSBytesPerMember > 0 && m.RSSBytesPerMember > 0 {
				rows = append(rows, atMost(n, "RSS /member", h.RSSBytesPerMember/(1<<20), m.RSSBytesPerMember/(1<<20), 1, "MiB", "%.1f"))
			}
			falses := h.FalseSuspect + h.FalseDead
			fig := fmt.Sprintf("hearsay %d suspect, %d dead; memberlist %d suspect, %d dead, over %.0f s",
				h.FalseSuspect, h.FalseDead, m.FalseSuspect, m.FalseDead, h.QuietSeconds)
			v := "met"
			switch {
			case falses > 0:
				v = fmt.Sprintf("MISSED: %d false suspicions/deaths", falses)
			case h.QuietSeconds < goalQuietWindow-0.5:
				v = fmt.Sprintf("NOT SHOWN: the window was %.0f s, the goal asks %d s", h.QuietSeconds, goalQuietWindow)
			}
			rows = append(rows, row{fmt.Sprintf("N=%d zero false suspect and dead in a %d s quiet window", n, goalQuietWindow), fig, v})
		}
		if len(m.JoinSeconds) > 0 && len(h.JoinSeconds) > 0 {
			hmed, mmed := median(h.JoinSeconds), median(m.JoinSeconds)
			v := noSlower(hmed, mmed, rep.Options.Poll.Seconds())
			if h.JoinTimeouts > 0 {
				v = fmt.Sprintf("MISSED: %d of %d joins did not converge within the timeout", h.JoinTimeouts, len(h.JoinSeconds))
			}
			rows = append(rows, row{fmt.Sprintf("N=%d join convergence (median) no slower", n),
				fmt.Sprintf("%.2f s vs %.2f s over %d joins (max %.2f s vs %.2f s)", hmed, mmed, len(h.JoinSeconds), maxOf(h.JoinSeconds), maxOf(m.JoinSeconds)), v})
		}
		if m.LeaveSeconds > 0 && h.LeaveSeconds > 0 {
			v := noSlower(h.LeaveSeconds, m.LeaveSeconds, rep.Options.Poll.Seconds())
			if h.LeaveTimeout {
				v = "MISSED: the leave was not seen by all within the timeout"
			}
			rows = append(rows, row{fmt.Sprintf("N=%d graceful leave no slower", n),
				fmt.Sprintf("%.2f s vs %.2f s", h.LeaveSeconds, m.LeaveSeconds), v})
		}
		if lh, err1 := parseLoadAvg(h.LoadAvgQuiet); err1 == nil {
			if lm, err2 := parseLoadAvg(m.LoadAvgQuiet); err2 == nil {
				cpus := float64(rep.Machine.CPUs)
				fig := fmt.Sprintf("load %.2f (hearsay) and %.2f (memberlist) on %d CPUs", lh.One, lm.One, rep.Machine.CPUs)
				if h.HasTickLag {
					fig += fmt.Sprintf("; hearsay tick lag %.2f ms mean, %.0f ms largest", 1000*h.TickLagMeanSeconds, 1000*h.TickLagMaxSeconds)
				}
				v := "ok"
				if lh.One > cpus || lm.One > cpus {
					v = "SATURATED: more runnable work than CPUs; the figures measure the machine's contention too"
				}
				rows = append(rows, row{fmt.Sprintf("N=%d the run did not starve itself (1-min load average ≤ CPUs after each quiet window)", n), fig, v})
			}
		}
	}
	writeTargetRows(w, fmt.Sprintf("goal (setting %q, every member its own process)", setting), rows, md, 72, 80)
}

// noSlower is the verdict of "h no slower than m" for two propagation
// times read by polling every poll seconds: each is late by up to a polling
// interval, so a difference below one interval is a tie, not a miss.
func noSlower(h, m, poll float64) string {
	switch {
	case h <= m:
		return "met"
	case h-m < poll:
		return fmt.Sprintf("TIE: %.3g s slower, less than the %.3g s polling interval", h-m, poll)
	}
	return "MISSED: " + missBy(h, m, "s", 0)
}
