package sim

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// tracer writes what a run does about a few slots (ExploreOptions.Trace):
// the faults as they begin and end, every member event about them at any
// node, every message they send or handle, and every other message that
// carries a record of one of them that is not Up (or Up above the
// incarnation its life started at: a refutation), an accusation of one of
// them, or a probe of one. It is how a violation is read: which node
// suspected whom, who was asked to probe, which refutation got lost.
type tracer struct {
	w     io.Writer
	from  int64 // virtual time before which nothing is written
	slots []int
	e     *explorer
	asks  map[uint64]bool // Seqs of probe requests about a traced slot: their relayed acks are traced
}

// core's probe kinds (unexported there): see core.MessageKind.String.
const (
	kindProbeRequest core.MessageKind = 9
	kindProbe        core.MessageKind = 10
	kindProbeAck     core.MessageKind = 11
)

// traced reports whether slot i is one of the traced slots.
func (t *tracer) traced(i int) bool { return slices.Contains(t.slots, i) }

// on reports whether the trace writes at the current time.
func (t *tracer) on() bool { return t != nil && t.e.c.now >= t.from }

func (t *tracer) printf(format string, args ...any) {
	fmt.Fprintf(t.w, "%10s  %s\n", fmtDur(time.Duration(t.e.c.now)), fmt.Sprintf(format, args...))
}

// fault notes a fault beginning or ending.
func (t *tracer) fault(f *Fault, what string) {
	if t.on() {
		t.printf("fault %d %s: %s", f.ID, what, strings.TrimSpace(f.String()[5:]))
	}
}

// event notes a member event at node about a traced slot.
func (t *tracer) event(node int, ev core.MemberEvent) {
	if !t.on() {
		return
	}
	x := t.e.slotOf(ev.Record.Authority)
	if !t.traced(x) {
		return
	}
	extra := ""
	if ev.Replaced {
		extra = " (replaced)"
	}
	if ev.Conflict {
		extra = " (conflict lost)"
	}
	t.printf("node %d: node %d %s -> %s@%d%s", node, x, ev.From, ev.To, ev.Record.Incarnation, extra)
}

// message notes a message from slot from to slot to (to is -1 when the
// target is no slot), handled by to or (handled false) sent by from, when it
// concerns a traced slot.
func (t *tracer) message(handled bool, from, to int, m *core.Message) {
	if !t.on() {
		return
	}
	direct := t.traced(from) || t.traced(to)
	about := false
	var recs []string
	for i, r := range m.Entries {
		x := t.e.slotOf(r.Authority)
		news := r.Status != core.StatusUp || r.Incarnation > max(1, t.e.startInc[x]) // a refutation is news too
		show := t.traced(x) && (news || m.Kind == kindProbe || m.Kind == kindProbeRequest)
		if !show && !(direct && x == from && news) {
			continue
		}
		about = about || t.traced(x)
		s := fmt.Sprintf("%d %s@%d", x, r.Status, r.Incarnation)
		if t.e.c.instances[r.NodeID] != nil && !t.e.running(r.NodeID) {
			s += " (gone instance)"
		}
		for _, a := range m.Accusations {
			if int(a.Entry) == i {
				var by []int
				for _, suspector := range a.Suspectors {
					by = append(by, t.e.slotOf(suspector))
				}
				s += " by " + fmtSlots(by)
			}
		}
		recs = append(recs, s)
	}
	if m.Kind == kindProbeRequest && about {
		t.asks[m.Seq] = true
	}
	if m.Kind == kindProbeAck && t.asks[m.Seq] {
		about = true
	}
	if !direct && !about {
		return
	}
	if len(recs) == 0 && (m.Kind == core.MessageGossip || m.Kind == core.MessageUser || m.Kind == core.MessageHeartbeat && !handled) {
		return // plain gossip says nothing about detection; a heartbeat is noted where it is handled
	}
	target := fmt.Sprint(to)
	if to < 0 {
		target = "?"
	}
	var line string
	if handled {
		line = fmt.Sprintf("%s handles %s from %d seq=%d", target, m.Kind, from, m.Seq)
	} else {
		line = fmt.Sprintf("%d sends %s to %s seq=%d", from, m.Kind, target, m.Seq)
	}
	if len(recs) > 0 {
		line += " [" + strings.Join(recs, ", ") + "]"
	}
	t.printf("%s", line)
}

// outcome notes the messages of an outcome of node.
func (t *tracer) outcome(node int, o core.Outcome) {
	if !t.on() {
		return
	}
	for i := range o.Outbound {
		out := &o.Outbound[i]
		t.message(false, node, t.e.slotOf(out.Target), &out.Message)
	}
}
