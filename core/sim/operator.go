package sim

import "fmt"

// Quarantine has slot i's coordinator declare the instance (authority,
// incarnation) Dead on an operator's word (HandleQuarantine) at the current
// virtual time, and sends what it returns.
func (c *Cluster) Quarantine(i int, authority string, incarnation uint64) error {
	n := c.nodes[i]
	if n.state != stateRunning {
		return fmt.Errorf("sim: quarantine at slot %d, which is not running", i)
	}
	out, err := n.coord.HandleQuarantine(c.Now(), authority, incarnation)
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
	out, err := n.coord.SetSeeds(c.Now(), seeds)
	c.process(n, out)
	if err != nil {
		return c.fail(fmt.Errorf("sim: slot %d: set seeds: %w", i, err))
	}
	return nil
}
