// Command custom-transport runs hearsay's protocol core with no std and no
// sockets: three coordinators talk over an in-memory transport written here,
// driven by core.Driver in a loop over a fake clock. It shows that a custom
// transport (QUIC, an actor system's remoting, a test network) needs only the
// two methods of core.GossipTransport.
//
//	go run ./examples/custom-transport
//
// The run is reproducible: time is virtual and every coordinator's
// randomness comes from a seeded source, so the same timeline prints every
// time, in a few milliseconds of real time.
package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

func main() {
	if _, err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "custom-transport:", err)
		os.Exit(1)
	}
}

// memNetwork is an in-memory network: one inbox per authority. It is used
// from one goroutine, like the coordinators it connects, so it needs no lock.
type memNetwork struct {
	inbox map[string][]core.GossipInbound
	// cut holds authorities that are unreachable: what they send and what is
	// sent to them is lost.
	cut map[string]bool
	// Delivered counts messages that reached an inbox.
	Delivered int
}

func newMemNetwork() *memNetwork {
	return &memNetwork{inbox: map[string][]core.GossipInbound{}, cut: map[string]bool{}}
}

// attach returns the transport of the node at authority.
func (n *memNetwork) attach(authority string) *memTransport {
	n.inbox[authority] = nil
	return &memTransport{net: n, self: authority}
}

// memTransport implements core.GossipTransport over a memNetwork. A message
// sent is in the target's inbox at once and is picked up by its next
// PollDeltas: a network with no loss and one step of delay.
type memTransport struct {
	net  *memNetwork
	self string
}

var _ core.GossipTransport = (*memTransport)(nil)

// Send queues out for its target. An authority that is not on the network
// fails at once, as the contract asks, with an error wrapping ErrSendFailed.
func (t *memTransport) Send(out core.GossipOutbound) error {
	if _, ok := t.net.inbox[out.Target]; !ok {
		return fmt.Errorf("%w: no node at %s", core.ErrSendFailed, out.Target)
	}
	if t.net.cut[t.self] || t.net.cut[out.Target] {
		return nil // lost on the wire: a sender cannot tell
	}
	t.net.inbox[out.Target] = append(t.net.inbox[out.Target], core.GossipInbound{Source: t.self, Message: out.Message})
	t.net.Delivered++
	return nil
}

// PollDeltas drains this node's inbox; empty and non-nil when nothing came.
func (t *memTransport) PollDeltas() []core.GossipInbound {
	in := t.net.inbox[t.self]
	t.net.inbox[t.self] = nil
	if in == nil {
		return []core.GossipInbound{}
	}
	return in
}

// node is one coordinator with its driver.
type node struct {
	name    string
	c       *core.MembershipCoordinator
	d       *core.Driver
	stopped bool
}

// Result is what a run observed, for the test.
type Result struct {
	// ConvergedAfter is the virtual time until every node saw all three Up.
	ConvergedAfter time.Duration
	// RemovedAfter is the virtual time, from c's leave, until a and b both
	// held c as Removed.
	RemovedAfter time.Duration
	// Views are each remaining node's final view, "authority=status" sorted.
	Views map[string][]string
	// StepErrors counts Driver.Step calls that reported refused or unsent
	// messages (not fatal).
	StepErrors int
	// Timeline are the lines printed.
	Timeline []string
}

const (
	step     = 10 * time.Millisecond // how often the loop steps every driver
	deadline = 30 * time.Second      // virtual time allowed for each phase
)

