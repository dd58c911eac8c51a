package sim

import (
	"bytes"
	"slices"

	"github.com/hearsay-go/hearsay/core"
)

// runTo processes every event due at or before end, then sets the clock to end.
// With Options.Workers > 1, the deliveries and polls of a window of
// virtual time run on several goroutines (batch.go).
func (c *Cluster) runTo(end int64) {
	par := c.parallel()
	for c.q.len() > 0 && c.q.peek() <= end {
		if k := c.q.items[0].kind; par && (k == evDeliver || k == evPoll) {
			c.runWindow(end)
			continue
		}
		ev := c.q.pop()
		c.now = ev.at
		c.step(ev)
	}
	if end > c.now {
		c.now = end
	}
}

// step runs one event, due now.
func (c *Cluster) step(ev event) {
	switch ev.kind {
	case evDeliver:
		c.deliver(ev)
	case evPoll:
		c.poll(ev)
	case evResume:
		c.resume(ev)
	case evAction:
		fn := c.actions[ev.ref]
		c.actions[ev.ref] = nil
		fn()
	}
}

// poll runs one poll tick of a node and schedules the next.
func (c *Cluster) poll(ev event) { c.pollWith(ev, nil) }

// pollWith is poll, with the coordinator's call already made in pre when
// pre is not nil (see runWindow).
func (c *Cluster) pollWith(ev event, pre *stepResult) {
	n := c.nodes[ev.node]
	if n.gen != ev.gen || n.state != stateRunning || n.paused {
		pre.mustNotHaveRun()
		return // stale (crash, restart) or paused: resume reschedules
	}
	var out core.Outcome
	if pre != nil {
		pre.mustHaveRun()
		out = pre.out
	} else {
		out = n.coord.Poll(c.nodeNow(n))
	}
	c.processWith(n, out, pre)
	c.afterStepWith(n, pre)
	if n.gen == ev.gen && n.state == stateRunning {
		c.q.push(event{at: ev.at + c.tick, kind: evPoll, node: ev.node, gen: n.gen})
	}
}

// resume ends a pause: the queued messages are handled in arrival order, then
// the node polls (as a driver drains its inbound before polling), and its
// ticks start again.
func (c *Cluster) resume(ev event) {
	n := c.nodes[ev.node]
	if n.gen != ev.gen || n.state != stateRunning || !n.paused || n.resumeAt != ev.at {
		return
	}
	n.paused = false
	pending := n.pending
	for k, ref := range pending {
		if n.gen != ev.gen || n.state != stateRunning {
			for _, r := range pending[k:] {
				c.release(r)
			}
			break
		}
		f := c.flight[ref]
		c.release(ref)
		c.handle(n, &f)
	}
	n.pending = pending[:0]
	if n.gen != ev.gen || n.state != stateRunning {
		return
	}
	c.poll(event{at: c.now, kind: evPoll, node: ev.node, gen: n.gen})
}

// deliver hands an in-flight message to its target.
func (c *Cluster) deliver(ev event) { c.deliverWith(ev, nil) }

// deliverWith is deliver, with the coordinator's call already made in pre
// when pre is not nil (see runWindow).
func (c *Cluster) deliverWith(ev event, pre *stepResult) {
	n := c.nodes[ev.node]
	f := &c.flight[ev.ref]
	from := c.nodes[f.from]
	switch {
	case n.state != stateRunning:
		c.stats.ToDown++
		from.stats.Dropped++
	case n.group != from.group:
		c.stats.Partitioned++
		from.stats.Dropped++
	case c.rules.cutsArrival(ev.node):
		c.stats.Cut++
		from.stats.Dropped++
	case n.paused:
		pre.mustNotHaveRun()
		n.pending = append(n.pending, ev.ref)
		return // keep the slot until resume
	default:
		if c.onDeliver != nil {
			c.onDeliver(f.from, ev.node, f)
		}
		msg := *f
		c.release(ev.ref)
		c.handleWith(n, &msg, pre)
		return
	}
	pre.mustNotHaveRun()
	c.release(ev.ref)
}

// handle feeds one message to a running, unpaused node.
func (c *Cluster) handle(n *node, f *inflight) { c.handleWith(n, f, nil) }

// handleWith is handle, with the coordinator's call already made in pre
// when pre is not nil (see runWindow).
func (c *Cluster) handleWith(n *node, f *inflight, pre *stepResult) {
	n.stats.MsgsRecv++
	n.stats.BytesRecv += uint64(f.size)
	c.stats.Delivered++
	if c.onHandle != nil {
		c.onHandle(f.from, int32(n.idx), &f.msg)
	}
	var out core.Outcome
	var err error
	if pre != nil {
		pre.mustHaveRun()
		out, err = pre.out, pre.err
	} else {
		in := core.GossipInbound{Source: c.nodes[f.from].authority, Message: f.msg}
		out, err = n.coord.HandleGossip(c.nodeNow(n), in)
	}
	if err != nil {
		n.stats.Errors++
		c.stats.Errors++
		c.stats.LastError = err
	}
	c.processWith(n, out, pre)
	c.afterStepWith(n, pre)
}

// afterStep stops a leaving node once its leave is done.
func (c *Cluster) afterStep(n *node) { c.afterStepWith(n, nil) }

