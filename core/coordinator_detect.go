package core

import (
	"slices"
	"time"
)

// newDetector builds the phi-accrual detector from the config.
func newDetector(cfg Config) *PhiAccrualDetector {
	return NewPhiAccrualDetector(PhiConfigFrom(cfg))
}

// checkDetector consults the failure detector. A lost member is suspected
// unless local health is poor, in which case its phi must also reach the
// threshold times the local-health multiplier (re-checked on every later
// check until it does or the member comes back).
func (c *MembershipCoordinator) checkDetector(now time.Time) {
	mult := float64(c.health.multiplier())
	c.checkSilent(now)
	for _, ev := range c.detector.Check(now) {
		a := ev.Authority
		switch ev.Kind {
		case DetectorSuspect:
			if !c.isWatched(a) {
				c.forget(a)
				continue
			}
			c.unreachable[a] = true
			if ev.Phi < c.cfg.PhiThreshold*mult {
				c.deferred[a] = true
				continue
			}
			c.suspect(now, a)
		case DetectorReachable:
			delete(c.unreachable, a)
			delete(c.deferred, a)
		}
	}
	if len(c.deferred) == 0 {
		return
	}
	for _, a := range sortedKeys(c.deferred) {
		if c.detector.Phi(a, now) >= c.cfg.PhiThreshold*mult {
			delete(c.deferred, a)
			c.suspect(now, a)
		}
	}
}

// checkSilent repairs views around a newly watched member that has not sent
// a heartbeat within two heartbeat intervals: it likely does not know this
// node (or this node misses members it knows), so the two run an
// anti-entropy exchange, once, before the detector would suspect it.
func (c *MembershipCoordinator) checkSilent(now time.Time) {
	if len(c.silent) == 0 {
		return
	}
	if _, _, busy := c.engine.Exchange(); busy {
		return
	}
	for _, a := range sortedKeys(c.silent) {
		if now.Sub(c.silent[a]) >= 2*c.cfg.HeartbeatInterval {
			delete(c.silent, a)
			c.exchangeWith(now, a)
			return
		}
	}
}

// suspect marks a watched member Suspect at its current incarnation (or
// joins an existing suspicion as a local one) and tells the suspect.
func (c *MembershipCoordinator) suspect(now time.Time, a string) {
	r, ok := c.table.Get(a)
	if !ok || !(r.Status == StatusJoining || r.Status == StatusUp || r.Status == StatusSuspect) {
		c.forget(a)
		return
	}
	if r.Status != StatusSuspect {
		next, err := c.table.Transition(now, a, StatusSuspect, r.Incarnation)
		if err != nil {
			return
		}
		r = next
		c.stats.SuspicionsRaised++
		c.drain(now)
	}
	if s, ok := c.susp[a]; ok {
		s.local = true
	}
	c.notify(now, a, r)
	c.updateSuspicionDeadline()
}

// expireSuspicions acts on the local suspicions whose timeout passed: a
// suspect the detector still does not hear is declared Dead; one it hears
// again (but that never refuted) is told once more and given another
// timeout.
func (c *MembershipCoordinator) expireSuspicions(now time.Time) {
	mult := c.health.multiplier()
	for _, a := range sortedKeys(c.susp) {
		s, ok := c.susp[a]
		if !ok || !s.local {
			continue
		}
		if now.Before(s.deadline(c.cfg.SuspicionMinTimeout, c.cfg.SuspicionMaxTimeout, c.cfg.SuspicionConfirmations, mult)) {
			continue
		}
		if !c.unreachable[a] {
			s.start = now
			if r, ok := c.table.Get(a); ok {
				c.notify(now, a, r)
			}
			continue
		}
		if _, err := c.table.Transition(now, a, StatusDead, s.incarnation); err == nil {
			c.stats.DeadDeclared++
		}
		c.drain(now)
	}
	c.updateSuspicionDeadline()
}

// updateSuspicionDeadline recomputes the earliest local suspicion deadline.
func (c *MembershipCoordinator) updateSuspicionDeadline() {
	var next time.Time
	mult := c.health.multiplier()
	for _, s := range c.susp {
		if !s.local {
			continue
		}
		d := s.deadline(c.cfg.SuspicionMinTimeout, c.cfg.SuspicionMaxTimeout, c.cfg.SuspicionConfirmations, mult)
		if next.IsZero() || d.Before(next) {
			next = d
		}
	}
	c.suspNext = next
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
