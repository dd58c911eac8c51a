package core

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// steadyPhi is a detector that has seen heartbeats from "p" every interval,
// n+1 arrivals (n samples), starting at t0. It returns the last arrival.
func steadyPhi(cfg phiConfig, interval time.Duration, n int) (*phiAccrualDetector, time.Time) {
	d := newPhiAccrualDetector(cfg)
	at := t0
	d.Heartbeat("p", at)
	for range n {
		at = at.Add(interval)
		d.Heartbeat("p", at)
	}
	return d, at
}

func akkaPhi() phiConfig { return defaultPhiConfig(time.Second) }

// TestPhiHandComputed checks phi against values computed by hand from the
// formula (in milliseconds):
//
//	y = (t - mean)/sd;  e = exp(-y*(1.5976 + 0.070566*y*y))
//	phi = -log10(e/(1+e)) if t > mean, else -log10(1 - 1/(1+e))
//
// Histories (the window always starts with the seeds 750 and 1250 for a 1 s
// first-heartbeat estimate):
//
//   - steady: 20 samples of 1000 → mean 1000, variance (750²+1250²+20·1000²)/22
//     − 1000² = 5681.8, sd 75.4 → floored to MinStdDev 100; the LAN pause
//     of 3000 gives mean 4000. t=4000: y=0, e=1, phi=log10(2)=0.30103.
//     t=4100: y=1, e=exp(−1.668166)=0.188594, phi=−log10(0.188594/1.188594)=0.79951.
//     t=4300: y=3, e=exp(−6.698082)=0.0012317, phi=2.90948.
//     t=5000: y=10, e=exp(−86.543), phi=86.543/ln10+~0=37.5847.
//     t=6000: y=20, e=exp(−596.48), phi=596.48/ln10=259.048.
//     t=1000: y=−30, e=exp(+1953), 1/(1+e)=0, phi=0.
//   - first: the first heartbeat only, pause 0 → mean 1000, sd 250.
//     t=1500: y=2, e=exp(−3.759728)=0.023288, phi=1.64283.
//   - alternating: seeds then 800,1200 ×10 → mean 1000, variance
//     (750²+1250²+10·800²+10·1200²)/22 − 1000² = 42045.45, sd 205.05; pause 0.
//     t=1500: y=2.43843, phi=2.13935.
func TestPhiHandComputed(t *testing.T) {
	noPause := akkaPhi()
	noPause.AcceptablePause = 0

	steady, steadyLast := steadyPhi(akkaPhi(), time.Second, 20)
	first, firstLast := steadyPhi(noPause, 0, 0)
	alt := newPhiAccrualDetector(noPause)
	altLast := t0
	alt.Heartbeat("p", altLast)
	for i := range 20 {
		gap := 800 * time.Millisecond
		if i%2 == 1 {
			gap = 1200 * time.Millisecond
		}
		altLast = altLast.Add(gap)
		alt.Heartbeat("p", altLast)
	}

	ms := time.Millisecond
	tests := []struct {
		name  string
		d     *phiAccrualDetector
		last  time.Time
		after time.Duration
		want  float64
	}{
		{"steady +1s", steady, steadyLast, 1000 * ms, 0},
		{"steady +3.9s", steady, steadyLast, 3900 * ms, 0.0750330321409399},
		{"steady +4s", steady, steadyLast, 4000 * ms, 0.3010299956639812},
		{"steady +4.1s", steady, steadyLast, 4100 * ms, 0.7995083208395598},
		{"steady +4.3s", steady, steadyLast, 4300 * ms, 2.9094753264849538},
		{"steady +5s", steady, steadyLast, 5000 * ms, 37.58471305287122},
		{"steady +6s", steady, steadyLast, 6000 * ms, 259.04797256565166},
		{"first +0.5s", first, firstLast, 500 * ms, 0.009998761629963108},
		{"first +1s", first, firstLast, 1000 * ms, 0.3010299956639812},
		{"first +1.25s", first, firstLast, 1250 * ms, 0.7995083208395598},
		{"first +1.5s", first, firstLast, 1500 * ms, 1.6428278854871123},
		{"first +2s", first, firstLast, 2000 * ms, 4.736694582705181},
		{"alternating +1s", alt, altLast, 1000 * ms, 0.3010299956639812},
		{"alternating +1.2s", alt, altLast, 1200 * ms, 0.783331577986672},
		{"alternating +1.5s", alt, altLast, 1500 * ms, 2.1393519495427844},
		{"alternating +2s", alt, altLast, 2000 * ms, 6.938393649339593},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.d.Phi("p", tt.last.Add(tt.after))
			if math.Abs(got-tt.want) > 1e-9*max(1, tt.want) {
				t.Errorf("phi = %.12g, want %.12g", got, tt.want)
			}
		})
	}
	if got := steady.Phi("unknown", steadyLast); got != 0 {
		t.Errorf("phi of an unknown authority = %v, want 0", got)
	}
}

