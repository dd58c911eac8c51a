package core

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// detectorEventKind says what a detectorEvent reports.
type detectorEventKind uint8

const (
	// detectorSuspect: phi reached the threshold; the peer may have failed.
	detectorSuspect detectorEventKind = iota + 1
	// detectorReachable: a suspected peer's heartbeats resumed.
	detectorReachable
)

// String returns "suspect" or "reachable".
func (k detectorEventKind) String() string {
	switch k {
	case detectorSuspect:
		return "suspect"
	case detectorReachable:
		return "reachable"
	}
	return fmt.Sprintf("detector-event(%d)", uint8(k))
}

// detectorEvent is one change of a peer's reachability as seen by a
// FailureDetector.
type detectorEvent struct {
	// Authority is the peer.
	Authority string
	// Kind says whether the peer became suspect or reachable again.
	Kind detectorEventKind
	// Phi is the peer's phi when the event was decided.
	Phi float64
}

// phiConfig tunes a phiAccrualDetector. Build it with phiConfigFrom from a
// validated Config, or fill it and call Validate.
type phiConfig struct {
	// Threshold is the phi at or above which a peer is suspected. Phi 8 means
	// the current silence has a probability of about 1e-8 under the peer's
	// arrival history.
	Threshold float64
	// WindowSize is how many inter-arrival samples are kept (the oldest is
	// dropped when the window is full).
	WindowSize int
	// MinStdDev is the floor of the standard deviation used in phi, so that a
	// very regular history does not make a small delay look catastrophic.
	MinStdDev time.Duration
	// AcceptablePause is added to the mean inter-arrival time: a silence that
	// long beyond the usual interval is tolerated (GC, scheduling).
	AcceptablePause time.Duration
	// FirstHeartbeatEstimate seeds the history of a new peer: two samples,
	// estimate ± estimate/4, so mean = estimate and stddev = estimate/4.
	FirstHeartbeatEstimate time.Duration
}

// defaultPhiConfig returns Akka's defaults for a peer heartbeating every
// heartbeat: threshold 8, a window of 1,000 samples, a 100 ms minimum
// standard deviation, an acceptable pause of three heartbeat intervals and a
// first estimate of one interval. At a 1 s heartbeat (Akka's) that is a 3 s
// pause allowance; DefaultLANConfig uses it at 500 ms (1.5 s), the WAN and
// Local presets tune their own.
func defaultPhiConfig(heartbeat time.Duration) phiConfig {
	return phiConfig{
		Threshold:              8,
		WindowSize:             1000,
		MinStdDev:              100 * time.Millisecond,
		AcceptablePause:        3 * heartbeat,
		FirstHeartbeatEstimate: heartbeat,
	}
}

// phiConfigFrom returns the detector settings of c (PhiThreshold,
// PhiWindowSize, PhiMinStdDev, PhiAcceptablePause, PhiFirstHeartbeatEstimate).
func phiConfigFrom(c Config) phiConfig {
	return phiConfig{
		Threshold:              c.PhiThreshold,
		WindowSize:             c.PhiWindowSize,
		MinStdDev:              c.PhiMinStdDev,
		AcceptablePause:        c.PhiAcceptablePause,
		FirstHeartbeatEstimate: c.PhiFirstHeartbeatEstimate,
	}
}

// Validate returns an error wrapping ErrInvalidConfig that names the first bad
// field, or nil: Threshold must be a positive number, WindowSize, MinStdDev and
// FirstHeartbeatEstimate positive, AcceptablePause zero or positive.
func (c phiConfig) Validate() error {
	bad := func(field string, v any) error {
		return fmt.Errorf("%w: %s must be > 0, got %v", ErrInvalidConfig, field, v)
	}
	switch {
	case !(c.Threshold > 0) || math.IsInf(c.Threshold, 1):
		return fmt.Errorf("%w: Threshold must be a finite number > 0, got %v", ErrInvalidConfig, c.Threshold)
	case c.WindowSize <= 0:
		return bad("WindowSize", c.WindowSize)
	case c.MinStdDev <= 0:
		return bad("MinStdDev", c.MinStdDev)
	case c.AcceptablePause < 0:
		return fmt.Errorf("%w: AcceptablePause must be >= 0, got %v", ErrInvalidConfig, c.AcceptablePause)
	case c.FirstHeartbeatEstimate <= 0:
		return bad("FirstHeartbeatEstimate", c.FirstHeartbeatEstimate)
	}
	return nil
}

