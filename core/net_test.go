package core

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// testNet is a tiny in-test network of coordinators in virtual time: every
// message is delivered after delay unless its target crashed. It checks that
// every message it carries fits MaxMessageBytes. Nodes are polled every tick,
// each on its own clock (the network's time plus its skew).
//
// The protocol's scenarios run on core/sim, the one simulated network (see
// core/sim/protocol_test.go, and coordinator_sim_test.go for those that need
// core's internals). This harness remains for what core/sim does not model:
// a node whose clock differs from the network's, and a restart with a
// Config of its own.
type testNet struct {
	t       testing.TB
	now     time.Time
	tick    time.Duration
	delay   time.Duration
	nodes   map[string]*testNode
	order   []string
	queue   []inflight
	observe func(at string, ev MemberEvent)
	// observeOutcome, if set, sees every outcome of every node.
	observeOutcome func(at string, o Outcome)
}

type testNode struct {
	c       *MembershipCoordinator
	crashed bool
	skew    time.Duration // added to the network's time in every call to this node (its clock)
}

type inflight struct {
	at   time.Time
	to   string
	in   GossipInbound
	from string
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newTestNet(t testing.TB) *testNet {
	return &testNet{t: t, now: epoch, tick: 10 * time.Millisecond, delay: 5 * time.Millisecond, nodes: map[string]*testNode{}}
}

func testConfig(id, auth string, seed uint64) Config {
	cfg := DefaultLANConfig()
	cfg.NodeID, cfg.Authority = id, auth
	cfg.Rand = rand.New(rand.NewPCG(seed, 7))
	return cfg
}

// add creates and starts a member at authority auth (node ID id).
func (n *testNet) add(id, auth string, mutate func(*Config)) *MembershipCoordinator {
	cfg := testConfig(id, auth, uint64(len(n.order)+1)*7919)
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := NewMembershipCoordinator(cfg)
	if err != nil {
		n.t.Fatal(err)
	}
	if _, ok := n.nodes[auth]; !ok {
		n.order = append(n.order, auth)
	}
	n.nodes[auth] = &testNode{c: c}
	o, err := c.StartMember(n.now)
	if err != nil {
		n.t.Fatal(err)
	}
	n.deliver(auth, o)
	return c
}

func (n *testNet) join(auth string, seeds ...string) {
	o, err := n.nodes[auth].c.HandleJoin(n.now, seeds)
	if err != nil {
		n.t.Fatal(err)
	}
	n.deliver(auth, o)
}

func (n *testNet) deliver(from string, o Outcome) {
	if n.observeOutcome != nil {
		n.observeOutcome(from, o)
	}
	for _, ev := range o.Members {
		if n.observe != nil {
			n.observe(from, ev)
		}
	}
	c := n.nodes[from].c
	for _, out := range o.Outbound {
		if sz := EstimateSize(out.Message); sz > c.cfg.MaxMessageBytes {
			n.t.Fatalf("%s sent a %s of %d bytes > %d", from, out.Message.Kind, sz, c.cfg.MaxMessageBytes)
		}
		n.queue = append(n.queue, inflight{at: n.now.Add(n.delay), to: out.Target, from: from, in: GossipInbound{Source: from, Message: out.Message}})
	}
}

// step advances one tick: deliver what is due, then poll everyone.
func (n *testNet) step() {
	n.now = n.now.Add(n.tick)
	due := n.queue[:0:0]
	rest := n.queue[:0:0]
	for _, f := range n.queue {
		if !f.at.After(n.now) {
			due = append(due, f)
		} else {
			rest = append(rest, f)
		}
	}
	n.queue = rest
	for _, f := range due {
		node, ok := n.nodes[f.to]
		if !ok || node.crashed {
			continue
		}
		o, _ := node.c.HandleGossip(n.now.Add(node.skew), f.in)
		n.deliver(f.to, o)
	}
	for _, a := range n.order {
		node := n.nodes[a]
		if node.crashed {
			continue
		}
		n.deliver(a, node.c.Poll(n.now.Add(node.skew)))
	}
}

func (n *testNet) run(d time.Duration) {
	end := n.now.Add(d)
	for n.now.Before(end) {
		n.step()
	}
}

// runUntil steps until cond holds or d passes; it reports whether cond held.
func (n *testNet) runUntil(d time.Duration, cond func() bool) bool {
	end := n.now.Add(d)
	for n.now.Before(end) {
		if cond() {
			return true
		}
		n.step()
	}
	return cond()
}

// live returns the authorities of running members.
func (n *testNet) live() []string {
	var out []string
	for _, a := range n.order {
		if node := n.nodes[a]; !node.crashed && node.c.State() == CoordinatorMember {
			out = append(out, a)
		}
	}
	return out
}

// statusAt returns the status of auth in at's table (0 when unknown).
func (n *testNet) statusAt(at, auth string) NodeStatus {
	r, ok := n.nodes[at].c.Member(auth)
	if !ok {
		return 0
	}
	return r.Status
}

// allSee reports whether every live member holds auth with status st.
func (n *testNet) allSee(auth string, st NodeStatus) bool {
	for _, a := range n.live() {
		if a == auth {
			continue
		}
		if n.statusAt(a, auth) != st {
			return false
		}
	}
	return true
}

// converged reports whether every live member sees exactly the live members
// as active, all Up.
func (n *testNet) converged() bool {
	live := map[string]bool{}
	for _, a := range n.live() {
		live[a] = true
	}
	for a := range live {
		count := 0
		for _, r := range n.nodes[a].c.Members() {
			if r.Status != StatusUp || !live[r.Authority] {
				return false
			}
			count++
		}
		if count != len(live) {
			return false
		}
	}
	return true
}

func auth(i int) string   { return fmt.Sprintf("10.0.0.%d:7946", i) }
func nodeID(i int) string { return fmt.Sprintf("node-%03d", i) }

// cluster starts size members, all joining member 0, and runs until
// converged. The run depends on size only: seed names the caller's run but
// draws nothing (each node's Config.Rand is seeded from its position).
func cluster(t testing.TB, size int, seed uint64) *testNet {
	net := newTestNet(t)
	for i := 0; i < size; i++ {
		net.add(nodeID(i), auth(i), nil)
	}
	net.join(auth(0))
	for i := 1; i < size; i++ {
		net.join(auth(i), auth(0))
	}
	if !net.runUntil(60*time.Second, net.converged) {
		t.Fatalf("%d members did not converge in 60 s", size)
	}
	return net
}
