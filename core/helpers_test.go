package core

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Helpers of the unit tests in package core. Tests with several
// coordinators run on core/sim, the simulated network (in package core_test:
// see coordinator_sim_test.go, with export_test.go for the internals).

// epoch is the unit tests' start time.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// testConfig returns the LAN preset for node id at authority auth, its
// randomness drawn from seed.
func testConfig(id, auth string, seed uint64) Config {
	cfg := DefaultLANConfig()
	cfg.NodeID, cfg.Authority = id, auth
	cfg.Rand = rand.New(rand.NewPCG(seed, 7))
	return cfg
}

// auth and nodeID name the i-th test member.
func auth(i int) string   { return fmt.Sprintf("10.0.0.%d:7946", i) }
func nodeID(i int) string { return fmt.Sprintf("node-%03d", i) }
