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
