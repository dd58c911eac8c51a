package core

import (
	"testing"
	"time"
)

func TestSuspicionTimeoutLifeguard(t *testing.T) {
	lo, hi := 2*time.Second, 6*time.Second
	for _, tc := range []struct {
		c, k int
		want time.Duration
	}{
		{0, 2, 6 * time.Second},
		{1, 2, hi - time.Duration(float64(hi-lo)*0.6309297535714574)}, // log 2 / log 3
		{2, 2, 2 * time.Second},
		{5, 2, 2 * time.Second}, // never below the minimum
		{1, 3, 4 * time.Second}, // log 2 / log 4 = 1/2
	} {
		if got := suspicionTimeout(lo, hi, tc.c, tc.k); got != tc.want {
			t.Errorf("timeout(C=%d, K=%d) = %v, want %v", tc.c, tc.k, got, tc.want)
		}
	}
	s := suspicion{start: epoch}
	if !s.confirm("b", 2) || !s.confirm("a", 2) || s.confirm("a", 2) {
		t.Fatal("confirm must count each distinct confirmer once")
	}
	if s.confirm("c", 2) || len(s.confirmers) != 2 {
		t.Fatalf("a third confirmer beyond a limit of 2 was kept: %v", s.confirmers)
	}
	if got := s.deadline(lo, hi, 2, 3); !got.Equal(epoch.Add(3 * lo)) {
		t.Errorf("deadline with 2 confirmations and multiplier 3 = %v, want start + 6 s", got.Sub(epoch))
	}
}

func TestAwarenessStallAndDecay(t *testing.T) {
	cfg := DefaultLANConfig() // smallest interval 200 ms: a gap over 600 ms is a stall
	a := newAwareness(cfg)
	now := epoch
	if a.observe(now, false) != 0 || a.multiplier() != 1 {
		t.Fatal("first call must not be a stall")
	}
	now = now.Add(100 * time.Millisecond)
	if a.observe(now, false) != 0 {
		t.Fatal("an on-time call counted as a stall")
	}
	now = now.Add(3 * time.Second)
	forgive := a.observe(now, false)
	if forgive != 3*time.Second-200*time.Millisecond {
		t.Fatalf("forgiven %v, want the gap beyond one normal interval (2.8s)", forgive)
	}
	if a.Score() != 5 || a.multiplier() != 6 {
		t.Fatalf("score %d after a 3 s stall, want 5 (3s / 600ms)", a.Score())
	}
	for i := 0; i < 100; i++ { // 10 s of on-time calls
		now = now.Add(100 * time.Millisecond)
		a.observe(now, false)
	}
	if a.Score() != 0 {
		t.Fatalf("score %d after 10 s on time, want 0", a.Score())
	}
	for i := 0; i < 10; i++ {
		now = now.Add(10 * time.Second)
		a.observe(now, false)
	}
	if a.Score() != cfg.MaxLocalHealth {
		t.Fatalf("score %d, want capped at MaxLocalHealth %d", a.Score(), cfg.MaxLocalHealth)
	}
}

// A node that expects heartbeats and hears nothing raises its score one
// step per silenceFactor heartbeat intervals, does not recover while it
// hears nothing, and recovers one step per interval once it hears again;
// a node that expects nothing is not penalised for hearing nothing.
func TestAwarenessSilence(t *testing.T) {
	cfg := DefaultLANConfig()
	a := newAwareness(cfg)
	now := epoch
	a.observe(now, true)
	silence := silenceFactor * cfg.HeartbeatInterval
	for range 40 { // 4 s of on-time calls, nothing heard
		now = now.Add(100 * time.Millisecond)
		a.observe(now, true)
	}
	if want := int(4 * time.Second / silence); a.Score() != want {
		t.Fatalf("score %d after 4 s of silence, want %d (one per %v)", a.Score(), want, silence)
	}
	peak := a.Score()
	for range 40 { // 4 s more, hearing something every 100 ms
		now = now.Add(100 * time.Millisecond)
		a.heard(now)
		a.observe(now, true)
	}
	if a.Score() != max(0, peak-int(4*time.Second/cfg.HeartbeatInterval)) {
		t.Fatalf("score %d after 4 s of hearing, from %d: want one step down per %v", a.Score(), peak, cfg.HeartbeatInterval)
	}
	b := newAwareness(cfg)
	b.observe(epoch, false)
	for i := range 100 {
		b.observe(epoch.Add(time.Duration(i+1)*100*time.Millisecond), false)
	}
	if b.Score() != 0 {
		t.Fatalf("a node that expects nothing scored %d for hearing nothing", b.Score())
	}
}