// TestPhiOfMatchesAkkaForm checks that the overflow-safe evaluation equals
// Akka's literal expression wherever the latter is finite.
func TestPhiOfMatchesAkkaForm(t *testing.T) {
	akka := func(t, mean, sd float64) float64 {
		y := (t - mean) / sd
		e := math.Exp(-y * (1.5976 + 0.070566*y*y))
		if t > mean {
			return -math.Log10(e / (1.0 + e))
		}
		return -math.Log10(1.0 - 1.0/(1.0+e))
	}
	r := rand.New(rand.NewPCG(7, 7))
	for range 10000 {
		mean := 10 + r.Float64()*5000
		sd := 1 + r.Float64()*1000
		tm := r.Float64() * (mean + 8*sd)
		want := akka(tm, mean, sd)
		if math.IsInf(want, 0) || math.IsNaN(want) {
			continue
		}
		if got := phiOf(tm, mean, sd); math.Abs(got-want) > 1e-9*max(1, want) {
			t.Fatalf("phiOf(%v, %v, %v) = %v, want %v", tm, mean, sd, got, want)
		}
	}
	if got := phiOf(1e9, 1, 1); math.IsInf(got, 0) || math.IsNaN(got) || got < 1e20 {
		t.Errorf("phi far in the tail = %v, want a huge finite number", got)
	}
}

func TestDetectorSuspectOnceThenReachable(t *testing.T) {
	d, last := steadyPhi(akkaPhi(), time.Second, 30)
	var suspects, reachables int
	now := last
	var suspectedAt time.Time
	for range 600 { // Check every 100 ms for 60 s of silence
		now = now.Add(100 * time.Millisecond)
		for _, ev := range d.Check(now) {
			switch ev.Kind {
			case detectorSuspect:
				suspects++
				suspectedAt = now
				if ev.Authority != "p" || ev.Phi < 8 {
					t.Errorf("suspect event %+v: want p with phi >= 8", ev)
				}
			case detectorReachable:
				reachables++
			}
		}
	}
	if suspects != 1 || reachables != 0 {
		t.Fatalf("suspect events = %d, reachable = %d; want 1, 0", suspects, reachables)
	}
	// Threshold 8 with mean 4000 and sd 100: y(phi=8) ≈ 4.6 → 4.5 s < t <= 4.6 s.
	if gap := suspectedAt.Sub(last); gap < 4500*time.Millisecond || gap > 4600*time.Millisecond {
		t.Errorf("suspected %v after the last heartbeat, want 4.5s..4.6s", gap)
	}
	if !d.Suspected("p") {
		t.Errorf("Suspected(p) = false after a suspect event")
	}

	// Heartbeats resume: one Reachable, then quiet.
	for i := range 10 {
		now = now.Add(time.Second)
		d.Heartbeat("p", now)
		evs := d.Check(now)
		switch {
		case i == 0 && (len(evs) != 1 || evs[0].Kind != detectorReachable || evs[0].Authority != "p"):
			t.Fatalf("after the first heartbeat: events %+v, want one reachable for p", evs)
		case i > 0 && len(evs) != 0:
			t.Fatalf("heartbeat %d: events %+v, want none", i, evs)
		}
	}
	// The outage gap was not sampled: the mean is still 1000 ms, so at
	// last+4 s (t = mean + pause) phi is exactly log10(2).
	if got := d.Phi("p", now.Add(4*time.Second)); math.Abs(got-math.Log10(2)) > 1e-9 {
		t.Errorf("phi at mean after recovery = %v, want log10(2): the outage skewed the history", got)
	}
}

