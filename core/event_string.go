package core

import (
	"fmt"
	"strings"
	"time"
)

// String describes the event on one line, for logs and examples: a member
// event names the member, what it went from and to ("new" for a member new
// to this node, "updated" for a metadata change), and why when it was
// replaced; a conflict names both claims; a topology update gives the sizes and the
// sets; a quarantine event the instance and its end; a user message its
// kind, origin and size.
func (e Event) String() string {
	switch {
	case e.Member != nil:
		return memberEventString(e.Member)
	case e.Topology != nil:
		u := e.Topology
		return fmt.Sprintf("topology: %d members, joined [%s], left [%s], dead [%s], hash %016x",
			len(u.Members), strings.Join(u.Joined, " "), strings.Join(u.Left, " "), strings.Join(u.Dead, " "), u.Hash)
	case e.User != nil:
		u := e.User
		kind := "message"
		if u.Seq != 0 {
			kind = fmt.Sprintf("broadcast %016x", u.Seq)
		}
		return fmt.Sprintf("user %s from %s (node %s): %d bytes", kind, u.From, u.FromID, len(u.Payload))
	case e.Quarantine != nil:
		q := e.Quarantine
		if q.Expired {
			return fmt.Sprintf("quarantine of %s ended (incarnations up to %d)", q.Authority, q.Incarnation)
		}
		return fmt.Sprintf("quarantine of %s up to incarnation %d until %s", q.Authority, q.Incarnation, q.Until.Format(time.RFC3339))
	}
	return "empty event"
}

// memberEventString is Event.String for a member event.
func memberEventString(m *MemberEvent) string {
	r := m.Record
	who := fmt.Sprintf("member %s (node %s, incarnation %d)", r.Authority, r.NodeID, r.Incarnation)
	switch {
	case m.Conflict && r.Authority != m.Other.Authority:
		return fmt.Sprintf("conflict: node %s is active at %s and at %s", r.NodeID, r.Authority, m.Other.Authority)
	case m.Conflict:
		return fmt.Sprintf("conflict: %s %s lost to node %s at incarnation %d", who, m.To, m.Other.NodeID, m.Other.Incarnation)
	case m.Replaced:
		return fmt.Sprintf("%s %s -> %s: replaced by node %s", who, m.From, m.To, m.Other.NodeID)
	case m.From == m.To:
		return fmt.Sprintf("%s updated, still %s", who, m.To)
	case m.From == 0:
		return fmt.Sprintf("%s new -> %s", who, m.To)
	}
	return fmt.Sprintf("%s %s -> %s", who, m.From, m.To)
}
