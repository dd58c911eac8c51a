package std

import (
	"net/netip"
	"strconv"
	"sync/atomic"
)

// dropReason is why a transport dropped a datagram before the coordinator
// saw it.
type dropReason uint8

const (
	dropNone        dropReason = iota // not dropped: accepted
	dropFiltered                      // the source Filter refused its address
	dropOversize                      // longer than MaxDatagramBytes
	dropFairShare                     // its source had its share of a busy inbound queue
	dropWrongLabel                    // another cluster label
	dropAuth                          // no key of our keyring opened it
	dropDecode                        // not a datagram of this protocol and version (or sealed, and we have no keyring)
	dropInboundFull                   // the inbound queue was full
	dropReasons                       // the number of reasons
)

// String names the reason as the log and a JoinState.Problem say it.
func (r dropReason) String() string {
	switch r {
	case dropNone:
		return "accepted"
	case dropFiltered:
		return "refused by our address filter"
	case dropOversize:
		return "over our datagram size limit"
	case dropFairShare, dropInboundFull:
		return "dropped by our full inbound queue"
	case dropWrongLabel:
		return "of another cluster label"
	case dropAuth:
		return "not opened by our keyring (another key, or none)"
	case dropDecode:
		return "undecodable (sealed with a keyring we do not have, or another protocol version)"
	}
	return "dropReason(" + strconv.Itoa(int(r)) + ")"
}

// sourceTally counts the datagrams of one watched source, by what became
// of them (dropNone: accepted).
type sourceTally [dropReasons]atomic.Uint64

// sourceWatch counts what a transport does with the datagrams of a few
// chosen sources: a joining node's seeds. A seed that drops our join
// requests only shows as silence, but what arrives from it, and why we drop
// it, names the likely cause. The set is chosen by the node (never by a
// sender), replaced whole by watch and read by tally; the reader goroutine
// counts. With no watch set, counting costs one atomic load.
type sourceWatch struct {
	set atomic.Pointer[map[netip.AddrPort]*sourceTally]
}

// watch replaces the watched sources by addrs (nil or empty: none), with
// fresh counts.
func (w *sourceWatch) watch(addrs []netip.AddrPort) {
	if len(addrs) == 0 {
		w.set.Store(nil)
		return
	}
	m := make(map[netip.AddrPort]*sourceTally, len(addrs))
	for _, a := range addrs {
		m[a] = new(sourceTally)
	}
	w.set.Store(&m)
}

// count records what became of a datagram from src, if src is watched.
func (w *sourceWatch) count(src netip.AddrPort, r dropReason) {
	m := w.set.Load()
	if m == nil {
		return
	}
	if t := (*m)[netip.AddrPortFrom(src.Addr().Unmap(), src.Port())]; t != nil {
		t[r].Add(1)
	}
}

// tally returns the counts of addr since it was watched (zero when it is
// not).
func (w *sourceWatch) tally(addr netip.AddrPort) [dropReasons]uint64 {
	var out [dropReasons]uint64
	m := w.set.Load()
	if m == nil {
		return out
	}
	if t := (*m)[addr]; t != nil {
		for i := range t {
			out[i] = t[i].Load()
		}
	}
	return out
}