// phiAccrualDetector is the phi-accrual failure detector (Hayashibara et al.,
// 2004) exactly as Akka's PhiAccrualFailureDetector computes it.
//
// For each peer it keeps a sliding window of inter-arrival times (a ring
// buffer of WindowSize samples with running sums, so mean and variance are
// O(1)). The first heartbeat only sets the arrival time; the window is seeded
// with two samples, estimate - estimate/4 and estimate + estimate/4, so that
// mean = FirstHeartbeatEstimate and stddev = FirstHeartbeatEstimate/4 until
// real samples dilute them. A heartbeat that arrives while the peer is over
// the threshold updates the arrival time but adds no sample, so the long gap
// of an outage does not skew the history.
//
// With t the time since the last arrival, in milliseconds,
//
//	mean   = mean of the window + AcceptablePause
//	stddev = max(population stddev of the window, MinStdDev)
//	y      = (t - mean) / stddev
//	e      = exp(-y * (1.5976 + 0.070566*y*y))
//	phi    = -log10(e / (1 + e))       if t > mean
//	phi    = -log10(1 - 1/(1 + e))     otherwise
//
// which is phi = -log10(1 - CDF(t)) with the normal CDF replaced by a
// logistic approximation (error below 1.4e-4). For t > mean the first form is
// evaluated as y*(1.5976 + 0.070566*y*y)/ln(10) + log10(1 + e), which is the
// same number but stays finite when e underflows: phi grows without bound
// instead of jumping to +Inf.
//
// The zero value is not usable; call newPhiAccrualDetector. Not safe for
// concurrent use.
type phiAccrualDetector struct {
	cfg   phiConfig
	peers map[string]*phiPeer
	// yThreshold is the normalised silence y = (t - mean) / stddev at which
	// phi reaches the threshold: a silence of mean + yThreshold·stddev.
	yThreshold float64
}

// phiPeer is the arrival history of one peer.
type phiPeer struct {
	last      time.Time // last arrival (shifted by Forgive)
	window    phiWindow
	suspected bool // a detectorSuspect was reported and no Reachable since
	resumed   bool // a heartbeat arrived while suspected
}

// newPhiAccrualDetector returns a detector monitoring nobody. cfg should pass
// Validate. The detector does not panic on a config that does not, but its
// answers then follow the formula literally: a WindowSize below 1 keeps one
// sample, and a zero standard deviation (MinStdDev 0 and a constant history)
// makes phi jump from 0 to +Inf as soon as t exceeds the mean.
func newPhiAccrualDetector(cfg phiConfig) *phiAccrualDetector {
	return &phiAccrualDetector{cfg: cfg, peers: make(map[string]*phiPeer), yThreshold: yForPhi(cfg.Threshold)}
}

