package core

import (
	"slices"
	"time"
)

// Test-only access to the coordinator's internals, for the tests of package
// core_test that run coordinators on core/sim.

// LastCall returns when the coordinator was last called (Start*, Handle*,
// Poll).
func (c *MembershipCoordinator) LastCall() time.Time { return c.detect.health.last }

// DigestBuckets returns the bucket count of the coordinator's digest, its
// incrementally kept bucket sums, and the largest count it may use.
func (c *MembershipCoordinator) DigestBuckets() (n int, sums []uint64, limit int) {
	return c.ae.nbuckets, c.ae.buckets, c.ae.maxBuckets
}

// CookiePeriod returns how long each of the coordinator's cookie epochs
// lasts (a cookie is accepted in its epoch and the next).
func (c *MembershipCoordinator) CookiePeriod() time.Duration { return c.reply.period }

// ReplyStateEntries returns the entries of the per-source state the
// coordinator keeps to limit its replies (limits, the log of requests
// answered, the cookies held).
func (c *MembershipCoordinator) ReplyStateEntries() int { return c.reply.entries() }

// CookieBytes is the length of a cookie; MaxNoticeTargets and
// MaxReplyTargets bound the addresses the notice and reply limits track.
const (
	CookieBytes      = cookieBytes
	MaxNoticeTargets = maxNoticeTargets
	MaxReplyTargets  = maxReplyTargets
)

// SuspicionOf returns the coordinator's suspicion of authority, if it holds
// one: whether its own detector raised it, its other suspectors, and its
// timeout (its deadline, before any local-health stretch, minus its start).
func (c *MembershipCoordinator) SuspicionOf(authority string) (local bool, confirmers []string, timeout time.Duration, ok bool) {
	s, ok := c.detect.susp[authority]
	if !ok {
		return false, nil, 0, false
	}
	return s.local, slices.Clone(s.confirmers), c.suspicionDeadline(s, 1).Sub(s.start), true
}

// SuspicionTimeout is suspicionTimeout.
var SuspicionTimeout = suspicionTimeout

// BucketsFor, DigestOf and TopologyHash are bucketsFor, digestOf and
// topologyHash.
var (
	BucketsFor   = bucketsFor
	DigestOf     = digestOf
	TopologyHash = topologyHash
)

// IsWatched reports whether the coordinator's detector follows authority.
func (c *MembershipCoordinator) IsWatched(authority string) bool { return c.isWatched(authority) }

// SuspectsLocally reports whether the coordinator holds a suspicion of
// authority raised by its own detector.
func (c *MembershipCoordinator) SuspectsLocally(authority string) bool {
	s, ok := c.detect.susp[authority]
	return ok && s.local
}

// RingHash is ringHash: where a node ID sits on the ring.
var RingHash = ringHash