// A peer suspected and then rearmed (its suspicion was refuted) is watched
// again: a silence from the rearm on is reported as a new suspicion, after
// the same delay as the first, and the rearm added no sample to the history.
func TestDetectorRearmReportsANewLoss(t *testing.T) {
	d, last := steadyPhi(akkaPhi(), time.Second, 30)
	firstLoss := func(from time.Time) time.Time {
		t.Helper()
		for now := from; now.Before(from.Add(time.Minute)); now = now.Add(100 * time.Millisecond) {
			for _, ev := range d.Check(now) {
				if ev.Kind != detectorSuspect || ev.Authority != "p" {
					t.Fatalf("event %+v, want only suspicions of p", ev)
				}
				return now
			}
		}
		t.Fatalf("no suspicion within a minute of silence from %v", from)
		return time.Time{}
	}
	first := firstLoss(last)
	rearmed := first.Add(3 * time.Second) // the refutation came 3 s later
	d.Rearm("p", rearmed)
	if d.Suspected("p") {
		t.Fatalf("Suspected(p) after Rearm")
	}
	second := firstLoss(rearmed)
	if got, want := second.Sub(rearmed), first.Sub(last); got != want {
		t.Errorf("second suspicion %v after the rearm, want %v as after the last heartbeat", got, want)
	}
	if got := d.Phi("p", rearmed.Add(4*time.Second)); math.Abs(got-math.Log10(2)) > 1e-9 {
		t.Errorf("phi at mean after the rearm = %v, want log10(2): the rearm added a sample", got)
	}
	// An authority never heard of is seeded as by its first heartbeat: mean
	// FirstHeartbeatEstimate (1 s) plus the pause (3 s).
	d.Rearm("q", rearmed)
	if got := d.Phi("q", rearmed.Add(4*time.Second)); d.Len() != 2 || math.Abs(got-math.Log10(2)) > 1e-9 {
		t.Errorf("Rearm of an unknown authority: Len %d, phi at its mean %v, want 2 and log10(2)", d.Len(), got)
	}
}

func TestDetectorForgive(t *testing.T) {
	tests := []struct {
		name        string
		forgive     time.Duration
		wantSuspect bool
	}{
		{"no forgiveness: the stall is blamed on the peer", 0, true},
		{"forgiven stall", 9 * time.Second, false},
		{"negative forgiveness does nothing", -9 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, last := steadyPhi(akkaPhi(), time.Second, 30)
			// The local node stalls for 9 s; its first Check is at last + 10 s.
			d.Forgive(tt.forgive)
			now := last.Add(10 * time.Second)
			evs := d.Check(now)
			if got := len(evs) == 1 && evs[0].Kind == detectorSuspect; got != tt.wantSuspect {
				t.Fatalf("events %+v, want suspect = %v", evs, tt.wantSuspect)
			}
			if !tt.wantSuspect {
				// Heartbeats continue; the forgiven gap added no sample: the
				// mean is still 1000 ms.
				d.Heartbeat("p", now)
				if got := d.Phi("p", now.Add(4*time.Second)); math.Abs(got-math.Log10(2)) > 1e-9 {
					t.Errorf("phi at mean = %v, want log10(2)", got)
				}
			}
		})
	}
}

func TestDetectorEventsSortedAndRemove(t *testing.T) {
	d := newPhiAccrualDetector(akkaPhi())
	for _, a := range []string{"c:1", "a:1", "b:1"} {
		d.Heartbeat(a, t0)
	}
	if d.Len() != 3 {
		t.Fatalf("Len = %d, want 3", d.Len())
	}
	d.Remove("b:1")
	if got := d.Phi("b:1", t0.Add(time.Hour)); got != 0 {
		t.Errorf("phi after Remove = %v, want 0", got)
	}
	evs := d.Check(t0.Add(time.Hour))
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Authority+"/"+ev.Kind.String())
	}
	if want := "a:1/suspect c:1/suspect"; strings.Join(got, " ") != want {
		t.Errorf("events = %v, want %s", got, want)
	}
	if evs := d.Check(t0.Add(2 * time.Hour)); evs == nil || len(evs) != 0 {
		t.Errorf("second Check = %#v, want empty non-nil", evs)
	}
}

func TestDetectorHeartbeatBeforeLastArrival(t *testing.T) {
	d, last := steadyPhi(akkaPhi(), time.Second, 10)
	d.Forgive(5 * time.Second) // last arrival now at last+5s
	d.Heartbeat("p", last.Add(time.Second))
	if got := d.Phi("p", last.Add(5*time.Second+4*time.Second)); math.Abs(got-math.Log10(2)) > 1e-9 {
		t.Errorf("phi = %v, want log10(2): an arrival before the last must not add a sample or move it back", got)
	}
}

