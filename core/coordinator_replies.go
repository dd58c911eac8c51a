package core

import "time"

// sweepLimits forgets, in every per-target limit, the targets that no longer
// limit anything, so that what a flood of senders left behind is let go
// within a housekeeping interval.
func (c *MembershipCoordinator) sweepLimits(now time.Time) {
	c.detect.notices.sweep(now)
}
