package core

import (
	"math"
	"slices"
	"time"
)

// suspicion is what this node knows about one member held Suspect at one
// incarnation (Lifeguard's "dogpile" suspicion).
//
// Every member holding the Suspect record keeps one, but only a member whose
// own failure detector lost the suspect (local) may declare it Dead: everyone
// else waits for that verdict or for the refutation. Each other member named
// as a suspector of the record at this incarnation (a member whose own
// detector lost the suspect, see Accusation) counts as one confirmation,
// however many times and by whom its accusation is passed on; this node's
// own accusation never confirms its own suspicion. C confirmations shorten
// the timeout from SuspicionMaxTimeout towards SuspicionMinTimeout as
//
//	timeout = max(min, max - (max-min) * log(C+1) / log(K+1))
//
// with K = Config.SuspicionConfirmations, all stretched by the local-health
// multiplier. A suspicion ends when the suspect refutes (a record with a
// higher incarnation), leaves, or is declared Dead.
type suspicion struct {
	incarnation uint64
	start       time.Time // when the current timeout began (a monitor that asks again restarts it)
	opened      time.Time // when this node first held the suspicion
	local       bool      // this node's detector lost the suspect
	heralded    bool      // raised here or learnt as news, so gossiped on from here (see heraldSuspicion)
	reported    bool      // a repair reported the suspect Dead (see suspectReported)
	held        bool      // timed out unheard: the verdict waits for this node to hear (see heard)
	alive       time.Time // when the suspect last showed itself alive here since this node last lost it; zero when it has not (see shownAlive)
	probed      bool      // a probe of this node's, asked for by a monitor, got no answer
	confirmers  []string  // other suspectors, sorted, at most SuspicionConfirmations
	silent      []string  // members this node asked to probe the suspect that have not answered (see startProbes)
	asks        int       // rounds of probe requests this node made for the suspicion
	checks      int       // probes this node sent the suspect itself before a verdict its detector does not back (see checkBeforeVerdict)
	checkUntil  time.Time // no verdict before this: the last of those probes is awaited
}

// confirm adds suspector as a confirmer, unless it is known or the list
// already holds limit (beyond which confirmations shorten nothing), and
// reports whether it was added.
func (s *suspicion) confirm(suspector string, limit int) bool {
	if len(s.confirmers) >= limit {
		return false
	}
	i, found := slices.BinarySearch(s.confirmers, suspector)
	if found {
		return false
	}
	s.confirmers = slices.Insert(s.confirmers, i, suspector)
	return true
}

// suspicionTimeout is Lifeguard's timeout for c confirmations out of k
// expected, between lo and hi.
func suspicionTimeout(lo, hi time.Duration, c, k int) time.Duration {
	if c <= 0 || k <= 0 || hi <= lo {
		return hi
	}
	frac := math.Log(float64(c)+1) / math.Log(float64(k)+1)
	t := hi - time.Duration(float64(hi-lo)*frac)
	return max(lo, t)
}

// deadline is when the suspicion expires, given the timeouts and the local
// health multiplier.
func (s *suspicion) deadline(lo, hi time.Duration, k int, multiplier int) time.Time {
	return s.start.Add(suspicionTimeout(lo, hi, len(s.confirmers), k) * time.Duration(multiplier))
}