// run plays the scenario and prints its timeline to w: a, b and c start, b
// and c join through a, all three converge, then c leaves gracefully and a
// and b see it Removed.
func run(w io.Writer) (Result, error) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	res := Result{Views: map[string][]string{}}
	logf := func(format string, a ...any) {
		line := fmt.Sprintf("%7s  ", now.Sub(start).Round(time.Millisecond)) + fmt.Sprintf(format, a...)
		res.Timeline = append(res.Timeline, line)
		fmt.Fprintln(w, line)
	}

	network := newMemNetwork()
	var nodes []*node
	for i, name := range []string{"a", "b", "c"} {
		cfg := core.DefaultLocalConfig()
		cfg.NodeID, cfg.Authority = name, "mem://"+name
		cfg.Rand = rand.New(rand.NewPCG(uint64(i+1), 42))
		c, err := core.NewMembershipCoordinator(cfg)
		if err != nil {
			return res, err
		}
		n := &node{name: name, c: c}
		sink := core.EventSinkFunc(func(e core.Event) {
			if e.Member != nil && e.Member.Record.Authority != cfg.Authority {
				logf("%s sees %s: %s -> %s", name, e.Member.Record.NodeID, statusName(e.Member.From), e.Member.To)
			}
		})
		n.d = core.NewDriver(c, network.attach(cfg.Authority), sink)
		nodes = append(nodes, n)
	}

	// a starts a cluster; b and c join it through a.
	for _, n := range nodes {
		out, err := n.c.StartMember(now)
		if err != nil {
			return res, err
		}
		var seeds []string
		if n.name != "a" {
			seeds = []string{"mem://a"}
		}
		joinOut, err := n.c.HandleJoin(now, seeds)
		if err != nil {
			return res, err
		}
		out.Append(joinOut)
		if err := n.d.Apply(out); err != nil {
			return res, err
		}
		logf("%s started, joining %v", n.name, seeds)
	}

	// advance steps every running driver until cond holds or the deadline.
	advance := func(what string, cond func() bool) (time.Duration, error) {
		began := now
		for now.Sub(began) <= deadline {
			if cond() {
				return now.Sub(began), nil
			}
			now = now.Add(step)
			for _, n := range nodes {
				if n.stopped {
					continue
				}
				// Step reports refused inbound messages (for example, gossip
				// from c once it is a Removed tombstone) and failed sends;
				// neither stops the node, so a loop counts them and goes on.
				if err := n.d.Step(now); err != nil {
					res.StepErrors++
				}
			}
		}
		return 0, fmt.Errorf("%s: not within %v of virtual time", what, deadline)
	}

	var err error
	all := []string{"mem://a", "mem://b", "mem://c"}
	res.ConvergedAfter, err = advance("convergence", func() bool {
		for _, n := range nodes {
			if !sees(n.c, all, core.StatusUp) {
				return false
			}
		}
		return true
	})
	if err != nil {
		return res, err
	}
	logf("converged: every node sees a, b and c up")

	// c leaves gracefully and stops once its leave has been gossiped.
	c := nodes[2]
	out, err := c.c.HandleLeave(now)
	if err != nil {
		return res, err
	}
	if err := c.d.Apply(out); err != nil {
		return res, err
	}
	logf("c leaves")
	left := now
	if _, err = advance("c's leave", func() bool {
		if !c.stopped && c.c.LeaveDone() {
			c.stopped = true
			logf("c's leave is gossiped; c stops")
		}
		return c.stopped &&
			sees(nodes[0].c, []string{"mem://c"}, core.StatusRemoved) &&
			sees(nodes[1].c, []string{"mem://c"}, core.StatusRemoved)
	}); err != nil {
		return res, err
	}
	res.RemovedAfter = now.Sub(left)
	logf("a and b hold c as removed")

	for _, n := range nodes[:2] {
		var view []string
		for _, r := range n.c.Records() {
			view = append(view, strings.TrimPrefix(r.Authority, "mem://")+"="+r.Status.String())
		}
		slices.Sort(view)
		res.Views[n.name] = view
		logf("%s's view: %s", n.name, strings.Join(view, " "))
	}
	logf("%d messages delivered in %v of virtual time", network.Delivered, now.Sub(start))
	return res, nil
}

// sees reports whether c holds every authority in want with status st.
func sees(c *core.MembershipCoordinator, want []string, st core.NodeStatus) bool {
	for _, a := range want {
		r, ok := c.Member(a)
		if !ok || r.Status != st {
			return false
		}
	}
	return true
}

func statusName(s core.NodeStatus) string {
	if s == 0 {
		return "new"
	}
	return s.String()
}
