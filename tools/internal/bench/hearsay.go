package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/std"
)

// NewHearsay is the Factory of the hearsay side. Every member is a std.Node
// started with std.DefaultConfig() (core.DefaultLANConfig(); 1400-byte
// datagrams, no label, default queues; the default event buffer) with
// Core.NodeID, Transport.BindAddr "127.0.0.1:0" and Seeds [member 0] set,
// and nothing else. With an "equal" Setting the Timing's four values are
// applied: Core.HeartbeatInterval, Core.GossipInterval, Core.GossipNodes
// and Transport.MaxDatagramBytes, with Core.MaxMessageBytes raised to fill
// such a datagram (std.MaxMessageBytes); the detector's two durations follow
// the heartbeat as in the LAN preset (Akka's defaults: a pause allowance of
// three intervals, a first estimate of one), as memberlist's
// ProbeTimeout follows its ProbeInterval.
//
// Each member has one subscription, read by one harness goroutine that counts
// the Suspect and Dead status changes it reports about other members.
func NewHearsay(s Setting, formation int) Cluster {
	return &hsCluster{setting: s, formation: formation, n: 1}
}

type hsCluster struct {
	setting   Setting
	formation int

	mu    sync.Mutex
	n     int
	slots []*hsSlot
	errorLog
	cancel  context.CancelFunc
	growing sync.WaitGroup
	readers sync.WaitGroup

	suspect, dead atomic.Uint64
}

type hsSlot struct {
	node *std.Node // set once, before started is stored
	id   string
	// started is set once node is usable; dead once it crashed or left.
	started, dead atomic.Bool
}

func (c *hsCluster) Library() string { return "hearsay" }

func (c *hsCluster) config(id string) std.Config {
	cfg := std.DefaultConfig()
	cfg.Core.NodeID = id
	cfg.Transport.BindAddr = "127.0.0.1:0"
	if t := c.setting.Timing; t != nil {
		cfg.Core.HeartbeatInterval = t.Probe
		cfg.Core.PhiAcceptablePause = 3 * t.Probe
		cfg.Core.PhiFirstHeartbeatEstimate = t.Probe
		cfg.Core.GossipInterval = t.Gossip
		cfg.Core.GossipNodes = t.Fanout
		cfg.Transport.MaxDatagramBytes = t.Datagram
		cfg.Core.MaxMessageBytes = std.MaxMessageBytes(t.Datagram, "")
	}
	return cfg
}

func (c *hsCluster) Settings() []string {
	return append(append([]string{"config=std.DefaultConfig() (Core: core.DefaultLANConfig())"}, c.values()...),
		"Transport=std UDPTransport on 127.0.0.1:0, counted by its own TransportStats",
		"Logger=nil (discard)",
		"join=std.Start with Seeds=[member 0] (join requests retried by the coordinator)",
		"crash=Node.Close() without Leave; leave=Node.Leave(ctx 10s) then Close()",
	)
}

// values lists the configuration's timing, sizes and options.
func (c *hsCluster) values() []string {
	cfg := c.config("x")
	cc := cfg.Core
	dgram := cfg.Transport.MaxDatagramBytes
	tick := max(cc.GossipInterval, cc.HeartbeatInterval, time.Second) // std's loop floor (std/config.go)
	return []string{
		fmt.Sprintf("HeartbeatInterval=%v", cc.HeartbeatInterval),
		fmt.Sprintf("MonitorCount=%d", cc.MonitorCount),
		fmt.Sprintf("PhiThreshold=%v", cc.PhiThreshold),
		fmt.Sprintf("PhiWindowSize=%d", cc.PhiWindowSize),
		fmt.Sprintf("PhiMinStdDev=%v", cc.PhiMinStdDev),
		fmt.Sprintf("PhiAcceptablePause=%v", cc.PhiAcceptablePause),
		fmt.Sprintf("PhiFirstHeartbeatEstimate=%v", cc.PhiFirstHeartbeatEstimate),
		fmt.Sprintf("SuspicionMinTimeout=%v", cc.SuspicionMinTimeout),
		fmt.Sprintf("SuspicionMaxTimeout=%v", cc.SuspicionMaxTimeout),
		fmt.Sprintf("SuspicionConfirmations=%d", cc.SuspicionConfirmations),
		fmt.Sprintf("MaxLocalHealth=%d", cc.MaxLocalHealth),
		fmt.Sprintf("GossipInterval=%v", cc.GossipInterval),
		fmt.Sprintf("GossipNodes=%d", cc.GossipNodes),
		fmt.Sprintf("RetransmitMult=%d", cc.RetransmitMult),
		fmt.Sprintf("AntiEntropyInterval=%v", cc.AntiEntropyInterval),
		fmt.Sprintf("ReconnectInterval=%v", cc.ReconnectInterval),
		fmt.Sprintf("JoinRetryInterval=%v", cc.JoinRetryInterval),
		fmt.Sprintf("TopologyEmitInterval=%v", cc.TopologyEmitInterval),
		fmt.Sprintf("QuarantineTTL=%v", cc.QuarantineTTL),
		fmt.Sprintf("TombstoneRetention=%v", cc.TombstoneRetention),
		fmt.Sprintf("MaxDatagramBytes=%d (MaxMessageBytes=%d)", dgram, min(cc.MaxMessageBytes, std.MaxMessageBytes(dgram, ""))),
		fmt.Sprintf("loop floor=%v (a step if neither an arrival nor the coordinator's next deadline woke the loop sooner)", tick),
		"Label=none EventBuffer=default",
	}
}

