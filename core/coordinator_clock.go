package core

import "time"

// protocolClock turns the times callers pass in into the coordinator's own
// protocol time, which never goes backwards. Every entry point takes now
// from its caller and documents that now must not decrease; a driver whose
// clock steps backwards anyway (a wall clock set back by an operator or by
// NTP, with no monotonic reading) would otherwise leave every timer in the
// future of the stepped clock, and Poll would do nothing until the clock
// caught up again. Instead, a step backwards is absorbed: protocol time
// stands still across the step and then moves on with the caller's clock,
// which amounts to moving every timer, deadline and time stamp the
// coordinator holds back by the step. Times the coordinator hands out (its
// NextDeadline, events' At and Until, a topology update's ObservedAt) are
// converted back to the caller's clock. A step forwards is a gap between
// calls like any other: a local stall (see "Local health" in the package
// documentation).
type protocolClock struct {
	last    time.Time     // the latest time a caller passed in
	skew    time.Duration // protocol time minus caller time: the sum of the steps back
	started bool
}

// protocol returns the protocol time of the caller's now, absorbing a step
// backwards since the previous call.
func (k *protocolClock) protocol(now time.Time) time.Time {
	if k.started && now.Before(k.last) {
		k.skew += k.last.Sub(now)
	}
	k.last, k.started = now, true
	return now.Add(k.skew)
}

// caller returns protocol time t in the caller's clock.
func (k *protocolClock) caller(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Add(-k.skew)
}

// toCallerClock converts the times of an outcome to the caller's clock.
func (k *protocolClock) toCallerClock(o *Outcome) {
	if k.skew == 0 {
		return
	}
	for i := range o.Members {
		o.Members[i].At = k.caller(o.Members[i].At)
	}
	for i := range o.Quarantine {
		o.Quarantine[i].Until = k.caller(o.Quarantine[i].Until)
	}
	if o.Topology != nil {
		o.Topology.ObservedAt = k.caller(o.Topology.ObservedAt)
	}
}
