package core

import "fmt"

// admission asks Config.Admit about r when r would make an instance active
// at its authority that is not active there now, and the table would take
// it (see Config.Admit). It returns Admit's refusal, counted, or nil.
func (c *MembershipCoordinator) admission(r NodeRecord) error {
	if c.cfg.Admit == nil || r.Authority == c.cfg.Authority || !r.Status.IsActive() {
		return nil
	}
	held, ok := c.table.Get(r.Authority)
	switch {
	case ok && held.NodeID == r.NodeID && held.Status.IsActive():
		return nil // already a member: its changes are taken as they come
	case ok && !r.Supersedes(held):
		return nil // the table would not take it anyway
	}
	if err := c.cfg.Admit(r.Clone()); err != nil {
		c.stats.AdmissionsRefused++
		return fmt.Errorf("hearsay: %s (node %s) refused by Config.Admit: %w", r.Authority, r.NodeID, err)
	}
	return nil
}
