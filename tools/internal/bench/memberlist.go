package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/hashicorp/memberlist"

	"github.com/hearsay-go/hearsay/tools/internal/bench/mlcount"
)

// NewMemberlist is the Factory of the memberlist side. Every member runs
// memberlist.DefaultLANConfig() with only these changes: a unique Name, bind
// to 127.0.0.1 on a kernel-chosen port, LogOutput io.Discard, and a Transport
// that is memberlist's own NetTransport wrapped to count what it sends. With
// an "equal" Setting, the Timing's four values are applied as well (with the
// default Timing they are the preset's own values).
func NewMemberlist(s Setting, formation int) Cluster {
	installMemberlistSink()
	return &mlCluster{setting: s, formation: formation, n: 1}
}

type mlCluster struct {
	setting   Setting
	formation int

	mu    sync.Mutex
	n     int
	slots []*mlSlot
	errorLog
	cancel  context.CancelFunc
	growing sync.WaitGroup
}

type mlSlot struct {
	ml   atomic.Pointer[memberlist.Memberlist]
	tr   atomic.Pointer[mlcount.Transport]
	name string
	dead atomic.Bool // crashed or left
}

func (c *mlCluster) Library() string { return "memberlist" }

func (c *mlCluster) config(name string) *memberlist.Config {
	conf := memberlist.DefaultLANConfig()
	conf.Name = name
	conf.BindAddr = "127.0.0.1"
	conf.LogOutput = io.Discard
	conf.MetricLabels = []metrics.Label{{Name: clusterLabel, Value: fmt.Sprint(c.formation)}}
	if t := c.setting.Timing; t != nil {
		conf.ProbeInterval = t.Probe
		if conf.ProbeTimeout >= t.Probe {
			conf.ProbeTimeout = t.Probe / 2
		}
		conf.GossipInterval = t.Gossip
		conf.GossipNodes = t.Fanout
		conf.UDPBufferSize = t.Datagram
	}
	return conf
}

func (c *mlCluster) Settings() []string {
	return append(append([]string{"config=memberlist.DefaultLANConfig()"}, c.values()...),
		"Transport=NetTransport{BindAddrs:[127.0.0.1] BindPort:0} wrapped to count sends",
		"LogOutput=io.Discard",
		"MetricLabels=[bench_cluster=<cluster number>] (to count this cluster's suspect/dead metrics only)",
		"join=memberlist.Join([seed]) per member, retried every 200ms on error",
		"crash=Shutdown() without Leave; leave=Leave(10s) then Shutdown()",
	)
}

// values lists the configuration's timing, sizes and options.
func (c *mlCluster) values() []string {
	conf := c.config("x")
	return []string{
		fmt.Sprintf("ProbeInterval=%v", conf.ProbeInterval),
		fmt.Sprintf("ProbeTimeout=%v", conf.ProbeTimeout),
		fmt.Sprintf("IndirectChecks=%d", conf.IndirectChecks),
		fmt.Sprintf("GossipInterval=%v", conf.GossipInterval),
		fmt.Sprintf("GossipNodes=%d", conf.GossipNodes),
		fmt.Sprintf("GossipToTheDeadTime=%v", conf.GossipToTheDeadTime),
		fmt.Sprintf("RetransmitMult=%d", conf.RetransmitMult),
		fmt.Sprintf("SuspicionMult=%d", conf.SuspicionMult),
		fmt.Sprintf("SuspicionMaxTimeoutMult=%d", conf.SuspicionMaxTimeoutMult),
		fmt.Sprintf("AwarenessMaxMultiplier=%d", conf.AwarenessMaxMultiplier),
		fmt.Sprintf("PushPullInterval=%v", conf.PushPullInterval),
		fmt.Sprintf("TCPTimeout=%v", conf.TCPTimeout),
		fmt.Sprintf("DisableTcpPings=%v", conf.DisableTcpPings),
		fmt.Sprintf("UDPBufferSize=%d", conf.UDPBufferSize),
		fmt.Sprintf("EnableCompression=%v", conf.EnableCompression),
		fmt.Sprintf("GossipVerifyIncoming/Outgoing=%v/%v", conf.GossipVerifyIncoming, conf.GossipVerifyOutgoing),
		fmt.Sprintf("HandoffQueueDepth=%d", conf.HandoffQueueDepth),
		"SecretKey=none Label=none",
	}
}

// start creates member i on memberlist's NetTransport, wrapped to count
// what it sends.
func (c *mlCluster) start(i int) (*memberlist.Memberlist, error) {
	slot := c.slots[i]
	tr, err := mlcount.Listen("127.0.0.1", 0, mlcount.Options{})
	if err != nil {
		return nil, fmt.Errorf("memberlist %s: %w", slot.name, err)
	}
	conf := c.config(slot.name)
	conf.BindPort = tr.GetAutoBindPort()
	conf.AdvertisePort = conf.BindPort
	conf.Transport = tr
	slot.tr.Store(tr)
	ml, err := memberlist.Create(conf)
	if err != nil {
		_ = tr.Shutdown()
		return nil, fmt.Errorf("memberlist %s: create: %w", slot.name, err)
	}
	slot.ml.Store(ml)
	return ml, nil
}

func (c *mlCluster) ensureSlots(n int) {
	for len(c.slots) < n {
		c.slots = append(c.slots, &mlSlot{name: fmt.Sprintf("ml-%d-%d", c.formation, len(c.slots))})
	}
}

func (c *mlCluster) Seed(ctx context.Context) error {
	c.mu.Lock()
	c.ensureSlots(1)
	c.mu.Unlock()
	_, err := c.start(0)
	return err
}

