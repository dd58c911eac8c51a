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
