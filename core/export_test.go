package core

import "time"

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

// BucketsFor, DigestOf and TopologyHash are bucketsFor, digestOf and
// topologyHash.
var (
	BucketsFor   = bucketsFor
	DigestOf     = digestOf
	TopologyHash = topologyHash
)