func (c *mlCluster) seedAddr() string {
	ml := c.slots[0].ml.Load()
	n := ml.LocalNode()
	return net.JoinHostPort(n.Addr.String(), fmt.Sprint(n.Port))
}

func (c *mlCluster) Grow(ctx context.Context, n int) {
	c.mu.Lock()
	c.ensureSlots(n)
	c.n = n
	ctx, c.cancel = context.WithCancel(ctx)
	c.mu.Unlock()
	seed := c.seedAddr()
	for i := 1; i < n; i++ {
		c.growing.Add(1)
		go func() {
			defer c.growing.Done()
			ml, err := c.start(i)
			if err != nil {
				c.addErr(err)
				return
			}
			for {
				_, err := ml.Join([]string{seed})
				if err == nil {
					return
				}
				c.addErr(fmt.Errorf("memberlist %s: join: %w", c.slots[i].name, err))
				select {
				case <-ctx.Done():
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
		}()
	}
}

func (c *mlCluster) Size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *mlCluster) slot(i int) *mlSlot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.slots) {
		return nil
	}
	return c.slots[i]
}

func (c *mlCluster) running(i int) *memberlist.Memberlist {
	s := c.slot(i)
	if s == nil || s.dead.Load() {
		return nil
	}
	return s.ml.Load()
}

func (c *mlCluster) Live(i int) bool { return c.running(i) != nil }

func (c *mlCluster) ActiveCount(i int) int {
	ml := c.running(i)
	if ml == nil {
		return 0
	}
	return ml.NumMembers()
}

func (c *mlCluster) Gone(i, victim int) bool {
	ml := c.running(i)
	v := c.slot(victim)
	if ml == nil || v == nil {
		return false
	}
	for _, m := range ml.Members() { // Members lists neither dead nor left nodes
		if m.Name == v.name {
			return false
		}
	}
	return true
}

func (c *mlCluster) Crash(i int) error {
	ml := c.running(i)
	if ml == nil {
		return fmt.Errorf("memberlist: member %d is not running", i)
	}
	c.slots[i].dead.Store(true)
	return ml.Shutdown()
}

func (c *mlCluster) Leave(ctx context.Context, i int) error {
	ml := c.running(i)
	if ml == nil {
		return fmt.Errorf("memberlist: member %d is not running", i)
	}
	err := ml.Leave(10 * time.Second)
	c.slots[i].dead.Store(true)
	return errors.Join(err, ml.Shutdown())
}

func (c *mlCluster) Traffic() Traffic {
	c.mu.Lock()
	slots := append([]*mlSlot(nil), c.slots...)
	c.mu.Unlock()
	var t Traffic
	for _, s := range slots {
		if tr := s.tr.Load(); tr != nil {
			k := tr.Counts()
			t.Datagrams += k.DatagramsSent
			t.Bytes += k.BytesSent
			t.StreamBytes += k.StreamBytesSent
		}
	}
	return t
}

func (c *mlCluster) Transitions() Transitions {
	return mlSink.counts(fmt.Sprint(c.formation))
}

func (c *mlCluster) Close() error {
	c.mu.Lock()
	if c.cancel != nil {
		c.cancel()
	}
	c.mu.Unlock()
	c.growing.Wait()
	var errs []error
	for i := range c.slots {
		if ml := c.running(i); ml != nil {
			c.slots[i].dead.Store(true)
			errs = append(errs, ml.Shutdown())
		}
	}
	return errors.Join(errs...)
}

// mlSink counts memberlist's "memberlist.msg.suspect" and
// "memberlist.msg.dead" metrics, per cluster (by the bench_cluster metric
// label every member carries): memberlist increments them each time a member
// marks another suspect, and dead or left (a Leave is counted too, which is why
// the quiet window, without leaves, is where false ones are counted). Counting
// per cluster matters: a stopped memberlist's suspicion timers still fire and
// count, and they must not be charged to the next cluster. The sink is
// installed once as go-metrics' global sink, filtered to those two keys; every
// other metric is dropped by the filter before reaching it.
var (
	mlSink     = &transitionSink{byCluster: map[string]*Transitions{}}
	mlSinkOnce sync.Once
)

const clusterLabel = "bench_cluster"

func installMemberlistSink() {
	mlSinkOnce.Do(func() {
		conf := metrics.DefaultConfig("")
		conf.EnableHostname = false
		conf.EnableHostnameLabel = false
		conf.EnableRuntimeMetrics = false // no collector goroutine
		conf.FilterDefault = false
		conf.AllowedPrefixes = []string{"memberlist.msg.suspect", "memberlist.msg.dead"}
		_, _ = metrics.NewGlobal(conf, mlSink)
	})
}

type transitionSink struct {
	metrics.BlackholeSink
	mu        sync.Mutex
	byCluster map[string]*Transitions
}

func (s *transitionSink) counts(cluster string) Transitions {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.byCluster[cluster]; t != nil {
		return *t
	}
	return Transitions{}
}

func (s *transitionSink) IncrCounter(key []string, val float32) {
	s.IncrCounterWithLabels(key, val, nil)
}

func (s *transitionSink) IncrCounterWithLabels(key []string, val float32, labels []metrics.Label) {
	if len(key) != 3 || key[0] != "memberlist" || key[1] != "msg" {
		return
	}
	cluster := ""
	for _, l := range labels {
		if l.Name == clusterLabel {
			cluster = l.Value
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byCluster[cluster]
	if t == nil {
		t = &Transitions{}
		s.byCluster[cluster] = t
	}
	switch key[2] {
	case "suspect":
		t.Suspect += uint64(val)
	case "dead":
		t.Dead += uint64(val)
	}
}
