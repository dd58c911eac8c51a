package core_test

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

// seedsCluster returns a cluster of n idle slots on a 10 ms poll and a 5 ms
// delay.
func seedsCluster(t *testing.T, n int) *sim.Cluster {
	t.Helper()
	c, err := sim.New(sim.Options{Nodes: n, Seed: 21, Tick: 10 * time.Millisecond, Delay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func status(t *testing.T, c *sim.Cluster, i int) core.NodeStatus {
	t.Helper()
	return c.Coordinator(i).LocalNode().Status
}

// A member told to join with no seed address yet (the seeds' names do not
// resolve) stays Joining, sends nothing and counts no attempt, instead of
// turning Up alone; its first address sends the join requests at once.
func TestSetSeedsWaitsForAnAddress(t *testing.T) {
	c := seedsCluster(t, 2)
	if err := c.Start(0); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(1); err != nil {
		t.Fatal(err)
	}
	if err := c.SetSeeds(1, nil); err != nil {
		t.Fatal(err)
	}
	retry := c.Config().JoinRetryInterval
	c.Run(10 * retry)
	if got := status(t, c, 1); got != core.StatusJoining {
		t.Fatalf("after %v with no seed, the member is %s, want joining", 10*retry, got)
	}
	if st := c.Coordinator(1).Stats(); st.JoinAttempts != 0 || st.JoinRequestsSent != 0 {
		t.Fatalf("with no seed: %d attempts, %d requests, want none", st.JoinAttempts, st.JoinRequestsSent)
	}
	if _, ok := c.Record(0, c.Authority(1)); ok {
		t.Fatal("member 0 knows of member 1, which had nobody to contact")
	}

	if err := c.SetSeeds(1, []string{c.Authority(0)}); err != nil {
		t.Fatal(err)
	}
	if got := c.Coordinator(1).Stats().JoinAttempts; got != 1 {
		t.Fatalf("the first address sent %d rounds of requests at once, want 1", got)
	}
	if took, ok := c.RunUntil(func() bool { return status(t, c, 1) == core.StatusUp }, retry); !ok {
		t.Fatalf("not Up within %v of getting a seed", retry)
	} else {
		t.Logf("Up %v after the seed's address came", took)
	}
	if _, ok := c.RunUntil(c.Converged, 10*time.Second); !ok {
		t.Fatal("the two members did not converge")
	}
}

// A list of only this node's own address makes it the first member of its
// cluster: Up alone, as HandleJoin does.
func TestSetSeedsOfOnlyItselfIsUpAlone(t *testing.T) {
	c := seedsCluster(t, 1)
	if err := c.Start(0); err != nil {
		t.Fatal(err)
	}
	if err := c.SetSeeds(0, nil); err != nil {
		t.Fatal(err)
	}
	c.Run(3 * c.Config().JoinRetryInterval)
	if got := status(t, c, 0); got != core.StatusJoining {
		t.Fatalf("waiting for seeds: %s, want joining", got)
	}
	if err := c.SetSeeds(0, []string{c.Authority(0)}); err != nil {
		t.Fatal(err)
	}
	if got := status(t, c, 0); got != core.StatusUp {
		t.Fatalf("seeds of only itself: %s, want up at once", got)
	}
}

// Retries go to the latest list: a member whose seed address never answers
// joins through the address that replaces it, at the next retry, and every
// retry is one attempt.
func TestSetSeedsRetriesGoToTheLatestAddresses(t *testing.T) {
	c := seedsCluster(t, 3) // slot 2 stays idle: its address never answers
	if err := c.Start(0); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(1); err != nil {
		t.Fatal(err)
	}
	if err := c.SetSeeds(1, []string{c.Authority(2)}); err != nil {
		t.Fatal(err)
	}
	retry := c.Config().JoinRetryInterval
	c.Run(3*retry + retry/2)
	if got := status(t, c, 1); got != core.StatusJoining {
		t.Fatalf("with a silent seed: %s, want joining", got)
	}
	if got := c.Coordinator(1).Stats().JoinAttempts; got != 4 {
		t.Fatalf("after 3.5 retry intervals: %d attempts, want 4 (the first and 3 retries)", got)
	}
	if err := c.SetSeeds(1, []string{c.Authority(0)}); err != nil {
		t.Fatal(err)
	}
	if got := c.Coordinator(1).Stats().JoinAttempts; got != 4 {
		t.Fatalf("replacing the addresses of a join under way sent a round at once (%d attempts); want the next retry", got)
	}
	if _, ok := c.RunUntil(func() bool { return status(t, c, 1) == core.StatusUp }, retry+retry/2); !ok {
		t.Fatal("not Up by the retry after the new address")
	}
}

// Once joined, SetSeeds moves the reconnect probes: a member that lost
// every peer probes the new seed address and meets the member there.
func TestSetSeedsMovesTheReconnectProbes(t *testing.T) {
	c := seedsCluster(t, 3)
	for _, err := range []error{c.Start(0), c.Join(1, 0), c.Start(2)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := c.RunUntil(func() bool { return status(t, c, 1) == core.StatusUp }, 5*time.Second); !ok {
		t.Fatal("member 1 did not join member 0")
	}
	before := c.Coordinator(1).Stats().JoinAttempts
	if err := c.SetSeeds(1, []string{c.Authority(2)}); err != nil {
		t.Fatal(err)
	}
	if got := c.Coordinator(1).Stats().JoinAttempts; got != before {
		t.Fatalf("SetSeeds on a joined member sent join requests (%d attempts, was %d)", got, before)
	}
	c.Crash(0)
	met := func() bool {
		r, ok := c.Record(2, c.Authority(1))
		return ok && r.Status == core.StatusUp
	}
	if _, ok := c.RunUntil(met, 2*time.Minute); !ok {
		t.Fatal("member 1, alone, never reached member 2 through its new seed address")
	}
	if got := c.Coordinator(1).Stats().JoinAttempts; got <= before {
		t.Fatalf("the probes of the seeds counted no attempt (%d, was %d)", got, before)
	}
}

// SetSeeds on a stopped coordinator is refused.
func TestSetSeedsStopped(t *testing.T) {
	cfg := core.DefaultLocalConfig()
	cfg.NodeID, cfg.Authority, cfg.Rand = "a", "10.0.0.1:7946", rand.New(rand.NewPCG(1, 2))
	coord, err := core.NewMembershipCoordinator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := coord.SetSeeds(time.Unix(0, 0), []string{"10.0.0.2:7946"}); !errors.Is(err, core.ErrNotStarted) {
		t.Fatalf("SetSeeds on a stopped coordinator: %v, want ErrNotStarted", err)
	}
}
