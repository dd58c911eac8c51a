package sim

import (
	"testing"
	"time"
)

// BenchmarkThousandNodesMinute measures one virtual minute of a converged,
// settled 1,000-node cluster (the bootstrap is outside the timing):
//
//	go test ./core/sim -run '^$' -bench ThousandNodesMinute -benchtime 3x
func BenchmarkThousandNodesMinute(b *testing.B) {
	c, err := New(Options{Nodes: 1000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	if _, ok, err := c.Bootstrap(0, time.Second, 2*time.Minute); err != nil || !ok {
		b.Fatalf("bootstrap: converged %v, %v", ok, err)
	}
	c.Run(20 * time.Second)
	sent := c.Stats().Sent
	minutes := 0
	for b.Loop() {
		c.Run(time.Minute)
		minutes++
	}
	b.ReportMetric(float64(c.Stats().Sent-sent)/float64(minutes), "msgs/virtual-min")
}

// BenchmarkBootstrapThousand measures a 1,000-node bootstrap: every node
// joins one seed within a second and runs until every view agrees. Each of
// the N tables learns N records, so the bytes allocated per bootstrap are
// what decides how far the simulator scales in one process:
//
//	go test ./core/sim -run '^$' -bench BootstrapThousand -benchtime 1x -benchmem
func BenchmarkBootstrapThousand(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		c, err := New(Options{Nodes: 1000, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		if _, ok, err := c.Bootstrap(0, time.Second, 2*time.Minute); err != nil || !ok {
			b.Fatalf("bootstrap: converged %v, %v", ok, err)
		}
	}
}
