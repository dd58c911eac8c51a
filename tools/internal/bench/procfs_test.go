package bench

import (
	"errors"
	"os"
	"testing"
	"time"
)

func TestParseProcStatCPU(t *testing.T) {
	// Field 14 (utime) is 250 ticks and 15 (stime) 130: 3.8 s at USER_HZ 100.
	rest := " S 1 2345 2345 0 -1 4194560 1234 0 0 0 250 130 0 0 20 0 9 0 123456 1234567 2345 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	for _, tc := range []struct {
		name, stat string
		want       time.Duration
	}{
		{"plain name", "4242 (hearsay)" + rest, 3800 * time.Millisecond},
		{"name with spaces and parentheses", "4242 (my (odd) agent)" + rest, 3800 * time.Millisecond},
		{"zero", "7 (x) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 1 1\n", 0},
	} {
		got, err := parseProcStatCPU(tc.stat)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "4242 hearsay S 1", "4242 (x) S 1 2 3", "4242 (x) S 1 2 3 4 5 6 7 8 9 10 ten 11 12"} {
		if _, err := parseProcStatCPU(bad); !errors.Is(err, ErrProcFormat) {
			t.Errorf("parse %q: err %v, want ErrProcFormat", bad, err)
		}
	}
}

func TestParseProcStatusRSS(t *testing.T) {
	status := "Name:\thearsay\nVmPeak:\t 1263496 kB\nVmRSS:\t   13000 kB\nRssAnon:\t    2500 kB\nRssFile:\t   10500 kB\nThreads:\t9\n"
	rss, anon, err := parseProcStatusRSS(status)
	if err != nil || rss != 13000*1024 || anon != 2500*1024 {
		t.Errorf("got %d, %d, %v; want %d, %d", rss, anon, err, 13000*1024, 2500*1024)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t 12 kB\n", "VmRSS:\t 12 MB\nRssAnon:\t 1 kB\n", "VmRSS:\t x kB\nRssAnon:\t 1 kB\n"} {
		if _, _, err := parseProcStatusRSS(bad); !errors.Is(err, ErrProcFormat) {
			t.Errorf("parse %q: err %v, want ErrProcFormat", bad, err)
		}
	}
}

func TestParseLoadAvg(t *testing.T) {
	l, err := parseLoadAvg("0.55 0.88 0.73 1/234 5678\n")
	if err != nil || l != (LoadAvg{0.55, 0.88, 0.73}) || l.String() != "0.55 0.88 0.73" {
		t.Errorf("got %+v %q, %v", l, l.String(), err)
	}
	for _, bad := range []string{"", "0.5 0.8", "a b c"} {
		if _, err := parseLoadAvg(bad); !errors.Is(err, ErrProcFormat) {
			t.Errorf("parse %q: err %v, want ErrProcFormat", bad, err)
		}
	}
}

// TestReadProcSelf reads this test's own process, which has run code and
// holds memory, so both are above zero; and a process that does not exist
// is an error.
func TestReadProcSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	// Burn CPU until the kernel has charged at least one tick.
	deadline := time.Now().Add(10 * time.Second)
	var p ProcSample
	for time.Now().Before(deadline) {
		var err error
		if p, err = ReadProc(os.Getpid()); err != nil {
			t.Fatal(err)
		}
		if p.CPU > 0 {
			break
		}
		x := 0
		for i := range 10_000_000 {
			x += i
		}
		_ = x
	}
	if p.CPU <= 0 || p.RSS < 1<<20 || p.AnonRSS == 0 || p.AnonRSS > p.RSS {
		t.Errorf("own process: %+v", p)
	}
	if c, err := ReadProcCPU(os.Getpid()); err != nil || c < p.CPU {
		t.Errorf("ReadProcCPU = %v, %v; want ≥ %v", c, err, p.CPU)
	}
	if _, err := ReadProc(1 << 30); err == nil {
		t.Error("ReadProc of a pid that does not exist: no error")
	}
	if _, err := ReadLoadAvg(); err != nil {
		t.Error(err)
	}
}