// yForPhi returns the normalised silence y at which phi reaches threshold:
// phi depends on the silence t only through y = (t - mean) / stddev and
// grows with it, so one bisection serves every peer and every history.
func yForPhi(threshold float64) float64 {
	lo, hi := -20.0, 20.0
	for phiOf(hi, 0, 1) < threshold && hi < 1e6 {
		lo, hi = hi, 2*hi
	}
	for range 100 {
		mid := (lo + hi) / 2
		if phiOf(mid, 0, 1) < threshold {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// NextLoss returns the earliest time at which a monitored peer that is not
// suspected will reach the threshold if no heartbeat arrives meanwhile (a
// little after, never before), or now for a suspected peer whose heartbeats
// resumed (Check reports it reachable); ok is false when no peer will reach
// the threshold. A Heartbeat, Rearm or Forgive may move it either way: ask
// again after each.
func (d *phiAccrualDetector) NextLoss(now time.Time) (at time.Time, ok bool) {
	for _, p := range d.peers {
		var t time.Time
		switch {
		case p.suspected && p.resumed:
			t = now
		case p.suspected:
			continue
		default:
			mean := p.window.mean() + durationMillis(d.cfg.AcceptablePause)
			std := max(p.window.stdDev(), durationMillis(d.cfg.MinStdDev))
			// Rounded up to the next millisecond, plus one: at the time
			// returned phi has reached the threshold despite rounding.
			ms := math.Ceil(mean+d.yThreshold*std) + 1
			t = p.last.Add(time.Duration(min(ms, float64(math.MaxInt64/2/time.Millisecond))) * time.Millisecond)
		}
		if !ok || t.Before(at) {
			at, ok = t, true
		}
	}
	return at, ok
}

// Heartbeat records an arrival from authority at now. The first arrival seeds
// the history; later ones add the interval since the previous arrival as a
// sample, unless the peer was at or over the threshold at now (the gap of an
// outage is not a sample) or now is before the previous arrival (possible
// after Forgive), in which case only the arrival time moves.
func (d *phiAccrualDetector) Heartbeat(authority string, now time.Time) {
	p, ok := d.peers[authority]
	if !ok {
		p = &phiPeer{last: now, window: newPhiWindow(d.cfg.WindowSize)}
		est := durationMillis(d.cfg.FirstHeartbeatEstimate)
		p.window.add(est - est/4)
		p.window.add(est + est/4)
		d.peers[authority] = p
		return
	}
	if p.suspected {
		p.resumed = true
	}
	if now.Before(p.last) {
		return
	}
	if d.phi(p, now) < d.cfg.Threshold {
		p.window.add(durationMillis(now.Sub(p.last)))
	}
	p.last = now
}

// Phi returns the suspicion level of authority at now: 0 for an authority
// that has never sent a heartbeat (or was removed), growing without bound as
// the silence since its last heartbeat gets less likely.
func (d *phiAccrualDetector) Phi(authority string, now time.Time) float64 {
	p, ok := d.peers[authority]
	if !ok {
		return 0
	}
	return d.phi(p, now)
}

// Check evaluates every monitored authority at now and returns, sorted by
// authority, a detectorSuspect event the first time its phi reaches the
// threshold after being below it (once per loss, however often Check is
// called), and a detectorReachable event when heartbeats resumed after a
// suspicion and phi is below the threshold again. It returns an empty,
// non-nil slice when nothing changed.
func (d *phiAccrualDetector) Check(now time.Time) []detectorEvent {
	out := []detectorEvent{}
	for a, p := range d.peers {
		phi := d.phi(p, now)
		switch {
		case !p.suspected && phi >= d.cfg.Threshold:
			p.suspected, p.resumed = true, false
			out = append(out, detectorEvent{Authority: a, Kind: detectorSuspect, Phi: phi})
		case p.suspected && p.resumed && phi < d.cfg.Threshold:
			p.suspected, p.resumed = false, false
			out = append(out, detectorEvent{Authority: a, Kind: detectorReachable, Phi: phi})
		}
	}
	slices.SortFunc(out, func(x, y detectorEvent) int { return cmp.Compare(x.Authority, y.Authority) })
	return out
}

// Forgive tells the detector that the local node itself stalled for dur (it
// could not receive or process heartbeats): every last-arrival time moves
// forward by dur and no sample is added, so the gap is not blamed on the
// peers. A dur of zero or less does nothing.
func (d *phiAccrualDetector) Forgive(dur time.Duration) {
	if dur <= 0 {
		return
	}
	for _, p := range d.peers {
		p.last = p.last.Add(dur)
	}
}

// Rearm restarts the watch of authority at now, as if a heartbeat arrived
// at now without adding a sample: a peer reported detectorSuspect counts as
// heard again (no detectorReachable follows), so a silence from now on is
// reported as a new detectorSuspect. The history of an authority not
// monitored is seeded as by Heartbeat.
func (d *phiAccrualDetector) Rearm(authority string, now time.Time) {
	p, ok := d.peers[authority]
	if !ok {
		d.Heartbeat(authority, now)
		return
	}
	if now.After(p.last) {
		p.last = now
	}
	p.suspected, p.resumed = false, false
}

// LastArrival returns the time of authority's last arrival (moved by
// Forgive and Rearm), or the zero time for an authority not monitored.
func (d *phiAccrualDetector) LastArrival(authority string) time.Time {
	if p, ok := d.peers[authority]; ok {
		return p.last
	}
	return time.Time{}
}

// Remove stops monitoring authority and forgets its history.
func (d *phiAccrualDetector) Remove(authority string) { delete(d.peers, authority) }

// Len returns how many authorities are monitored.
func (d *phiAccrualDetector) Len() int { return len(d.peers) }

// Suspected reports whether a detectorSuspect was reported for authority
// and no detectorReachable since.
func (d *phiAccrualDetector) Suspected(authority string) bool {
	p, ok := d.peers[authority]
	return ok && p.suspected
}

// phi computes p's phi at now by the formula in the type's doc.
func (d *phiAccrualDetector) phi(p *phiPeer, now time.Time) float64 {
	mean := p.window.mean() + durationMillis(d.cfg.AcceptablePause)
	std := max(p.window.stdDev(), durationMillis(d.cfg.MinStdDev))
	return phiOf(durationMillis(now.Sub(p.last)), mean, std)
}

// phiOf is Akka's phi(timeDiff, mean, stdDeviation), all in milliseconds.
func phiOf(t, mean, std float64) float64 {
	if !(std > 0) {
		std = 1e-9 // only with MinStdDev <= 0: keep y finite-or-infinite, never NaN
	}
	y := (t - mean) / std
	k := y * (1.5976 + 0.070566*y*y)
	e := math.Exp(-k)
	if t > mean {
		// -log10(e/(1+e)) = k/ln(10) + log10(1+e), finite for any y.
		return k/math.Ln10 + math.Log1p(e)/math.Ln10
	}
	return 0 - math.Log10(1-1/(1+e)) // 0 - x turns -0 into +0
}

// durationMillis converts d to fractional milliseconds.
func durationMillis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// phiWindow is a ring buffer of samples with running sums. The sums are
// recomputed from the buffer after every cap(buf) evictions, so floating-point
// drift stays bounded while add stays amortised O(1).
type phiWindow struct {
	buf        []float64
	head, n    int // index of the oldest sample, number of samples
	sum, sumSq float64
	evictions  int
}

// newPhiWindow returns an empty window of size samples (at least 1).
func newPhiWindow(size int) phiWindow {
	return phiWindow{buf: make([]float64, max(size, 1))}
}

// add appends a sample, dropping the oldest when the window is full.
func (w *phiWindow) add(x float64) {
	if w.n == len(w.buf) {
		old := w.buf[w.head]
		w.sum -= old
		w.sumSq -= old * old
		w.buf[w.head] = x
		w.head = (w.head + 1) % len(w.buf)
		w.evictions++
		if w.evictions >= len(w.buf) {
			w.evictions = 0
			w.sum, w.sumSq = 0, 0
			for _, v := range w.buf {
				w.sum += v
				w.sumSq += v * v
			}
			return
		}
	} else {
		w.buf[(w.head+w.n)%len(w.buf)] = x
		w.n++
	}
	w.sum += x
	w.sumSq += x * x
}

// mean returns the mean of the samples (0 when empty).
func (w *phiWindow) mean() float64 {
	if w.n == 0 {
		return 0
	}
	return w.sum / float64(w.n)
}

// stdDev returns the population standard deviation of the samples, as Akka's
// HeartbeatHistory: sqrt(sumSq/n - mean²), never NaN.
func (w *phiWindow) stdDev() float64 {
	if w.n == 0 {
		return 0
	}
	m := w.mean()
	v := w.sumSq/float64(w.n) - m*m
	if v <= 0 {
		return 0
	}
	return math.Sqrt(v)
}
