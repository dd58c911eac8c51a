package core

import (
	"errors"
	"testing"
	"time"
)

func TestStateErrors(t *testing.T) {
	c, err := NewMembershipCoordinator(testConfig("a", "a:1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.HandleJoin(epoch, []string{"b:1"}); !errors.Is(err, ErrNotStarted) {
		t.Errorf("HandleJoin stopped: %v", err)
	}
	if _, err := c.HandleGossip(epoch, GossipInbound{}); !errors.Is(err, ErrNotStarted) {
		t.Errorf("HandleGossip stopped: %v", err)
	}
	if _, err := c.StartMember(epoch); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartMember(epoch); !errors.Is(err, ErrInvalidState) {
		t.Errorf("StartMember twice: %v", err)
	}
	if _, err := c.StartClient(epoch); !errors.Is(err, ErrInvalidState) {
		t.Errorf("StartClient when member: %v", err)
	}
}

// Periodic anti-entropy is jittered per exchange, within ±25% of the
// interval, so that members whose timers were aligned (they joined together)
// do not all send their digests in the same second, period after period.
func TestAntiEntropyIntervalIsJittered(t *testing.T) {
	c, err := NewMembershipCoordinator(testConfig(nodeID(0), auth(0), 13))
	if err != nil {
		t.Fatal(err)
	}
	d := c.cfg.AntiEntropyInterval
	lo, hi := d*3/4, d*5/4
	var sum, smallest, largest time.Duration
	smallest = hi
	const draws = 2000
	for range draws {
		got := c.nextAntiEntropy(epoch).Sub(epoch)
		if got < lo || got > hi {
			t.Fatalf("next exchange after %v, want within [%v, %v]", got, lo, hi)
		}
		sum += got
		smallest, largest = min(smallest, got), max(largest, got)
	}
	if mean := sum / draws; mean < d*95/100 || mean > d*105/100 {
		t.Errorf("mean interval %v, want %v ± 5%%", mean, d)
	}
	if largest-smallest < d/4 {
		t.Errorf("intervals span only [%v, %v]: not jittered", smallest, largest)
	}
}