// afterStepWith is afterStep, with LeaveDone as the coordinator reported it
// right after its call in pre when pre is not nil (see runWindow).
func (c *Cluster) afterStepWith(n *node, pre *stepResult) {
	if n.leaving && n.state == stateRunning && (pre != nil && pre.leaveDone || pre == nil && n.coord.LeaveDone()) {
		n.state = stateLeft
		n.gen++
		n.paused = false
		c.dropPending(n)
		if inst := c.instances[n.id]; inst != nil {
			inst.left = true
		}
	}
}

// process records an outcome's member events and sends its messages.
func (c *Cluster) process(n *node, out core.Outcome) { c.processWith(n, out, nil) }

// processWith is process, with the member events' observeLocal already
// done in phase 1 when pre is not nil (see runWindow).
func (c *Cluster) processWith(n *node, out core.Outcome, pre *stepResult) {
	if c.opts.OnOutcome != nil {
		c.opts.OnOutcome(n.idx, out)
	}
	if pre == nil {
		for _, ev := range out.Members {
			c.observe(n, ev)
		}
	} else {
		if c.opts.RecordEvents {
			n.events = append(n.events, out.Members...)
		}
		for _, p := range pre.pending {
			c.observeShared(n, p.ev, p.left, p.marks)
		}
	}
	if c.trackUser {
		for _, u := range out.User {
			if u.Seq != 0 {
				n.delivered = append(n.delivered, delivery{msg: u, at: c.now})
			}
		}
	}
	for i := range out.Outbound {
		c.send(n, &out.Outbound[i])
	}
}

// send puts one message on the wire, or drops it.
func (c *Cluster) send(n *node, o *core.GossipOutbound) {
	size := core.EstimateSize(o.Message)
	if size > c.stats.MaxSize {
		c.stats.MaxSize = size
	}
	if size > c.mtu {
		n.stats.Oversize++
		c.stats.Oversize++
		return
	}
	n.stats.MsgsSent++
	n.stats.BytesSent += uint64(size)
	c.stats.Sent++
	c.stats.Bytes += uint64(size)
	if k := int(o.Message.Kind); k < len(c.stats.ByKind) {
		c.stats.ByKind[k]++
	}
	to, ok := c.byAuth[o.Target]
	if !ok {
		c.stats.Unroutable++
		n.stats.Dropped++
		return
	}
	if c.onSend != nil {
		c.onSend(int32(n.idx), to)
	}
	if c.nodes[to].group != n.group {
		c.stats.Partitioned++
		n.stats.Dropped++
		return
	}
	if c.rules.cutsSend(c.now, int32(n.idx), to) {
		c.stats.Cut++
		n.stats.Dropped++
		return
	}
	p := c.loss
	if len(c.linkLoss) > 0 {
		if lp, ok := c.linkLoss[link{int32(n.idx), to}]; ok {
			p = 1 - (1-p)*(1-lp)
		}
	}
	if p > 0 && c.net.Float64() < p {
		c.stats.Lost++
		n.stats.Dropped++
		return
	}
	d := c.delay
	if c.jitter > 0 {
		d += c.net.Int64N(c.jitter + 1)
	}
	ref := c.alloc()
	c.flight[ref] = inflight{msg: cloneMessage(o.Message), from: int32(n.idx), size: int32(size)}
	c.q.push(event{at: c.now + d, kind: evDeliver, node: to, ref: ref})
}

// alloc returns a free in-flight slot.
func (c *Cluster) alloc() int32 {
	if k := len(c.free); k > 0 {
		ref := c.free[k-1]
		c.free = c.free[:k-1]
		return ref
	}
	c.flight = append(c.flight, inflight{})
	return int32(len(c.flight) - 1)
}

// release frees an in-flight slot.
func (c *Cluster) release(ref int32) {
	c.flight[ref] = inflight{}
	c.free = append(c.free, ref)
}

// cloneMessage copies what a network would: the receiver gets memory that the
// sender can no longer change, and shares none with other receivers.
//
// One exception, for memory: an Entries array whose records carry no
// metadata is passed on as it is. Its records are values whose only
// memory is strings, which no one can change, and core writes to no
// message it sent or handles; what a copy would cost is a second array of
// every record a simulation sends (at 2,000 nodes, a sixth of what the
// run allocated).
func cloneMessage(m core.Message) core.Message {
	if len(m.Entries) > 0 && slices.ContainsFunc(m.Entries, func(r core.NodeRecord) bool { return r.Meta != nil }) {
		entries := make([]core.NodeRecord, len(m.Entries))
		copy(entries, m.Entries)
		for i := range entries {
			if entries[i].Meta != nil {
				entries[i].Meta = bytes.Clone(entries[i].Meta)
			}
		}
		m.Entries = entries
	}
	if len(m.Digest) > 0 {
		m.Digest = append([]uint64(nil), m.Digest...)
	}
	if len(m.Want) > 0 {
		m.Want = append([]uint32(nil), m.Want...)
	}
	if len(m.User) > 0 {
		user := make([]core.UserMessage, len(m.User))
		for i, u := range m.User {
			u.Payload = bytes.Clone(u.Payload)
			user[i] = u
		}
		m.User = user
	}
	if len(m.Accusations) > 0 {
		acc := make([]core.Accusation, len(m.Accusations))
		for i, a := range m.Accusations {
			acc[i] = core.Accusation{Entry: a.Entry, Suspectors: append([]string(nil), a.Suspectors...)}
		}
		m.Accusations = acc
	}
	return m
}

// dropPending drops the messages queued at a paused node that stops.
func (c *Cluster) dropPending(n *node) {
	for _, ref := range n.pending {
		c.release(ref)
		c.stats.ToDown++
	}
	n.pending = n.pending[:0]
}