func (c *hsCluster) ensureSlots(n int) {
	for len(c.slots) < n {
		c.slots = append(c.slots, &hsSlot{id: fmt.Sprintf("hs-%d-%d", c.formation, len(c.slots))})
	}
}

// start starts member i with the given seeds and its event counter.
func (c *hsCluster) start(ctx context.Context, i int, seeds []string) error {
	slot := c.slots[i]
	cfg := c.config(slot.id)
	cfg.Seeds = seeds
	n, err := std.Start(ctx, cfg)
	if err != nil {
		return fmt.Errorf("hearsay %s: start: %w", slot.id, err)
	}
	events, _ := n.Subscribe() // ends when the node closes
	c.readers.Add(1)
	go func() { // exits when Close closes the subscription
		defer c.readers.Done()
		for e := range events {
			if m := e.Member; m != nil && m.Record.NodeID != slot.id && !m.Conflict {
				switch m.To {
				case core.StatusSuspect:
					c.suspect.Add(1)
				case core.StatusDead:
					c.dead.Add(1)
				}
			}
		}
	}()
	slot.node = n
	slot.started.Store(true)
	return nil
}

func (c *hsCluster) Seed(ctx context.Context) error {
	c.mu.Lock()
	c.ensureSlots(1)
	c.mu.Unlock()
	return c.start(ctx, 0, nil)
}

func (c *hsCluster) Grow(ctx context.Context, n int) {
	c.mu.Lock()
	c.ensureSlots(n)
	c.n = n
	ctx, c.cancel = context.WithCancel(ctx)
	c.mu.Unlock()
	seed := c.slots[0].node.Addr()
	for i := 1; i < n; i++ {
		c.growing.Add(1)
		go func() {
			defer c.growing.Done()
			if err := c.start(ctx, i, []string{seed}); err != nil {
				c.addErr(err)
			}
		}()
	}
}

func (c *hsCluster) Size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *hsCluster) slot(i int) *hsSlot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.slots) {
		return nil
	}
	return c.slots[i]
}

func (c *hsCluster) running(i int) *std.Node {
	s := c.slot(i)
	if s == nil || !s.started.Load() || s.dead.Load() {
		return nil
	}
	return s.node
}

func (c *hsCluster) Live(i int) bool { return c.running(i) != nil }

// ActiveCount counts the records member i holds as Up or Suspect (alive, as
// memberlist's NumMembers counts alive and suspect nodes).
func (c *hsCluster) ActiveCount(i int) int {
	n := c.running(i)
	if n == nil {
		return 0
	}
	k := 0
	for _, r := range n.Members() {
		if r.Status == core.StatusUp || r.Status == core.StatusSuspect {
			k++
		}
	}
	return k
}

// Gone: member i holds no active record of victim's instance (it is Dead,
// Removed, or not there).
func (c *hsCluster) Gone(i, victim int) bool {
	n := c.running(i)
	v := c.slot(victim)
	if n == nil || v == nil {
		return false
	}
	for _, r := range n.Members() {
		if r.NodeID == v.id {
			return false
		}
	}
	return true
}

func (c *hsCluster) Crash(i int) error {
	n := c.running(i)
	if n == nil {
		return fmt.Errorf("hearsay: member %d is not running", i)
	}
	c.slots[i].dead.Store(true)
	return n.Close()
}

func (c *hsCluster) Leave(ctx context.Context, i int) error {
	n := c.running(i)
	if n == nil {
		return fmt.Errorf("hearsay: member %d is not running", i)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := n.Leave(ctx)
	c.slots[i].dead.Store(true)
	return errors.Join(err, n.Close())
}

func (c *hsCluster) Traffic() Traffic {
	c.mu.Lock()
	slots := append([]*hsSlot(nil), c.slots...)
	c.mu.Unlock()
	var t Traffic
	for _, s := range slots {
		if s.started.Load() {
			st := s.node.Stats().Transport
			t.Datagrams += st.DatagramsSent
			t.Bytes += st.BytesSent
		}
	}
	return t
}

func (c *hsCluster) Transitions() Transitions {
	return Transitions{Suspect: c.suspect.Load(), Dead: c.dead.Load()}
}

func (c *hsCluster) Close() error {
	c.mu.Lock()
	if c.cancel != nil {
		c.cancel()
	}
	c.mu.Unlock()
	c.growing.Wait()
	var errs []error
	for i := range c.slots {
		if n := c.running(i); n != nil {
			c.slots[i].dead.Store(true)
			errs = append(errs, n.Close())
		}
	}
	c.readers.Wait()
	return errors.Join(errs...)
}
