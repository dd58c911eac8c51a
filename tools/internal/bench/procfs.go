package bench

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicksPerSecond is USER_HZ, the unit of utime and stime in
// /proc/<pid>/stat: 100 on every Linux architecture Go supports (the
// kernel reports it as AT_CLKTCK; getconf CLK_TCK prints it). One tick is
// the resolution of a process's CPU figure: 10 ms.
const clockTicksPerSecond = 100

// ErrProcFormat is returned for /proc content that does not have the
// expected layout.
var ErrProcFormat = errors.New("bench: unexpected /proc format")

// ProcSample is what the benchmark reads about one process from /proc.
type ProcSample struct {
	// CPU is user + system time (utime + stime of /proc/<pid>/stat), all
	// threads, children not included.
	CPU time.Duration `json:"cpu"`
	// RSS is VmRSS of /proc/<pid>/status: resident memory, file-backed
	// pages (the binary) included.
	RSS uint64 `json:"rss"`
	// AnonRSS is RssAnon: the resident anonymous memory (heap, stacks),
	// the part no other process shares.
	AnonRSS uint64 `json:"anon_rss"`
}

// ReadProc reads the CPU time and resident memory of process pid.
func ReadProc(pid int) (ProcSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcSample{}, err
	}
	cpu, err := parseProcStatCPU(string(stat))
	if err != nil {
		return ProcSample{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcSample{}, err
	}
	rss, anon, err := parseProcStatusRSS(string(status))
	if err != nil {
		return ProcSample{}, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	return ProcSample{CPU: cpu, RSS: rss, AnonRSS: anon}, nil
}

// ReadProcCPU reads only the CPU time of process pid.
func ReadProcCPU(pid int) (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	cpu, err := parseProcStatCPU(string(stat))
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return cpu, nil
}

// parseProcStatCPU returns utime + stime from the content of
// /proc/<pid>/stat. The second field, the command name in parentheses, may
// itself hold spaces and parentheses, so fields are counted from the last
// ')': after it come state (field 3), ..., utime (14) and stime (15).
func parseProcStatCPU(stat string) (time.Duration, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("%w: no ')' in stat", ErrProcFormat)
	}
	f := strings.Fields(stat[end+1:])
	const utime, stime = 14 - 3, 15 - 3 // indexes in f, which starts at field 3
	if len(f) <= stime {
		return 0, fmt.Errorf("%w: %d fields after the command name", ErrProcFormat, len(f))
	}
	u, err1 := strconv.ParseUint(f[utime], 10, 64)
	s, err2 := strconv.ParseUint(f[stime], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%w: utime %q stime %q", ErrProcFormat, f[utime], f[stime])
	}
	return time.Duration(u+s) * time.Second / clockTicksPerSecond, nil
}

// parseProcStatusRSS returns VmRSS and RssAnon, in bytes, from the content
// of /proc/<pid>/status ("VmRSS:	   12345 kB").
func parseProcStatusRSS(status string) (rss, anon uint64, err error) {
	var haveRSS, haveAnon bool
	for _, line := range strings.Split(status, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "RssAnon") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("%w: %q", ErrProcFormat, line)
		}
		kb, perr := strconv.ParseUint(f[0], 10, 64)
		if perr != nil {
			return 0, 0, fmt.Errorf("%w: %q", ErrProcFormat, line)
		}
		if key == "VmRSS" {
			rss, haveRSS = kb*1024, true
		} else {
			anon, haveAnon = kb*1024, true
		}
	}
	if !haveRSS || !haveAnon {
		return 0, 0, fmt.Errorf("%w: no VmRSS or RssAnon line", ErrProcFormat)
	}
	return rss, anon, nil
}

// LoadAvg is the machine's load average, from /proc/loadavg.
type LoadAvg struct {
	One, Five, Fifteen float64
}

// String prints the three figures as /proc/loadavg does.
func (l LoadAvg) String() string { return fmt.Sprintf("%.2f %.2f %.2f", l.One, l.Five, l.Fifteen) }

// ReadLoadAvg reads /proc/loadavg.
func ReadLoadAvg() (LoadAvg, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return LoadAvg{}, err
	}
	return parseLoadAvg(string(b))
}

// parseLoadAvg parses "0.55 0.88 0.73 1/234 5678".
func parseLoadAvg(s string) (LoadAvg, error) {
	f := strings.Fields(s)
	if len(f) < 3 {
		return LoadAvg{}, fmt.Errorf("%w: loadavg %q", ErrProcFormat, s)
	}
	var v [3]float64
	for i := range v {
		x, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return LoadAvg{}, fmt.Errorf("%w: loadavg %q", ErrProcFormat, s)
		}
		v[i] = x
	}
	return LoadAvg{v[0], v[1], v[2]}, nil
}