func TestPhiWindow(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{1, 2, 3, 17, 1000} {
		w := newPhiWindow(size)
		var all []float64
		for i := range 20000 {
			x := 1 + r.Float64()*2000
			if i%1000 == 0 {
				x = 1e7 // outliers stress the running sums
			}
			w.add(x)
			all = append(all, x)
			if i%997 != 0 {
				continue
			}
			last := all[max(0, len(all)-size):]
			var sum, sumSq float64
			for _, v := range last {
				sum += v
				sumSq += v * v
			}
			mean := sum / float64(len(last))
			std := math.Sqrt(max(0, sumSq/float64(len(last))-mean*mean))
			if math.Abs(w.mean()-mean) > 1e-6*mean || math.Abs(w.stdDev()-std) > 1e-4*max(std, 1) {
				t.Fatalf("size %d after %d: mean %v std %v, want %v %v", size, i+1, w.mean(), w.stdDev(), mean, std)
			}
		}
	}
}

func TestPhiWindowSlides(t *testing.T) {
	cfg := akkaPhi()
	cfg.WindowSize = 4
	cfg.AcceptablePause = 0
	// Four samples of 2 s push both seeds out: mean 2000, sd 0 → 100.
	d, last := steadyPhi(cfg, 2*time.Second, 4)
	if got, want := d.Phi("p", last.Add(2*time.Second)), math.Log10(2); math.Abs(got-want) > 1e-9 {
		t.Errorf("phi at +2s = %v, want %v", got, want)
	}
	if got, want := d.Phi("p", last.Add(2100*time.Millisecond)), 0.7995083208395598; math.Abs(got-want) > 1e-9 {
		t.Errorf("phi at +2.1s = %v, want %v", got, want)
	}
}

func TestPhiConfig(t *testing.T) {
	for name, c := range map[string]Config{"lan": DefaultLANConfig(), "wan": DefaultWANConfig(), "local": DefaultLocalConfig()} {
		pc := phiConfigFrom(c)
		want := phiConfig{c.PhiThreshold, c.PhiWindowSize, c.PhiMinStdDev, c.PhiAcceptablePause, c.PhiFirstHeartbeatEstimate}
		if pc != want {
			t.Errorf("%s: PhiConfigFrom = %+v, want %+v", name, pc, want)
		}
		if err := pc.Validate(); err != nil {
			t.Errorf("%s: Validate = %v", name, err)
		}
	}
	tests := []struct {
		field string
		mut   func(*phiConfig)
	}{
		{"Threshold", func(c *phiConfig) { c.Threshold = 0 }},
		{"Threshold", func(c *phiConfig) { c.Threshold = math.NaN() }},
		{"Threshold", func(c *phiConfig) { c.Threshold = math.Inf(1) }},
		{"WindowSize", func(c *phiConfig) { c.WindowSize = 0 }},
		{"MinStdDev", func(c *phiConfig) { c.MinStdDev = -1 }},
		{"AcceptablePause", func(c *phiConfig) { c.AcceptablePause = -1 }},
		{"FirstHeartbeatEstimate", func(c *phiConfig) { c.FirstHeartbeatEstimate = 0 }},
	}
	for _, tt := range tests {
		c := akkaPhi()
		tt.mut(&c)
		err := c.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig naming the field", tt.field, err)
		}
	}
}

func TestDetectorEventKindString(t *testing.T) {
	for k, want := range map[detectorEventKind]string{detectorSuspect: "suspect", detectorReachable: "reachable", 9: "detector-event(9)"} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", k, got, want)
		}
	}
}

func TestDetectorZeroStdDevNoNaN(t *testing.T) {
	cfg := akkaPhi()
	cfg.MinStdDev, cfg.AcceptablePause, cfg.WindowSize = 0, 0, 1
	d, last := steadyPhi(cfg, time.Second, 3)
	for _, after := range []time.Duration{0, time.Second, 2 * time.Second} {
		if got := d.Phi("p", last.Add(after)); math.IsNaN(got) {
			t.Errorf("phi at +%v is NaN", after)
		}
	}
}

func BenchmarkPhiHeartbeat(b *testing.B) {
	d := newPhiAccrualDetector(akkaPhi())
	at := t0
	b.ReportAllocs()
	for b.Loop() {
		at = at.Add(time.Second)
		d.Heartbeat("p", at)
	}
}

// defaultPhiConfig is Akka's detector: at a 1 s heartbeat, threshold 8,
// window 1,000, 100 ms minimum deviation, 3 s acceptable pause; and the LAN
// preset runs it at its own heartbeat, but for the acceptable pause, which
// it sets from the stall a member must survive (see DefaultLANConfig).
func TestDefaultPhiConfigIsAkkas(t *testing.T) {
	want := phiConfig{Threshold: 8, WindowSize: 1000, MinStdDev: 100 * time.Millisecond,
		AcceptablePause: 3 * time.Second, FirstHeartbeatEstimate: time.Second}
	if got := defaultPhiConfig(time.Second); got != want {
		t.Fatalf("DefaultPhiConfig(1s) = %+v, want %+v", got, want)
	}
	if err := want.Validate(); err != nil {
		t.Fatal(err)
	}
	lan := DefaultLANConfig()
	want = defaultPhiConfig(lan.HeartbeatInterval)
	want.AcceptablePause = lan.PhiAcceptablePause
	if got := phiConfigFrom(lan); got != want {
		t.Fatalf("the LAN preset's detector %+v is not DefaultPhiConfig(%v) = %+v but for its pause", got, lan.HeartbeatInterval, want)
	}
}

