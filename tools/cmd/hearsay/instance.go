package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// Each start of the agent is a new instance of its node, so that nothing
// an earlier life sent (a leave captured and replayed once its tombstone is
// pruned, a late datagram) can be taken for the running one:
//
//   - a fresh node ID: 16 lower-case hex digits from 8 random bytes
//     (crypto/rand); --name, which people choose and reuse, travels in the
//     metadata instead (nodemeta.go);
//   - a first incarnation above the earlier lives': the seconds elapsed
//     since 2020-01-01 UTC (core.Config.InitialIncarnation). An earlier
//     life started at T0 with incarnation T0 and raised it by one per
//     refutation and by one for its leave; the new life, started at T1,
//     outranks it as long as it raised it fewer times than T1 - T0, the
//     seconds between the two starts. A clock set back by more than that
//     loses this guarantee (the new life then takes its address back by
//     refuting, as a restart under the same node ID would).

// instanceIDBytes is how many random bytes make a node ID.
const instanceIDBytes = 8

// newInstanceID returns a fresh node ID.
func newInstanceID() (string, error) {
	var b [instanceIDBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("node ID: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// incarnationEpoch is when the clock of first incarnations starts.
var incarnationEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// initialIncarnation is the first incarnation of an instance started at
// now: the whole seconds since incarnationEpoch, at least 1.
func initialIncarnation(now time.Time) uint64 {
	return uint64(max(1, now.Sub(incarnationEpoch)/time.Second))
}
