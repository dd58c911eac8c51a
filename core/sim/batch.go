package sim

import (
	"slices"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// Running the coordinators of a window of events on several goroutines
// (Options.Workers, through the caller's Options.RunParallel: the simulator
// starts none itself), with the same result as one.
//
// No message arrives sooner than the network's base delay after it was
// sent, and no node polls again sooner than a tick after it polled. So the
// deliveries and polls due within min(delay, tick) of the earliest event
// due can neither cause nor change one another, except for those of one
// node, which are ordered by that node's coordinator. Such a window is
// run in two phases:
//
//  1. the coordinators' calls (HandleGossip, Poll), in event order within
//     each node, nodes spread over the workers: a coordinator is its own
//     state machine, sharing nothing another one changes;
//     Then each node's own tracking of the member events its coordinator
//     emitted (observeLocal: its counts, its marks), which touches the
//     shared summaries of marks only atomically;
//  2. everything else, on one goroutine in event order as a sequential run
//     does it: the checks and counters of delivery, what is left of the
//     member events (observeShared), the network's random draws and the
//     events each outcome pushes.
//
// Phase 1 decides whether an event reaches its coordinator as phase 2
// (the sequential code) will: the node's running state, pause, partition
// group and deaf rule can only change within a window by the node's own
// leave completing (afterStep), which phase 1 follows for each node; any
// other change (a crash, a pause, a start, a partition) is made by an
// action or a resume, which ends a window. Hooks that could look at a
// coordinator or change the cluster in the middle of an event (OnEvent,
// OnOutcome and the explorer's) make the cluster run sequentially.

// stepResult is phase 1's result for one event of a window.
type stepResult struct {
	ran       bool // the coordinator was called
	out       core.Outcome
	err       error
	leaveDone bool // the node was leaving and its coordinator reported LeaveDone after the call
	// pending are the member events of out that observeLocal left work
	// for, in order (most are done with in phase 1: nil).
	pending []pendingEvent
}

// batchNode is phase 1's view of one node during a window: its generation
// and state as the window's earlier events left them.
type batchNode struct {
	window uint64 // the window the fields below belong to
	gen    uint32
	state  nodeState
}

// minWindowEvents is the fewest events a window must hold to be run on
// several goroutines; a smaller one runs sequentially, which is cheaper.
const minWindowEvents = 32

// parallel reports whether the cluster may run windows of events on
// several goroutines.
func (c *Cluster) parallel() bool {
	return c.opts.Workers > 1 && c.delay > 0 && c.opts.OnEvent == nil && c.opts.OnOutcome == nil &&
		c.onDeliver == nil && c.onHandle == nil && c.onSend == nil
}

// runWindow runs the deliveries and polls due from the earliest event on,
// up to end, within the window described above, and stops before any other
// event. A window too small to be worth the goroutines runs sequentially.
func (c *Cluster) runWindow(end int64) {
	last := min(end, c.q.peek()+min(c.delay, c.tick)-1)
	evs := c.window[:0]
	for c.q.len() > 0 && c.q.peek() <= last {
		if k := c.q.items[0].kind; k != evDeliver && k != evPoll {
			break
		}
		evs = append(evs, c.q.pop())
	}
	c.window = evs
	if len(evs) < c.minWindow {
		// What the events push lands after the window: running them now,
		// in order, is what a sequential run does.
		for _, ev := range evs {
			c.now = ev.at
			c.step(ev)
		}
		clear(evs)
		return
	}
	if cap(c.results) < len(evs) {
		c.results = make([]stepResult, len(evs))
	}
	res := c.results[:len(evs)]
	c.windows++
	workers := c.opts.Workers
	parts := c.parts[:0]
	for w := range workers {
		parts = append(parts, func() { c.callCoordinators(evs, res, w, workers) })
	}
	c.parts = parts
	c.opts.RunParallel(parts...)
	clear(parts)
	for i, ev := range evs {
		c.now = ev.at
		switch ev.kind {
		case evDeliver:
			c.deliverWith(ev, &res[i])
		case evPoll:
			c.pollWith(ev, &res[i])
		}
		res[i] = stepResult{}
	}
	clear(evs)
}

// callCoordinators is phase 1 for the nodes whose slot is worker modulo
// workers: it calls their coordinators for the events of evs that reach
// them, in order, and keeps each outcome in res.
func (c *Cluster) callCoordinators(evs []event, res []stepResult, worker, workers int) {
	for i, ev := range evs {
		if int(ev.node)%workers != worker {
			continue
		}
		n := c.nodes[ev.node]
		b := &n.batch
		if b.window != c.windows {
			*b = batchNode{window: c.windows, gen: n.gen, state: n.state}
		}
		r := &res[i]
		now := c.start.Add(time.Duration(ev.at + n.offset))
		switch ev.kind {
		case evPoll:
			if b.gen != ev.gen || b.state != stateRunning || n.paused {
				continue
			}
			r.ran = true
			r.out = n.coord.Poll(now)
		case evDeliver:
			f := &c.flight[ev.ref]
			if b.state != stateRunning || n.group != c.nodes[f.from].group || c.rules.cutsArrival(ev.node) || n.paused {
				continue
			}
			r.ran = true
			r.out, r.err = n.coord.HandleGossip(now, core.GossipInbound{Source: c.nodes[f.from].authority, Message: f.msg})
		}
		for _, mev := range r.out.Members {
			if left, ms := c.observeLocal(n, mev, ev.at); left != 0 {
				r.pending = append(r.pending, pendingEvent{ev: mev, left: left, marks: ms})
			}
		}
		if c.opts.RecordEvents && c.cfg.ReuseMemberEvents {
			r.out.Members = slices.Clone(r.out.Members) // the node's next call overwrites them
		}
		if n.leaving && n.coord.LeaveDone() {
			r.leaveDone = true
			b.state = stateLeft
			b.gen++
		}
	}
}

// mustHaveRun and mustNotHaveRun check, in phase 2, that phase 1 made the
// decision the sequential code makes: a difference would make the run
// depend on the number of workers, a bug in this file. r may be nil (a
// sequential step): nothing to check.
func (r *stepResult) mustHaveRun() {
	if r != nil && !r.ran {
		panic("sim: a window's event reached a coordinator that phase 1 did not call")
	}
}

func (r *stepResult) mustNotHaveRun() {
	if r != nil && r.ran {
		panic("sim: phase 1 called a coordinator for a window's event that does not reach it")
	}
}