// A monitor feeds heartbeat arrivals to the detector and checks it as time
// passes; phi grows with the silence, and Check reports the loss once.
// (Formerly ExamplePhiAccrualDetector.)
func TestDetectorReportsALossOnce(t *testing.T) {
	d := newPhiAccrualDetector(defaultPhiConfig(time.Second)) // Akka's defaults at a 1 s heartbeat
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	last := start
	for i := range 30 { // a heartbeat every second
		last = start.Add(time.Duration(i) * time.Second)
		d.Heartbeat("10.0.0.2:7946", last)
	}
	var out strings.Builder
	for _, silence := range []time.Duration{time.Second, 4 * time.Second, 4300 * time.Millisecond, 5 * time.Second} {
		now := last.Add(silence)
		fmt.Fprintf(&out, "after %v: phi %.2f\n", silence, d.Phi("10.0.0.2:7946", now))
		for _, ev := range d.Check(now) {
			fmt.Fprintf(&out, "  %s %s (phi %.2f)\n", ev.Kind, ev.Authority, ev.Phi)
		}
	}
	now := last.Add(6 * time.Second)
	d.Heartbeat("10.0.0.2:7946", now)
	for _, ev := range d.Check(now) {
		fmt.Fprintf(&out, "heartbeat again: %s %s (phi %.2f)\n", ev.Kind, ev.Authority, ev.Phi)
	}
	want := `after 1s: phi 0.00
after 4s: phi 0.30
after 4.3s: phi 2.91
after 5s: phi 37.58
  suspect 10.0.0.2:7946 (phi 37.58)
heartbeat again: reachable 10.0.0.2:7946 (phi 0.00)
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

// NextLoss is when the first peer would reach the threshold if it stayed
// silent: phi is at the threshold then and below it two milliseconds
// before, so a coordinator that wakes at NextLoss acts on a loss when it
// happens rather than at its next periodic check; a suspected peer is not
// counted until its heartbeats resume, and then at once.
func TestNextLossIsWhenPhiReachesTheThreshold(t *testing.T) {
	d := newPhiAccrualDetector(defaultPhiConfig(500 * time.Millisecond))
	if _, ok := d.NextLoss(epoch); ok {
		t.Fatal("NextLoss with nobody monitored")
	}
	at := epoch
	for i := range 20 {
		d.Heartbeat("a:1", at)
		d.Heartbeat("b:1", at.Add(200*time.Millisecond))
		at = at.Add(500*time.Millisecond + time.Duration(i%3)*10*time.Millisecond)
	}
	next, ok := d.NextLoss(at)
	if !ok {
		t.Fatal("no NextLoss with two peers monitored")
	}
	if phi := d.Phi("a:1", next); phi < d.cfg.Threshold {
		t.Errorf("phi of the first peer at NextLoss is %.3f, below the threshold %v", phi, d.cfg.Threshold)
	}
	if phi := d.Phi("a:1", next.Add(-2*time.Millisecond)); phi >= d.cfg.Threshold {
		t.Errorf("phi 2 ms before NextLoss is %.3f, already at the threshold", phi)
	}
	if evs := d.Check(next); len(evs) != 1 || evs[0].Authority != "a:1" || evs[0].Kind != detectorSuspect {
		t.Fatalf("Check at NextLoss: %+v, want a:1 suspected", evs)
	}
	// a:1 is suspected: the next loss is b:1's.
	if next2, _ := d.NextLoss(next); !next2.Equal(next.Add(200 * time.Millisecond)) {
		t.Errorf("NextLoss after a:1 was lost: %v after, want b:1's, 200ms after", next2.Sub(next))
	}
	d.Heartbeat("a:1", next.Add(time.Millisecond))
	if next3, _ := d.NextLoss(next.Add(time.Millisecond)); !next3.Equal(next.Add(time.Millisecond)) {
		t.Errorf("NextLoss once a:1 resumed: %v, want at once", next3.Sub(next))
	}
}
