package core

import "fmt"

// The life cycle of one instance, as enforced by membershipTable.Transition
// (explicit local decisions). Merge does not consult this table: gossip may
// skip steps, and Merge only applies NodeRecord.Supersedes.
//
// Each cell says when from → to is allowed, given the requested incarnation
// inc and the record's current incarnation cur. inc < cur is always refused.
//
//	from \ to  Joining  Up       Suspect  Leaving  Removed  Dead
//	Joining    same     ok       ok       ok       ok       ok
//	Up         -        same     ok       ok       -        ok
//	Suspect    -        raise    same     ok       -        ok
//	Leaving    -        -        -        same     ok       ok
//	Removed    raise    raise    -        -        same     -
//	Dead       raise    raise    -        -        -        same
//
//	ok     allowed at inc >= cur
//	raise  allowed only at inc > cur: the node itself refutes a suspicion
//	       (Suspect → Up) or comes back after being declared Dead or Removed
//	       (Dead/Removed → Joining/Up, a rejoin of the same node ID)
//	same   the status does not change: a no-op at inc == cur (no version, no
//	       event), an incarnation bump at inc > cur
//	-      invalidTransitionError
//
// Every allowed change produces a record that Supersedes the old one, so a
// local transition always wins the merge at every other member: at equal
// incarnation the allowed moves only raise precedence, and every move that
// lowers it (Suspect → Up, tombstone → Joining/Up) needs a higher incarnation.
// Up → Removed and Suspect → Removed are refused because a graceful leave goes
// through Leaving; Leaving → Suspect is refused because a leaving node that
// stops answering is Dead or Removed, not suspected (and Suspect would lose the
// merge against Leaving anyway). Dead and Removed are terminal for their
// incarnation.
const (
	transNever transitionRule = iota
	transOK
	transRaise
	transSame
)

// transitionRule says when one status change is allowed; see the table above.
type transitionRule uint8

// transitions is indexed [from][to] by NodeStatus value; index 0 (no status)
// is all transNever.
var transitions = [StatusDead + 1][StatusDead + 1]transitionRule{
	StatusJoining: {StatusJoining: transSame, StatusUp: transOK, StatusSuspect: transOK, StatusLeaving: transOK, StatusRemoved: transOK, StatusDead: transOK},
	StatusUp:      {StatusUp: transSame, StatusSuspect: transOK, StatusLeaving: transOK, StatusDead: transOK},
	StatusSuspect: {StatusUp: transRaise, StatusSuspect: transSame, StatusLeaving: transOK, StatusDead: transOK},
	StatusLeaving: {StatusLeaving: transSame, StatusRemoved: transOK, StatusDead: transOK},
	StatusRemoved: {StatusJoining: transRaise, StatusUp: transRaise, StatusRemoved: transSame},
	StatusDead:    {StatusJoining: transRaise, StatusUp: transRaise, StatusDead: transSame},
}

// checkTransition returns nil when the record of authority at status from and
// incarnation cur may move to status to at incarnation inc, and an error
// matching *invalidTransitionError (and errInvalidTransition) otherwise.
func checkTransition(authority string, from NodeStatus, cur uint64, to NodeStatus, inc uint64) error {
	bad := &invalidTransitionError{Authority: authority, From: from, To: to}
	if !from.Valid() || !to.Valid() {
		return bad
	}
	if inc < cur {
		return fmt.Errorf("%w: incarnation %d is below the current %d", bad, inc, cur)
	}
	switch transitions[from][to] {
	case transOK, transSame:
		return nil
	case transRaise:
		if inc > cur {
			return nil
		}
		return fmt.Errorf("%w: needs an incarnation above %d", bad, cur)
	}
	return bad
}
