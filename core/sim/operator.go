package sim

import (
	"fmt"

	"github.com/hearsay-go/hearsay/core"
)

// Quarantine has slot i's coordinator declare the instance (authority,
// incarnation) Dead on an operator's word (HandleQuarantine) at the current
// virtual time, and sends what it returns.
func (c *Cluster) Quarantine(i int, authority string, incarnation uint64) error {
	n := c.nodes[i]
	if n.state != stateRunning {
		return fmt.Errorf("sim: quarantine at slot %d, which is not running", i)
	}
	out, err := n.coord.HandleQuarantine(c.nodeNow(n), authority, incarnation)
	c.process(n, out)
	if err != nil {
		return c.fail(fmt.Errorf("sim: slot %d: quarantine: %w", i, err))
	}
	return nil
}

// SetSeeds replaces slot i's seed addresses (SetSeeds) at the current
// virtual time, as a driver that resolves seed names again before each
// attempt does, and sends what it returns. Called right after Start, before
// the node's first poll, it keeps the node Joining until it is given a seed
// that answers.
func (c *Cluster) SetSeeds(i int, seeds []string) error {
	n := c.nodes[i]
	if n.state != stateRunning {
		return fmt.Errorf("sim: set seeds at slot %d, which is not running", i)
	}
	out, err := n.coord.SetSeeds(c.nodeNow(n), seeds)
	c.process(n, out)
	if err != nil {
		return c.fail(fmt.Errorf("sim: slot %d: set seeds: %w", i, err))
	}
	return nil
}

// Inject has slot i handle in now, as if it had just arrived from
// in.Source, which need not be any slot's authority (a stranger, a spoofed
// address, a replayed message): its outcome goes through the cluster like
// any other (OnOutcome and OnEvent see it, its messages are sent, those to
// no slot counted as unroutable). It did not cross the simulated network:
// it is in no traffic counter. It returns the handler's error, which is
// counted as the errors of messages are.
func (c *Cluster) Inject(i int, in core.GossipInbound) error {
	n := c.nodes[i]
	if n.state != stateRunning {
		return fmt.Errorf("sim: inject at slot %d, which is not running", i)
	}
	out, err := n.coord.HandleGossip(c.nodeNow(n), in)
	c.process(n, out)
	c.afterStep(n)
	if err != nil {
		n.stats.Errors++
		c.stats.Errors++
		c.stats.LastError = err
		return fmt.Errorf("sim: slot %d: %w", i, err)
	}
	return nil
}
